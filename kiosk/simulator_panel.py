"""The simulator panel's verbs: what a person's hands would do to the simulated hardware.

Only in simulated modes. Each fault is the same one the tests script (CONVENTIONS.md 3):
a printer reason on the simulated CUPS queue, a status bit of the ESC/POS emulator, the
PC/SC reader unplugged, or the simulated central down or slow. ``replenish`` and
``fix`` are the physical side of a technician's supply change or fault repair: on real
hardware the technician's hands do that part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.base import N_
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
    "cups-down": ("document_printer", N_("Print server (CUPS) down")),
    "central-down": ("central", N_("Central: down")),
    "central-slow": ("central", N_("Central: slow (3 s)")),
    "central-503": ("central", N_("Central: next 2 requests fail")),
}
CENTRAL_SLOW_S = 3.0


@dataclass(frozen=True)
class DemoCard:
    index: int
    nik_masked: str


class SimulatorPanel:
    def __init__(self, kiosk: Any) -> None:
        self.kiosk = kiosk

    @property
    def hardware(self) -> Any:
        return self.kiosk.devices.sim  # hardware_sim.factory.SimHardware, or None

    @property
    def central_faults(self) -> Any:
        server = self.kiosk.central_server
        return server.sim.faults if server is not None else None

    @property
    def available(self) -> bool:
        return self.kiosk.cfg.sim.mode != "off" and (self.hardware is not None or self.central_faults is not None)

    def faults(self) -> dict[str, tuple[str, str]]:
        """The faults this simulation can inject (hardware ones only with in-process hardware)."""
        return {k: v for k, v in FAULTS.items()
                if (v[0] == "central" and self.central_faults is not None)
                or (v[0] != "central" and self.hardware is not None and v[0] in self.kiosk.devices.by_name)}

    # -- cards and codes ----------------------------------------------------------------

    def cards(self) -> list[DemoCard]:
        if self.hardware is None:
            return []
        return [DemoCard(i, mask_nik(nik)) for i, nik in enumerate(self.hardware.cards)]

    def insert_card(self, index: int) -> str:
        niks = list(self.hardware.cards)
        nik = niks[index]
        self.hardware.insert_card(nik)
        return mask_nik(nik)

    def pull_card(self) -> None:
        self.hardware.pull_card()

    def card_on_reader(self) -> str:
        slot = self.hardware.pcsc.slot if self.hardware else None
        card = slot.card if slot else None
        return mask_nik(card.identity.nik) if card is not None else ""

    def qr_presets(self) -> list[tuple[str, str]]:
        """(label, payload): a test pattern and each demo citizen's WhatsApp QR (``ADMWA1|...``)."""
        presets = [("ADM-SELFTEST", f"ADM-SELFTEST|{self.kiosk.cfg.kiosk.id}")]
        server = self.kiosk.central_server
        for p in getattr(self.kiosk, "demo_pins", []) or []:
            if server is not None and hasattr(server.sim, "whatsapp_qr"):
                presets.append((f"WhatsApp QR {mask_nik(p.nik)}", server.sim.whatsapp_qr(p)))
        return presets

    def show_qr(self, payload: str) -> None:
        self.hardware.show_qr(payload)

    def hide_qr(self) -> None:
        self.hardware.hide_qr()

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

    def _a4_paper_out(self) -> None:
        _add_reason(self._queue("document_printer"), "media-empty-error")

    def _card_jam(self) -> None:
        _add_reason(self._queue("card_printer"), "media-jam-error")

    def _card_jam_next(self) -> None:
        self._queue("card_printer").jam_on(1)

    def _ribbon_out(self) -> None:
        q = self._queue("card_printer")
        for i, name in enumerate(q.marker_names):
            if name in ("ribbon", "film"):
                q.marker_levels[i] = 0
        _add_reason(q, "marker-supply-empty-error")

    def _receipt_paper_out(self) -> None:
        self.hardware.escpos.paper = "out"

    def _receipt_paper_low(self) -> None:
        self.hardware.escpos.paper = "near-end"

    def _receipt_cover_open(self) -> None:
        self.hardware.escpos.cover_open = True

    def _receipt_mute(self) -> None:
        self.hardware.escpos.mute = True

    def _reader_unplugged(self) -> None:
        self.hardware.pcsc.slot.plugged = False

    def _cups_down(self) -> None:
        self.hardware.cups.down = True

    def _central_down(self) -> None:
        self.central_faults.down = True

    def _central_slow(self) -> None:
        self.central_faults.delay_s = CENTRAL_SLOW_S

    def _central_503(self) -> None:
        self.central_faults.fail_next(503, 2)

    # -- the physical side of a repair -----------------------------------------------------

    def fix(self, device: str) -> None:
        """What the technician's hands do on real hardware: clear the jam, close the cover, plug in."""
        hw = self.hardware
        if device == "central":
            if self.central_faults is not None:
                self.central_faults.clear()
            return
        if hw is None:
            return
        if device in ("card_printer", "document_printer"):
            hw.cups.down = False
            self._queue(device).clear()
        elif device == "receipt_printer":
            hw.escpos.cover_open = False
            hw.escpos.mute = False
            if hw.escpos.paper == "out":
                hw.escpos.paper = "ok"
        elif device == "card_reader":
            hw.pcsc.slot.plugged = True

    def replenish(self, device: str, supply: str) -> None:
        """A new ribbon, film, toner or paper, as the simulated printer sees it."""
        hw = self.hardware
        if hw is None:
            return
        if device == "receipt_printer":
            hw.escpos.paper = "ok"
            return
        if device not in ("card_printer", "document_printer"):
            return
        q = self._queue(device)
        for i, name in enumerate(q.marker_names):
            if name == supply:
                q.marker_levels[i] = 100
        if supply in ("ribbon", "film", "toner"):
            q.state_reasons[:] = [r for r in q.state_reasons if not r.startswith("marker-supply")]
        if supply == "paper":
            q.state_reasons[:] = [r for r in q.state_reasons if not r.startswith("media-empty")]

    def blanks_loaded(self, count: int) -> None:
        """The loaded blanks go into the simulated hopper."""
        if self.hardware is None or "card_printer" not in self.kiosk.devices.by_name:
            return
        q = self._queue("card_printer")
        if q.hopper is not None:
            q.hopper += count

    def clear_all(self) -> None:
        for device in ("card_printer", "document_printer", "receipt_printer", "card_reader", "central"):
            if device == "central" or device in self.kiosk.devices.by_name:
                self.fix(device)
        if self.hardware is not None:
            self.hardware.escpos.paper = "ok"
            for device in ("card_printer", "document_printer"):
                if device in self.kiosk.devices.by_name:
                    q = self._queue(device)
                    q.state_reasons.clear()
                    q.marker_levels[:] = [100] * len(q.marker_names)
        self.kiosk.monitor.refresh()


def _add_reason(queue: Any, reason: str) -> None:
    if reason not in queue.state_reasons:
        queue.state_reasons.append(reason)
