"""The ``Kiosk``: wires config, journal, devices, central and the citizen services together.

This is the object the UI receives (``create_app(kiosk)``); the UI calls its services and
never a driver. In simulated modes it also owns the simulated central and hardware.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.base import N_
from kiosk import __version__
from kiosk.citizen.central import CentralClient
from kiosk.citizen.scanning import Scanner
from kiosk.citizen.session import ActiveSession, Sessions
from kiosk.config import Config, secret
from kiosk.devices.monitor import DEVICE_NAMES, DeviceMonitor, Devices, build_devices, load_sam_key
from kiosk.journal.attempts import PinPolicy
from kiosk.journal.outbox import OutboxSender
from kiosk.journal.store import Store
from kiosk.model import DocumentKind
from kiosk.printing.receipt import build_receipt
from kiosk.printing.service import PrintService
from kiosk.staff.telemetry import Telemetry
from kiosk.supervise import SupervisedLoop

log = logging.getLogger(__name__)
MODES = ("in_service", "out_of_service", "maintenance")


@dataclass(frozen=True)
class Availability:
    available: bool
    mode: str
    reasons: list[str] = field(default_factory=list)  # technician-facing, e.g. "card_printer: media-jam"
    message: str = ""  # citizen-facing msgid


def _key_file(path: Path, nbytes: int = 32) -> bytes:
    """A per-kiosk secret made on first start (0600), never in the repository."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(nbytes))
        path.chmod(0o600)
    return path.read_bytes()


