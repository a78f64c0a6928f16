"""The ``Kiosk``: wires config, journal, devices, central and the services together, and runs their lifecycle.

This is the object the UI receives (``create_app(kiosk)``); the UI calls its services and
never a driver. It is built by the composition root (``kiosk.cli.composition``) from a
journal, a set of drivers and a central client; whether those stand for real hardware
or a simulation it neither knows nor asks. Each service gets the typed parts it needs,
never the kiosk itself.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

from drivers.audio import HeadsetJack
from kiosk.citizen.central import CentralClient
from kiosk.citizen.fallback import CardFallback
from kiosk.citizen.nearby import NearbyKiosks
from kiosk.citizen.receipts import ReceiptService
from kiosk.citizen.scanning import Scanner
from kiosk.citizen.session import Sessions
from kiosk.citizen.staff_calls import StaffCalls
from kiosk.config import Config
from kiosk.devices.builder import Devices
from kiosk.devices.card_reads import CardReads
from kiosk.devices.headset import HeadsetWatch
from kiosk.devices.monitor import DeviceMonitor
from kiosk.journal.attempts import PinPolicy
from kiosk.journal.outbox import OutboxSender
from kiosk.journal.store import Store
from kiosk.opening_hours import OpeningHours
from kiosk.printing.service import PrintService
from kiosk.printing.signatures import DocumentSignatures
from kiosk.staff.assisted import AssistedMode
from kiosk.staff.blank_report import DailyBlankReports
from kiosk.staff.events import Events
from kiosk.staff.service_mode import OUT_OF_SERVICE, Availability, ServiceMode
from kiosk.staff.status import StatusSnapshot, loop_failure
from kiosk.staff.technicians import TechnicianAccounts
from kiosk.staff.telemetry import Telemetry
from kiosk.staff.tokens import Tokens
from kiosk.supervise import SupervisedLoop

log = logging.getLogger(__name__)
SHUTDOWN_PRINT_BOUND_S = 30.0  # a stop waits this long for a print in progress to finish and be journaled


def key_file(path: Path, nbytes: int = 32) -> bytes:
    """A per-kiosk secret made on first start (0600), never in the repository."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(nbytes))
        path.chmod(0o600)
    return path.read_bytes()


class Kiosk:
    def __init__(self, cfg: Config, store: Store, devices: Devices, central: CentralClient) -> None:
        self.cfg = cfg
        self.store = store
        self.devices = devices
        self.central = central
        self.started_at = time.time()
        self.monitor = DeviceMonitor(devices, store, cfg.devices.poll_interval_s, cfg.devices.call_timeout_s)
        self.service = ServiceMode(store, devices, self.monitor, central.clock)
        self.pins = PinPolicy(store, cfg.pins)
        self.printing = PrintService(store, devices, self.monitor, cfg.kiosk.id, cfg.data_dir / "work",
                                     cfg.session.print_timeout_s, DocumentSignatures.from_files(
                                         [cfg.documents.tte_trust_anchors] if cfg.documents.tte_trust_anchors else [],
                                         cfg.documents.tte_check_timeout_s, cfg.documents.tte_worker_idle_s),
                                     parallel=cfg.printing.parallel)
        self.receipts = ReceiptService(store, devices, cfg.kiosk)
        self.hours = OpeningHours.parse(cfg.kiosk.opening_hours)
        nik_key = key_file(Path(cfg.kiosk.secret_file or cfg.data_dir / "kiosk.key"))
        self.sessions = Sessions(store, central, self.pins, self.printing, nik_key, cfg.session.idle_timeout_s,
                                 receipt=self.receipts.print_receipt, admit=self._admit,
                                 hours=self.hours, parallel_fetch=cfg.central.parallel_fetch,
                                 fetch_bound_s=cfg.central.fetch_bound_s)
        self.outbox = OutboxSender(store, central)
        self.nearby = NearbyKiosks(central)
        self.card_fallback = CardFallback(store, central, self.sessions, devices, cfg.kiosk)
        self.scanner = Scanner(devices.get("camera"), central)
        reader = devices.get("card_reader")
        self.card_reads = CardReads(reader) if reader is not None else None
        self.events = Events(store)
        self.tokens = Tokens(store)
        self.background = SupervisedLoop("kiosk-background", self._tick, 1.0)
        self.status = StatusSnapshot(cfg, store, devices, self.monitor, self.service, self.printing, self.outbox,
                                     central, self.started_at,
                                     [lambda: loop_failure(self.monitor.loop), lambda: loop_failure(self.background)],
                                     hours=self.hours)
        self.blank_reports = DailyBlankReports(store, cfg.kiosk.id, cfg.kiosk.timezone)
        self.staff_calls = StaffCalls(store, cfg.kiosk.id, cfg.kiosk.location)
        self.assisted = AssistedMode(store, TechnicianAccounts(store), self.staff_calls)
        self.telemetry = Telemetry(self.status, store, cfg.status, self.staff_calls)
        self._last_forget = 0.0
        self.headset: HeadsetWatch | None = None  # speech turns on when a headset is in (attach_headset)

    # -- lifecycle ------------------------------------------------------------------------

    def attach_headset(self, jack: HeadsetJack) -> None:
        """The composition root gives the kiosk its headset socket (the sound card's jack, or the simulator's)."""
        self.headset = HeadsetWatch(jack)

    def start(self) -> None:
        settled = self.printing.recover()
        if settled:
            log.warning("recovered %d print jobs left open by the last run", settled)
        self.staff_calls.restarted()
        self.assisted.restarted()
        self.monitor.start()
        self.background.start()
        if self.headset is not None:
            self.headset.start()

    def stop(self) -> None:
        """Lets prints in progress finish and be journaled (within a bound), ends sessions, flushes the outbox."""
        self.background.stop()
        if self.headset is not None:
            self.headset.stop()
        for s in self.sessions.active():
            self.sessions.wait_printed(s.id, SHUTDOWN_PRINT_BOUND_S)
            self.sessions.end(s.id, "shutdown")
        self.monitor.stop()
        self.devices.close()
        self.printing.signatures.stop()
        self.outbox.flush()
        self.central.close()
        self.store.close()

    def _tick(self) -> None:
        now = time.time()
        if now - self._last_forget > 3600:
            self._last_forget = now
            self.store.forget(now - self.cfg.kiosk.retention_days * 86400, now - 7 * 86400)
        self.sessions.reap_idle()
        self.staff_calls.sweep(self._session_live)  # a call ends with its session, and so does an operator's help
        self.assisted.sweep(self._session_live)
        self.service.apply_pending()  # a remote mode change that waited for a citizen's print to end
        self.printing.recheck_unconfirmed()  # a job cupsd could not confirm is settled once it answers again
        self.telemetry.heartbeat_tick()
        self.blank_reports.queue_due()  # each closed local day's blank report, once
        if self.central.clock.probe_due(now):  # out of service for the clock: one look at central's time
            self.central.ping()
        self.outbox.flush()

    def _session_live(self, sid: str) -> bool:
        return self.sessions.get(sid) is not None

    # -- the service mode, for the UI and maintenance ------------------------------------------

    def _admit(self) -> str:
        """Before a session starts, a pending remote mode applies (whether this call or the background tick
        applies it): '' while the kiosk stays in service, else the citizen's msgid."""
        self.service.apply_pending()
        return "" if self.service.mode == "in_service" else OUT_OF_SERVICE

    @property
    def mode(self) -> str:
        return self.service.mode

    def set_mode(self, mode: str, actor: str, message: str = "") -> None:
        self.service.set_mode(mode, actor, message)

    def availability(self) -> Availability:
        return self.service.availability()
