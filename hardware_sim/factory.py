"""The default (in-process) simulation: production drivers over simulated transports.

``SimHardware`` owns the simulated peers (a PC/SC reader with virtual e-KTPs, a CUPS-like
spool, an ESC/POS emulator, a frame source) and is what the simulator panel and the tests
use to insert a card, show a QR code or inject a fault. ``register`` plugs its ``sim``
transports into the kiosk's transport registry when the composition root asks for them.
With ``[sim] realistic_timing`` each printer takes its profile's ``[timing]`` (times
``[sim] timing_scale``); without, printers take a moment (``make run`` stays quick).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from drivers.base import Device
from drivers.passive_auth import TrustAnchors
from hardware_sim import chip_pki, citizens
from hardware_sim.blanks import ChipHopper
from hardware_sim.camera import SimFrameSource
from hardware_sim.chip_pki import ChipPki
from hardware_sim.ektp_card import VirtualEktp, issued_card
from hardware_sim.escpos_emulator import EscposEmulator
from hardware_sim.pcsc_inprocess import EncoderSlot, SimPcsc
from hardware_sim.spool import JobClock, SimCups
from kiosk.config import Config
from kiosk.devices.registry import DeviceSpec, TransportRegistry
from printer_profiles import PrinterProfile

ENCODER_READER = "ADM Sim Card Printer Encoder 00 00"


class VirtualCards(Mapping[str, VirtualEktp]):
    """The demo citizens' e-KTPs by NIK, each built on first use (photos take time to generate), signed by the
    simulated central's document signer."""

    def __init__(self, sam_key: bytes, pki: ChipPki) -> None:
        self._sam_key = sam_key
        self._pki = pki
        self._idents = {ident.nik: ident for ident, _ in citizens.DEMO}
        self._built: dict[str, VirtualEktp] = {}

    def __getitem__(self, nik: str) -> VirtualEktp:
        if nik not in self._built:
            ident = self._idents[nik]
            self._built[nik] = issued_card(ident, citizens.photo_jpeg(ident), citizens.signature_png(ident),
                                           self._sam_key, self._pki)
        return self._built[nik]

    def __iter__(self) -> Iterator[str]:
        return iter(self._idents)

    def __len__(self) -> int:
        return len(self._idents)


class SimHardware:
    def __init__(self, cfg: Config, sam_key: bytes) -> None:
        self.cfg = cfg
        self.sam_key = sam_key
        self.output_dir = Path(cfg.sim.output_dir)
        self.pcsc = SimPcsc()
        self.cups = SimCups(self.output_dir)
        self.escpos = EscposEmulator()
        self.camera = SimFrameSource()
        self.pki = chip_pki.for_state_dir(cfg.sim.state_dir)
        self.cards = VirtualCards(sam_key, self.pki)
        self.chips = ChipHopper(self.cups.spool_dir / "card.chips", sam_key, self._reject_from_hopper)
        self.encoder_slot = self.pcsc.add_slot(EncoderSlot(ENCODER_READER, self.chips))

    def register(self, registry: TransportRegistry) -> None:
        """Adds the ``sim`` transport of every device class to the kiosk's registry."""
        registry.register("card_reader", "sim", self._card_reader)
        registry.register("card_printer", "sim", self._cups_printer)
        registry.register("card_encoder", "sim", self._card_encoder)
        registry.register("document_printer", "sim", self._cups_printer)
        registry.register("receipt_printer", "sim", self._receipt_printer)
        registry.register("camera", "sim", self._camera)

    def _card_reader(self, spec: DeviceSpec) -> Device:
        from drivers.card_reader import CardReader
        return CardReader(spec.name, self.pcsc, self.sam_key, self.pcsc.slot.name, anchors=self._anchors(spec))

    def _card_encoder(self, spec: DeviceSpec) -> Device:
        from drivers.card_encoder import CardEncoder
        return CardEncoder(spec.name, self.pcsc, self.sam_key, spec.config.reader, self._anchors(spec))

    def _anchors(self, spec: DeviceSpec) -> TrustAnchors | None:
        if spec.config.csca_file:
            return TrustAnchors.from_pem_file(spec.config.csca_file)
        return None

    def _reject_from_hopper(self) -> None:
        self.queue("card_printer").add_to_hopper(-1)

    def _cups_printer(self, spec: DeviceSpec) -> Device:
        from drivers.printers import CupsPrinter
        profile = _profile(spec)
        hopper = profile.supplies["hopper"].capacity if "hopper" in profile.supplies else None
        markers = [k for k in profile.supplies if k in ("ribbon", "film", "toner")]
        q = self.cups.add_queue(spec.config.queue, seconds_per_job=0.4 if spec.name == "card_printer" else 0.2,
                                hopper=hopper, marker_names=markers, marker_levels=[100] * len(markers))
        if self.cfg.sim.realistic_timing:
            q.clock = job_clock(profile, self.cfg.sim.timing_scale)
        if spec.name == "card_printer":
            q.on_feed = self.chips.fed
        return CupsPrinter(spec.name, spec.config.queue, self.cups, profile.cups_options)

    def _receipt_printer(self, spec: DeviceSpec) -> Device:
        from drivers.receipt import ReceiptPrinter, stream_printer
        profile = _profile(spec)
        esc = profile.escpos
        if self.cfg.sim.realistic_timing:
            scale = self.cfg.sim.timing_scale
            self.escpos.feed_time = lambda length_mm: scale * profile.timing.receipt_time_s(length_mm)
        return ReceiptPrinter(spec.name, stream_printer(self.escpos, str(esc.get("capabilities", "default"))),
                              int(esc.get("columns", 48)), bool(esc.get("near_end_sensor", True)))

    def _camera(self, spec: DeviceSpec) -> Device:
        from drivers.camera import Camera
        from drivers.decoders import make_decoder
        return Camera(spec.name, lambda: self.camera, make_decoder(spec.config.decoder))

    # -- the simulator panel's verbs -----------------------------------------------------

    def insert_card(self, nik: str) -> None:
        self.pcsc.slot.insert(self.cards[nik])

    def pull_card(self) -> None:
        self.pcsc.slot.pull()

    def tap_printed_card(self) -> bool:
        """The card that last came out of the card printer, put on the kiosk's reader; False when none has."""
        card = self.chips.last_printed()
        if card is None:
            return False
        self.pcsc.slot.insert(card)
        return True

    def show_qr(self, payload: str) -> None:
        self.camera.show(payload)

    def hide_qr(self) -> None:
        self.camera.clear()

    def queue(self, device: str) -> Any:
        dc = getattr(self.cfg.devices, device)
        return self.cups.queues[dc.queue]


def job_clock(profile: PrinterProfile, scale: float) -> JobClock:
    """What ``profile``'s ``[timing]`` says one job takes, times ``scale``: a card printer idle longer than its
    ``standby_after_s`` warms up first."""
    standby = profile.timing.standby_after_s * scale

    def seconds(pages: int, idle_s: float) -> float:
        return scale * profile.job_s(pages, warm=idle_s <= standby)

    return seconds


def _profile(spec: DeviceSpec) -> PrinterProfile:
    if spec.profile is None:
        raise ValueError(f"devices.{spec.name}: a printer needs a profile")
    return spec.profile
