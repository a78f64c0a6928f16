"""``--sim=system``: real system peers that the production drivers talk to unchanged.

``SystemSim.start()`` starts each peer and points the device config at it (a PC/SC reader
name, a cupsd socket and queue, a pty for the receipt printer, an MJPEG URL for the
camera). Each ``_start_*`` owns one peer; ``stop()`` tears down everything it started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from kiosk.config import Config

log = logging.getLogger(__name__)


class SystemSim:
    def __init__(self, cfg: Config, sam_key: bytes) -> None:
        self.cfg = cfg
        self.sam_key = sam_key
        self.work = Path(cfg.sim.state_dir).resolve() / "system"
        self._stops: list[Callable[[], None]] = []
        self.peers: dict[str, object] = {}

    def start(self) -> SystemSim:
        self.work.mkdir(parents=True, exist_ok=True)
        try:
            for start, devices in ((self._start_pcsc, ("card_reader",)),
                                   (self._start_printers, ("card_printer", "document_printer")),
                                   (self._start_receipt, ("receipt_printer",)), (self._start_camera, ("camera",))):
                try:
                    start()
                except NotImplementedError as exc:
                    log.warning("%s; using the in-process simulator for %s", exc, ", ".join(devices))
                    for name in devices:
                        getattr(self.cfg.devices, name).transport = "sim"
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._stops:
            try:
                self._stops.pop()()
            except Exception:  # noqa: BLE001 - stop what can be stopped
                log.exception("stopping a simulated peer failed")

    # Each peer: start it, register its stop, and point cfg.devices.<name> at it.

    def _start_pcsc(self) -> None:
        """pcscd with a private vpcd reader and the virtual e-KTP (issue: e-KTP over real PC/SC)."""
        from hardware_sim.pcscd import SandboxError, VirtualReaderRig, missing_requirements

        reason = missing_requirements()
        if reason:
            raise NotImplementedError(f"real pcscd unavailable: {reason}")
        from hardware_sim.chip_pki import csca_file, for_state_dir
        state = Path(self.cfg.sim.state_dir)
        for_state_dir(state)  # the simulated central's chip PKI, made before the card process needs it
        rig = VirtualReaderRig(self.work / "pcsc", self.sam_key, pki_dir=state / "chip-pki")
        try:
            rig.start()
        except SandboxError as exc:
            raise NotImplementedError(f"real pcscd unavailable: {exc}") from exc
        self._stops.append(rig.stop)
        self.peers["pcsc"] = rig
        dc = self.cfg.devices.card_reader
        dc.transport = "pcsc"
        dc.reader = rig.reader
        dc.csca_file = dc.csca_file or str(csca_file(state))  # the CSCA the virtual cards are signed under
        printer = self.cfg.devices.card_printer
        printer.encoder = printer.encoder or rig.encoder_reader  # vpcd's second slot: the hopper of blank chips

    def _start_printers(self) -> None:
        """A private cupsd with ippeveprinter queues for the card and A4 printers."""
        import printer_profiles
        from hardware_sim.cupsd import CupsSandbox, missing

        lacking = missing()
        if lacking:
            raise NotImplementedError("no private cupsd: missing " + ", ".join(lacking))
        box = CupsSandbox()  # under /tmp: the work dir may not be traversable by user lp
        self._stops.append(box.stop)
        box.start()
        self.peers["cups"] = box
        for name in ("card_printer", "document_printer"):
            dc = getattr(self.cfg.devices, name)
            if not dc.enabled or not dc.profile:
                continue
            dc.queue = dc.queue or name
            profile = printer_profiles.load(dc.profile)
            printer = box.add_sim_printer(dc.queue, profile)
            if self.cfg.sim.realistic_timing:
                printer.timing(profile, self.cfg.sim.timing_scale)
            dc.transport, dc.port = "cups", box.sock
        log.info("private cupsd on %s (queues: %s)", box.sock, ", ".join(box.printers))

    def _start_receipt(self) -> None:
        """The ESC/POS emulator behind a pty."""
        import printer_profiles
        from hardware_sim.escpos_emulator import EscposEmulator
        from hardware_sim.escpos_server import PtyEscpos

        dc = self.cfg.devices.receipt_printer
        if not dc.enabled:
            return
        width = int(printer_profiles.load(dc.profile).escpos.get("width_dots", 576)) if dc.profile else 576
        emulator = EscposEmulator(width, Path(self.cfg.sim.output_dir) / "receipts")
        if self.cfg.sim.realistic_timing and dc.profile:
            timing, scale = printer_profiles.load(dc.profile).timing, self.cfg.sim.timing_scale
            emulator.feed_time = lambda length_mm: scale * timing.receipt_time_s(length_mm)
        server = PtyEscpos(emulator, dc.baudrate).start()
        self._stops.append(server.stop)
        self.peers["escpos"] = server
        dc.transport, dc.port = "serial", server.path

    def _start_camera(self) -> None:
        """An HTTP MJPEG camera server; ``peers["camera"].frames.show(payload)`` holds a code to it."""
        from hardware_sim.camera import MjpegServer, SimFrameSource

        server = MjpegServer(SimFrameSource(seed=self.cfg.sim.seed)).start()
        self._stops.append(server.stop)
        self.peers["camera"] = server
        self.cfg.devices.camera.transport = "opencv"
        self.cfg.devices.camera.source = server.url
