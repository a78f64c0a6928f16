"""The simulator panel's verbs: what a person's hands would do to the simulated hardware.

Only in simulated modes. Each fault is the same one the tests script (CONVENTIONS.md 3):
a printer reason on the simulated CUPS queue, a status bit of the ESC/POS emulator, the
PC/SC reader unplugged, or the simulated central down or slow. ``replenish`` and
``fix`` are the physical side of a technician's supply change or fault repair: on real
hardware the technician's hands do that part.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from drivers.base import N_
from hardware_sim import citizens
from kiosk.model import mask_nik

# fault id -> (device it affects, technician-facing label msgid)
FAULTS: dict[str, tuple[str, str]] = {
    "a4-paper-out": ("document_printer", N_("A4 printer: paper out")),
    "card-jam": ("card_printer", N_("Card printer: card jam")),
    "card-jam-next": ("card_printer", N_("Card printer: jam on the next card")),
    "ribbon-out": ("card_printer", N_("Card printer: ribbon out")),
    "receipt-paper-out": ("receipt_printer", N_("Receipt printer: paper out")),
    "receipt-paper-low": ("receipt_printer", N_("Receipt printer: paper low")),
    "receipt-cover-open": ("receipt_printer", N_("Receipt printer: cover open")),
    "receipt-mute": ("receipt_printer", N_("Receipt printer: no answer")),
    "reader-unplugged": ("card_reader", N_("Card reader: unplugged")),
    "encoder-absent": ("card_printer", N_("Card printer: chip encoder unplugged")),
    "chip-dead": ("card_printer", N_("Card printer: the next blank's chip is dead")),
    "chip-write-fails": ("card_printer", N_("Card printer: the next chip fails halfway through writing")),
    "chip-readback-differs": ("card_printer", N_("Card printer: the next chip reads back differently")),
    "cups-down": ("document_printer", N_("Print server (CUPS) down")),
    "central-down": ("central", N_("Central: down")),
    "central-slow": ("central", N_("Central: slow (3 s)")),
    "central-503": ("central", N_("Central: next 2 requests fail")),
    "link-village": ("central", N_("Link to central: village (1 Mbit/s, 300 ms, stalls)")),
    "link-drops": ("central", N_("Link to central: drops mid-download")),
}
CENTRAL_SLOW_S = 3.0
# --sim=system: which peer serves a device, and the faults its real peer can take
SYSTEM_PEER = {"card_reader": "pcsc", "card_printer": "cups", "document_printer": "cups",
               "receipt_printer": "escpos", "camera": "camera"}
SYSTEM_FAULTS = {"a4-paper-out", "card-jam", "card-jam-next", "ribbon-out", "receipt-paper-out", "receipt-paper-low",
                 "receipt-cover-open", "receipt-mute", "chip-write-fails", "chip-readback-differs"}
BLANK_FAULTS = {"chip-dead": {"dead": True}, "chip-write-fails": {"write_fails_after": 2},
                "chip-readback-differs": {"readback_differs": True}}


@dataclass(frozen=True)
class DemoCard:
    index: int
    nik_masked: str


class SimulatorPanel:
    """Built by the composition root around its simulated kiosk (``kiosk.cli.composition.SimulatedKiosk``)."""

    all_faults = FAULTS

    def __init__(self, kiosk: Any) -> None:
        self.kiosk = kiosk

    @property
    def hardware(self) -> Any:
        return self.kiosk.sim  # hardware_sim.factory.SimHardware, or None

    def _peer(self, name: str) -> Any:
        """A real system peer started by ``--sim=system`` (pcsc, cups, escpos, camera), or None."""
        system = self.kiosk.system_sim
        return system.peers.get(name) if system is not None else None

    def _serves(self, device: str) -> bool:
        """Whether a fault on ``device`` can be injected here: in-process hardware or a system peer."""
        if device not in self.kiosk.devices.by_name:
            return False
        if self.kiosk.devices.configs[device].transport == "sim":
            return self.hardware is not None
        return self._peer(SYSTEM_PEER[device]) is not None

    @property
    def central_faults(self) -> Any:
        server = self.kiosk.central_server
        return server.sim.faults if server is not None else None

    @property
    def available(self) -> bool:
        return self.kiosk.cfg.sim.mode != "off" and (self.hardware is not None or self.central_faults is not None
                                                      or self.kiosk.system_sim is not None)

    def faults(self) -> dict[str, tuple[str, str]]:
        """The faults this simulation can inject (hardware ones only with in-process hardware)."""
        return {k: v for k, v in FAULTS.items()
                if (v[0] == "central" and self.central_faults is not None
                    and (not k.startswith("link-") or self.kiosk.link is not None))
                or (v[0] != "central" and self._serves(v[0]) and (self._in_process(v[0]) or k in SYSTEM_FAULTS))}

    def _in_process(self, device: str) -> bool:
        return self.kiosk.devices.configs[device].transport == "sim"

    # -- cards and codes ----------------------------------------------------------------

    def _niks(self) -> list[str]:
        if self._peer("pcsc") is not None:
            return [ident.nik for ident, _ in citizens.DEMO]  # the vpcd card process holds the same citizens
        return list(self.hardware.cards) if self.hardware is not None else []

    def cards(self) -> list[DemoCard]:
        return [DemoCard(i, mask_nik(nik)) for i, nik in enumerate(self._niks())]

    def insert_card(self, index: int) -> str:
        nik = self._niks()[index]
        rig = self._peer("pcsc")
        if rig is not None:
            rig.control.insert(nik)
        else:
            self.hardware.insert_card(nik)
        return mask_nik(nik)

    def pull_card(self) -> None:
        rig = self._peer("pcsc")
        if rig is not None:
            rig.control.pull()
        else:
            self.hardware.pull_card()

    def card_on_reader(self) -> str:
        rig = self._peer("pcsc")
        if rig is not None:
            nik = rig.control.status().get("card")
            return mask_nik(nik) if nik else ""
        slot = self.hardware.pcsc.slot if self.hardware else None
        card = slot.card if slot else None
        return mask_nik(card.holder_nik) if card is not None and card.holder_nik else ""

    def tap_printed_card(self) -> str:
        """The card that last came out of the card printer, put on the kiosk's reader: its masked NIK, or ''."""
        rig = self._peer("pcsc")
        if rig is not None:
            return mask_nik(rig.control.tap_printed().get("card") or "")
        if self.hardware is None or not self.hardware.tap_printed_card():
            return ""
        return self.card_on_reader()

    def qr_presets(self) -> list[tuple[str, str]]:
        """(label, payload): a test pattern and each demo citizen's WhatsApp QR (``ADMWA1|...``)."""
        presets = [("ADM-SELFTEST", f"ADM-SELFTEST|{self.kiosk.cfg.kiosk.id}")]
        server = self.kiosk.central_server
        for p in self.kiosk.demo_pins:
            if server is not None and hasattr(server.sim, "whatsapp_qr"):
                presets.append((f"WhatsApp QR {mask_nik(p.nik)}", server.sim.whatsapp_qr(p)))
        return presets

    def _frames(self) -> Any:
        camera = self._peer("camera")
        return camera.frames if camera is not None else self.hardware.camera

    def show_qr(self, payload: str) -> None:
        self._frames().show(payload)

    def hide_qr(self) -> None:
        self._frames().clear()

    # -- the headset socket -------------------------------------------------------------------

    def plug_headset(self) -> None:
        """A citizen plugs headphones in: speech turns on within the headset watch's poll."""
        self.kiosk.headset_jack.plug()

    def unplug_headset(self) -> None:
        self.kiosk.headset_jack.unplug()

    def headset_plugged(self) -> bool:
        return bool(self.kiosk.headset_jack.plugged())

    # -- faults ---------------------------------------------------------------------------

    def inject(self, fault: str) -> str:
        """Injects one fault; returns the device it affects."""
        if fault not in self.faults():
            raise KeyError(fault)
        device = FAULTS[fault][0]
        action: Callable[[], None] = getattr(self, "_" + fault.replace("-", "_"))
        action()
        if device != "central":
            self.kiosk.monitor.refresh((device,))
        return device

    def _queue(self, device: str) -> Any:
        return self.hardware.queue(device)

    def _ipp(self, device: str) -> Any:
        """The ippeveprinter behind a device's queue under the private cupsd, or None when in-process."""
        box = None if self._in_process(device) else self._peer("cups")
        return box.printers.get(self.kiosk.devices.configs[device].queue) if box is not None else None

    def _escpos(self) -> Any:
        server = None if self._in_process("receipt_printer") else self._peer("escpos")
        return server.emulator if server is not None else self.hardware.escpos

    def _a4_paper_out(self) -> None:
        if (ipp := self._ipp("document_printer")) is not None:
            ipp.media_empty()
            return
        _add_reason(self._queue("document_printer"), "media-empty-error")

    def _card_jam(self) -> None:
        if (ipp := self._ipp("card_printer")) is not None:
            ipp.jam()
            return
        _add_reason(self._queue("card_printer"), "media-jam-error")

    def _card_jam_next(self) -> None:
        if (ipp := self._ipp("card_printer")) is not None:
            ipp.fault_on(1, "media-jam")
            return
        self._queue("card_printer").jam_on(1)

    def _ribbon_out(self) -> None:
        if (ipp := self._ipp("card_printer")) is not None:
            ipp.ribbon(0)
            return
        q = self._queue("card_printer")
        for i, name in enumerate(q.marker_names):
            if name in ("ribbon", "film"):
                q.marker_levels[i] = 0
        _add_reason(q, "marker-supply-empty-error")

    def _receipt_paper_out(self) -> None:
        self._escpos().paper = "out"

    def _receipt_paper_low(self) -> None:
        self._escpos().paper = "near-end"

    def _receipt_cover_open(self) -> None:
        self._escpos().cover_open = True

    def _receipt_mute(self) -> None:
        self._escpos().mute = True

    def _reader_unplugged(self) -> None:
        self.hardware.pcsc.slot.plugged = False

    def _encoder_absent(self) -> None:
        self.hardware.encoder_slot.plugged = False

    def _blank_fault(self, fault: str) -> None:
        switches = BLANK_FAULTS[fault]
        rig = self._peer("pcsc")
        if rig is not None and not self._in_process("card_printer"):
            rig.control.encoder("faults", **switches)
            return
        chip = self.hardware.chips.top()
        if chip is not None:
            for name, value in switches.items():
                setattr(chip.faults, name, value)

    def _chip_dead(self) -> None:
        self._blank_fault("chip-dead")

    def _chip_write_fails(self) -> None:
        self._blank_fault("chip-write-fails")

    def _chip_readback_differs(self) -> None:
        self._blank_fault("chip-readback-differs")

    def _cups_down(self) -> None:
        self.hardware.cups.down = True

    def _central_down(self) -> None:
        self.central_faults.down = True

    def _central_slow(self) -> None:
        self.central_faults.delay_s = CENTRAL_SLOW_S

    def _central_503(self) -> None:
        self.central_faults.fail_next(503, 2)

    def _link_village(self) -> None:  # [sim] link_shaper: the link between kiosk and central
        self.kiosk.link.configure(bandwidth_bps=1_000_000 / 8, rtt_s=0.3, stall_probability=0.05, stall_s=1.0)

    def _link_drops(self) -> None:
        self.kiosk.link.configure(reset_at_bytes=2_000)

    # -- the physical side of a repair -----------------------------------------------------

    def fix(self, device: str) -> None:
        """What the technician's hands do on real hardware: clear the jam, close the cover, plug in."""
        hw = self.hardware
        if device == "central":
            if self.central_faults is not None:
                self.central_faults.clear()
            if self.kiosk.link is not None:
                self.kiosk.link.restore()
            return
        if device in ("card_printer", "document_printer") and (ipp := self._ipp(device)) is not None:
            ipp.clear()
            return
        if device == "receipt_printer" and (hw is not None or self._peer("escpos") is not None):
            esc = self._escpos()
            esc.cover_open = False
            esc.mute = False
            if esc.paper == "out":
                esc.paper = "ok"
            return
        if hw is None:
            return
        if device in ("card_printer", "document_printer"):
            hw.cups.down = False
            self._queue(device).clear()
            if device == "card_printer":
                hw.encoder_slot.plugged = True
        elif device == "card_reader":
            hw.pcsc.slot.plugged = True

    def replenish(self, device: str, supply: str) -> None:
        """A new ribbon, film, toner or paper, as the simulated printer sees it."""
        if device == "receipt_printer" and (self.hardware is not None or self._peer("escpos") is not None):
            self._escpos().paper = "ok"
            return
        if device not in ("card_printer", "document_printer"):
            return
        if (ipp := self._ipp(device)) is not None:
            if supply in ("ribbon", "film", "toner"):
                ipp.ribbon(100)
            else:
                ipp.media_empty(False)
            return
        if self.hardware is None:
            return
        q = self._queue(device)
        for i, name in enumerate(q.marker_names):
            if name == supply:
                q.marker_levels[i] = 100
        if supply in ("ribbon", "film", "toner"):
            q.state_reasons[:] = [r for r in q.state_reasons if not r.startswith("marker-supply")]
        if supply == "paper":
            q.state_reasons[:] = [r for r in q.state_reasons if not r.startswith("media-empty")]

    def blanks_loaded(self, kind: str, serials: Sequence[str]) -> None:
        """The loaded blanks go into the simulated hopper (a KTP-el's chip into the chip hopper too)."""
        if self.hardware is None or "card_printer" not in self.kiosk.devices.by_name or not self._in_process("card_printer"):
            return
        q = self._queue("card_printer")
        if q.hopper is not None:
            q.add_to_hopper(len(serials))
        if kind == "ktp-el":
            self.hardware.chips.load(serials)

    def blank_removed(self, serial: str) -> None:
        """A technician took a damaged blank out of the simulated hopper."""
        if self.hardware is None or "card_printer" not in self.kiosk.devices.by_name or not self._in_process("card_printer"):
            return
        q = self._queue("card_printer")
        if q.hopper is not None:
            q.add_to_hopper(-1)
        self.hardware.chips.remove(serial)

    def clear_all(self) -> None:
        for device in ("card_printer", "document_printer", "receipt_printer", "card_reader", "central"):
            if device == "central" or device in self.kiosk.devices.by_name:
                self.fix(device)
        if "receipt_printer" in self.kiosk.devices.by_name and (self.hardware is not None or self._peer("escpos")):
            self._escpos().paper = "ok"
        if self.hardware is not None:
            for device in ("card_printer", "document_printer"):
                if device in self.kiosk.devices.by_name and self._in_process(device):
                    q = self._queue(device)
                    q.state_reasons.clear()
                    q.marker_levels[:] = [100] * len(q.marker_names)
        self.kiosk.monitor.refresh()


def _add_reason(queue: Any, reason: str) -> None:
    if reason not in queue.state_reasons:
        queue.state_reasons.append(reason)