class Kiosk:
    def __init__(self, cfg: Config, store: Store, devices: Devices, central: CentralClient,
                 central_server: Any = None, system_sim: Any = None) -> None:
        self.cfg = cfg
        self.store = store
        self.devices = devices
        self.central = central
        self.central_server = central_server  # hardware_sim.central.CentralServer in sim modes
        self.system_sim = system_sim  # hardware_sim.system.SystemSim in --sim=system
        self.started_at = time.time()
        self.monitor = DeviceMonitor(devices, store, cfg.devices.poll_interval_s)
        self.pins = PinPolicy(store, cfg.pins)
        self.printing = PrintService(store, devices, self.monitor, cfg.kiosk.id, cfg.data_dir / "work",
                                     cfg.session.print_timeout_s)
        nik_key = _key_file(Path(cfg.kiosk.secret_file or cfg.data_dir / "kiosk.key"))
        self.sessions = Sessions(store, central, self.pins, self.printing, nik_key, cfg.session.idle_timeout_s,
                                 receipt=self.print_receipt)
        self.outbox = OutboxSender(store, central)
        self.scanner = Scanner(devices.get("camera"), central)
        self.telemetry = Telemetry(self)
        self.background = SupervisedLoop("kiosk-background", self._tick, 1.0)
        self.demo_pins: list[Any] = []
        self.simulator: Any = None  # hardware_sim.panel.SimulatorPanel in simulated modes
        self._last_forget = 0.0

    @classmethod
    def build(cls, cfg: Config) -> Kiosk:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(cfg.data_dir / "journal.sqlite3")
        simulated = cfg.sim.mode != "off"
        sam_key = load_sam_key(cfg) or (_key_file(cfg.data_dir / "sim-sam.key", 16) if simulated else b"")
        system_sim = None
        if cfg.sim.mode == "inprocess":
            for name in DEVICE_NAMES:
                getattr(cfg.devices, name).transport = "sim"
        elif cfg.sim.mode == "system":
            from hardware_sim.system import SystemSim
            system_sim = SystemSim(cfg, sam_key).start()
        try:
            devices = build_devices(cfg, sam_key)
        except BaseException:
            if system_sim:
                system_sim.stop()
            raise
        server = None
        key = secret(cfg.central.kiosk_key, cfg.central.kiosk_key_file).encode()
        url = cfg.central.url
        if simulated and not url:
            from hardware_sim.central import CentralServer, CentralSim
            key = key or _key_file(cfg.data_dir / "central-sim.key")
            sim = CentralSim(Path(cfg.sim.state_dir) / "central.db")
            sim.register_kiosk(cfg.kiosk.id, key)
            server = CentralServer(sim, cfg.sim.central_port).start()
            url = server.url
        central = CentralClient(url, cfg.kiosk.id, key, cfg.central.timeout_s, cfg.central.retries)
        kiosk = cls(cfg, store, devices, central, server, system_sim)
        if simulated:
            from hardware_sim.panel import SimulatorPanel
            kiosk.simulator = SimulatorPanel(kiosk)
            kiosk._seed_simulation()
        return kiosk

    def _seed_simulation(self) -> None:
        """First start of a simulated kiosk: a batch of blanks, as a technician would load."""
        if self.store.query_one("SELECT 1 FROM blank_cards LIMIT 1"):
            return
        for kind, prefix, count in (("ktp-el", "KTP", 80), ("kia", "KIA", 20)):
            if not self.store.query_one("SELECT 1 FROM blank_cards WHERE kind=?", (kind,)):
                self.printing.load_blanks(kind, f"SIM-{prefix}-1", [f"{prefix}-SIM-{i:06d}" for i in range(1, count + 1)],
                                          actor="simulator")

    def issue_demo_pins(self) -> list[Any]:
        from hardware_sim import citizens
        sim = self.central_server.sim
        self.demo_pins = [sim.issue_pin(ident.nik, kinds) for ident, kinds in citizens.DEMO]
        return self.demo_pins

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        settled = self.printing.recover()
        if settled:
            log.warning("recovered %d print jobs left open by the last run", settled)
        self.monitor.start()
        self.background.start()

    def stop(self) -> None:
        self.background.stop()
        self.monitor.stop()
        for s in self.sessions.active():
            self.sessions.wait_printed(s.id, 30)
            self.sessions.end(s.id, "shutdown")
        self.outbox.flush()
        self.central.close()
        if self.central_server:
            self.central_server.stop()
        if self.system_sim:
            self.system_sim.stop()
        self.store.close()

    def _tick(self) -> None:
        now = time.time()
        if now - self._last_forget > 3600:
            self._last_forget = now
            self.store.forget(now - self.cfg.kiosk.retention_days * 86400, now - 7 * 86400)
        self.sessions.reap_idle()
        self.printing.recheck_unconfirmed()  # a job cupsd could not confirm is settled once it answers again
        self.telemetry.heartbeat_tick()
        self.outbox.flush()

    # -- state for the UI -----------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.store.get_setting("mode", "in_service")

    def set_mode(self, mode: str, actor: str, message: str = "") -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.store.set_setting("mode", mode)
        self.store.set_setting("out_of_service_message", message)
        self.store.audit("service", f"mode-{mode}", actor=actor)

    def availability(self) -> Availability:
        if not self.store.healthy():  # nothing may be consumed that the journal cannot record
            return Availability(False, "out_of_service", [f"journal: {self.store.fault}"],
                                N_("This kiosk is temporarily out of service."))
        mode = self.mode
        if mode != "in_service":
            return Availability(False, mode, [mode], N_("This kiosk is temporarily out of service."))
        statuses = self.monitor.statuses()
        reasons = [f"{name}: {st.code or st.state.value}" for name, st in statuses.items()
                   if self.devices.configs[name].enabled and self.devices.configs[name].required and not st.ready]
        if reasons:
            return Availability(False, mode, reasons, N_("This kiosk is temporarily out of service."))
        return Availability(True, mode)

    def print_receipt(self, s: ActiveSession) -> str:
        """Prints the session's receipt; returns an error code ('' when printed). Never raises."""
        printer = self.devices.get("receipt_printer")
        if printer is None or s.outcome is None:
            return "no-receipt-printer"
        from kiosk.i18n import translator
        _ = translator(s.lang)
        titles = {d.id: (_(d.kind.title), d.number if d.kind is not DocumentKind.KTP_EL else "") for d in s.documents}
        serials = dict(self.store.query("SELECT document_id, blank_serial FROM print_jobs WHERE session_id=?", (s.id,)))
        receipt = build_receipt(
            kiosk_id=self.cfg.kiosk.id, location=self.cfg.kiosk.location, when=time.strftime("%d-%m-%Y %H:%M"),
            nik_masked=s.nik.masked, reference=s.reference,
            printed=[(titles[i][0], serials.get(i) or "") for i in s.outcome.printed if i in titles],
            failed=[titles[i][0] for i in s.outcome.failed if i in titles],
            columns=getattr(printer, "columns", 48), _=_)
        try:
            after = printer.print_receipt(receipt)
        except Exception as exc:  # noqa: BLE001 - a receipt fault never undoes a printed document
            code = getattr(exc, "code", type(exc).__name__)
            self.store.audit("print", "receipt-failed", code=code)
            return str(code)
        if not after.ready:  # out of paper mid-receipt, or a printer that cannot say: the citizen notes the reference
            code = after.code or "unconfirmed"
            self.store.audit("print", "receipt-unconfirmed", code=code, reference=s.reference)
            return code
        self.store.audit("print", "receipt-printed", reference=s.reference)
        return ""

    def doctor(self) -> dict[str, Any]:
        statuses = self.monitor.statuses()
        avail = self.availability()
        return {
            "version": __version__, "kiosk": self.cfg.kiosk.id, "config": self.cfg.source or "(defaults)",
            "mode": avail.mode, "available": avail.available, "reasons": avail.reasons,
            "devices": {n: {**st.to_dict(), "ready": st.ready, "required": self.devices.configs[n].required,
                            "enabled": self.devices.configs[n].enabled} for n, st in statuses.items()},
            "central": {"reachable": self.central.ping(), "outbox_backlog": self.outbox.backlog()},
            "disk_free_mb": shutil.disk_usage(self.cfg.data_dir).free // 2**20,
        }

    def banner(self) -> str:
        lines = [f"ADM kiosk {__version__} ({self.cfg.kiosk.id}) on http://{self.cfg.ui.host}:{self.cfg.ui.port}/"]
        if self.central_server:
            lines.append(f"simulated central: {self.central.__class__.__name__} -> {self.central_server.url}")
            if not self.demo_pins:
                self.issue_demo_pins()
            lines.append("Demo citizens (tap 'Ketik NIK', enter the NIK, then the PIN):")
            for issued in self.demo_pins:
                lines.append("-" * 60)
                lines.append(f"NIK {issued.nik}  PIN {issued.pin}")
                lines.append(issued.whatsapp)
                lines.append(f"WhatsApp QR (show it to the camera): {self.central_server.sim.whatsapp_qr(issued)}")
            lines.append("-" * 60)
            lines.append(f"Printed output: {Path(self.cfg.sim.output_dir).resolve()}")
        return "\n".join(lines)
