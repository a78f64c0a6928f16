"""Maintenance mode: what a technician from the regency office can see and fix on site.

The UI's maintenance blueprint calls this and nothing else; it holds no Flask. Every
action is audited with the technician's ID. Entering maintenance (a technician logs in)
takes the kiosk out of citizen service; leaving it (logout, idle expiry, or a restart that
found the kiosk still in maintenance) restores the mode it had before, or the
out-of-service mode the technician chose, with its message.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.base import AdmError, DeviceState
from kiosk import __version__
from kiosk.citizen.central import CentralClient
from kiosk.citizen.session import Sessions
from kiosk.config import Config
from kiosk.devices.monitor import DeviceMonitor, Devices
from kiosk.journal.blanks import BLANK_KINDS, BlankStateError, SerialsKnown
from kiosk.journal.jobs import JobRecord
from kiosk.journal.outbox import OutboxSender
from kiosk.journal.reconciliation import Reconciliation, from_store
from kiosk.journal.store import Store
from kiosk.journal.supplies import SupplyError
from kiosk.printing.service import BLANK_UNUSED, PrintService
from kiosk.staff.blank_report import BlankReport, DailyBlankReports, report_receipt
from kiosk.staff.diagnostics import RecentLogs, bundle, status_snapshot
from kiosk.staff.selftests import SelfTestResult, SelfTests
from kiosk.staff.technicians import LoginResult, TechnicianAccounts, TechnicianSessions

RETURN_MODE = "maintenance_return_mode"
RETURN_MESSAGE = "maintenance_return_message"
SERIAL_RE = re.compile(r"(.*?)([0-9]+)", re.ASCII)
MAX_BATCH = 5000
MESSAGE_MAX = 200
log = logging.getLogger(__name__)


class MaintenanceError(AdmError):
    """A refused maintenance action: ``code`` is stable, ``info`` fills the UI's message."""

    code = "maintenance-refused"

    def __init__(self, code: str, **info: Any) -> None:
        super().__init__(code)
        self.code = code
        self.info = info


@dataclass(frozen=True)
class StuckJob:
    id: int
    created_at: float
    kind: str
    printer: str
    state: str
    blank_serial: str
    printer_job_id: int | None
    error: str
    nik_masked: str
    purpose: str = "citizen"


def serial_range(first: str, last: str, count: int) -> list[str]:
    """Serials ``first``..``last`` (same prefix, zero-padded number); ``count`` must match the range."""
    a, b = SERIAL_RE.fullmatch(first.strip().upper()), SERIAL_RE.fullmatch(last.strip().upper())
    if not a or not b:
        raise MaintenanceError("serial-format")
    if a.group(1) != b.group(1) or len(a.group(2)) != len(b.group(2)):
        raise MaintenanceError("serial-prefix")
    start, end = int(a.group(2)), int(b.group(2))
    if end < start:
        raise MaintenanceError("serial-order")
    n = end - start + 1
    if n != count:
        raise MaintenanceError("count-mismatch", count=count, range=n)
    if n > MAX_BATCH:
        raise MaintenanceError("batch-too-large", max=MAX_BATCH)
    width = len(a.group(2))
    return [f"{a.group(1)}{i:0{width}d}" for i in range(start, end + 1)]


class NoSimulator:
    """What maintenance sees of the simulator panel outside simulation: nothing."""

    available = False


class MaintainedKiosk(Protocol):
    """What maintenance uses of the kiosk it maintains: these services, the service mode, its settings.

    The composition root passes its ``Kiosk``; a test may pass anything with these. The
    status snapshot and the diagnostics bundle (kiosk/staff/diagnostics.py) take it whole."""

    store: Store
    devices: Devices
    monitor: DeviceMonitor
    printing: PrintService
    sessions: Sessions
    central: CentralClient
    outbox: OutboxSender
    cfg: Config
    started_at: float

    @property
    def mode(self) -> str: ...

    def set_mode(self, mode: str, actor: str, message: str = "") -> None: ...


class Maintenance:
    def __init__(self, kiosk: MaintainedKiosk, accounts: TechnicianAccounts | None = None,
                 sessions: TechnicianSessions | None = None, logs: RecentLogs | None = None) -> None:
        self.kiosk = kiosk
        self.store = kiosk.store
        self.accounts = accounts or TechnicianAccounts(kiosk.store)
        self.sessions = sessions or TechnicianSessions()
        self.logs = logs
        self.selftests = SelfTests(kiosk.store, kiosk.devices, kiosk.monitor, kiosk.printing, kiosk.sessions,
                                   kiosk.central, kiosk.outbox, kiosk.cfg.kiosk.id)
        self.sim = getattr(kiosk, "simulator", None) or NoSimulator()  # hardware_sim's panel, given by the composition root
        self.last_results: dict[str, SelfTestResult] = {}
        self._recover_mode()

    # -- entering and leaving -------------------------------------------------------------

    def _recover_mode(self) -> None:
        """A kiosk that restarted in maintenance has no technician any more: give it back to service."""
        if self.kiosk.mode == "maintenance" and self.sessions.active is None:
            self._leave("kiosk", "restart")

    def login(self, tech_id: str, password: str) -> tuple[LoginResult, str | None]:
        """Checks the password; on success opens the session and enters maintenance. Returns the token."""
        result = self.accounts.login(tech_id, password)
        if not result.ok:
            return result, None
        previous = self.sessions.active
        token = self.sessions.open(result.technician)  # replaces any other session
        try:
            if previous is not None:
                self.store.audit("maintenance", "logout", actor=previous, reason="replaced")
            self._enter(result.technician)
        except sqlite3.DatabaseError:
            # a full or broken journal: the kiosk is out of service already, and exactly then a technician must get in
            log.warning("maintenance entered by %s, not journaled (journal: %s)", result.technician, self.store.fault)
        return result, token

    def technician(self, token: str | None) -> str | None:
        """The technician behind a cookie token, else None (an expired session leaves maintenance first)."""
        self.expire_idle()
        return self.sessions.check(token)

    def expire_idle(self) -> None:
        gone = self.sessions.expired()
        if gone:
            tech, reason = gone
            self.store.audit("maintenance", "logout", actor=tech, reason=reason)
            self._leave(tech, reason)

    def logout(self, token: str | None, reason: str = "logout") -> str | None:
        tech = self.sessions.close(token)
        if tech:
            self.store.audit("maintenance", "logout", actor=tech, reason=reason)
            self._leave(tech, reason)
        return tech

    def _enter(self, tech: str) -> None:
        mode = self.kiosk.mode
        if mode != "maintenance":
            self.store.set_setting(RETURN_MODE, mode)
            self.store.set_setting(RETURN_MESSAGE, self.store.get_setting("out_of_service_message"))
        self.kiosk.set_mode("maintenance", actor=tech)

    def _leave(self, tech: str, reason: str) -> None:
        mode = self.store.get_setting(RETURN_MODE, "in_service") or "in_service"
        message = self.store.get_setting(RETURN_MESSAGE) if mode == "out_of_service" else ""
        self.kiosk.set_mode(mode if mode != "maintenance" else "in_service", actor=tech, message=message)
        self.store.audit("maintenance", "leave", actor=tech, reason=reason, mode=mode)

    def set_out_of_service(self, tech: str, out: bool, message: str = "") -> None:
        """What the kiosk shows citizens once the technician leaves: out of service with a message, or back."""
        message = " ".join(message.split())[:MESSAGE_MAX]
        self.store.set_setting(RETURN_MODE, "out_of_service" if out else "in_service")
        self.store.set_setting(RETURN_MESSAGE, message if out else "")
        self.store.audit("maintenance", "out-of-service" if out else "back-in-service", actor=tech,
                         message_length=len(message))

    def out_of_service(self) -> tuple[bool, str]:
        return (self.store.get_setting(RETURN_MODE) == "out_of_service",
                self.store.get_setting(RETURN_MESSAGE))

    # -- dashboard --------------------------------------------------------------------------

    def dashboard(self) -> dict[str, Any]:
        k = self.kiosk
        snap = status_snapshot(k.status)
        last_errors = self._last_errors()
        supplies: dict[str, list[dict[str, Any]]] = {}
        for row in k.printing.supplies.rows():
            supplies.setdefault(row["device"], []).append({"name": row["name"], "remaining": row["remaining"],
                                                           "capacity": row["capacity"],
                                                           "low": row["remaining"] <= row["low_at"], "unit": row["unit"]})
        devices = []
        for name, st in snap["devices"].items():
            devices.append({"name": name, **st, "journal_supplies": supplies.get(name, []),
                            "last_error": last_errors.get(name)})
        card = k.devices.profiles.get("card_printer")
        # what availability() will say once the technician leaves (in maintenance it says "maintenance")
        blocking = [f"{d['name']}: {d['code'] or d['state']}" for d in devices
                    if d["enabled"] and d["required"] and not d["ready"]]
        if k.store.fault:  # a full or broken journal: the reason a technician was called
            blocking.insert(0, f"journal: {k.store.fault}")
        return {
            "service_reasons": blocking,
            **snap, "device_list": devices, "version": __version__,
            "uptime": _duration(time.time() - k.started_at),
            "disk": shutil.disk_usage(k.cfg.data_dir),
            "duty_today": k.printing.duty_today(), "duty_limit": card.duty_limit_per_day if card else 0,
            "citizen_sessions": len(k.sessions.active()),
            "printing_now": self.selftests.printing_now(),
            "stuck_jobs": len(self.stuck_jobs()),
            "simulated": k.cfg.sim.mode != "off",
        }

    def _last_errors(self) -> dict[str, dict[str, Any]]:
        """The newest not-ready transition per device, from the device events in the journal."""
        out: dict[str, dict[str, Any]] = {}
        for ts, detail in self.store.query("SELECT ts, detail FROM audit WHERE category='device' AND event='status' "
                                           "ORDER BY id DESC LIMIT 1000"):
            d = json.loads(detail)
            name = d.get("name", "")
            if name in out or d.get("state") in (DeviceState.ONLINE.value, DeviceState.BUSY.value):
                continue
            out[name] = {"at": ts, "state": d.get("state", ""), "code": d.get("code", ""), "detail": d.get("detail", "")}
        return out

    # -- self-tests -----------------------------------------------------------------------------

    def self_test(self, tech: str, test: str) -> SelfTestResult:
        result = self.selftests.run(test, tech)
        self.last_results[test] = result
        return result

    def camera_snapshot(self) -> bytes | None:
        """A JPEG of what the camera sees now (the live preview); None when it has no frame."""
        camera = self.kiosk.devices.get("camera")
        if camera is None:
            return None
        return camera.snapshot_jpeg(640)

    # -- supplies -----------------------------------------------------------------------------

    def load_batch(self, tech: str, kind: str, batch: str, first: str, last: str, count: int) -> int:
        """Journals a batch of blanks (every serial once; an overlap with any known serial is refused)."""
        if kind not in BLANK_KINDS:
            raise MaintenanceError("kind")
        batch = batch.strip().upper()
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9._/-]{0,39}", batch):
            raise MaintenanceError("batch-format")
        serials = serial_range(first, last, count)
        try:
            n = self.kiosk.printing.blanks.load(kind, batch, serials, actor=tech)
        except SerialsKnown as exc:
            raise MaintenanceError("overlap", n=len(exc.known), first=exc.known[0]) from exc
        if self.sim.available:
            self.sim.blanks_loaded(kind, serials)
        return n

    def supplies(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.kiosk.printing.supplies.rows()
        if self.kiosk.devices.get("receipt_printer") is not None:
            st = self.kiosk.monitor.status("receipt_printer")
            paper = st.supplies.get("paper")
            rows.append({"device": "receipt_printer", "name": "paper", "remaining": None, "capacity": None,
                         "low_at": None, "unit": "roll", "level": paper.level.value if paper else "unknown"})
        return rows

    def reset_supply(self, tech: str, device: str, name: str, remaining: int | None = None) -> int | None:
        """A new ribbon/film/toner or paper: the counter goes back to capacity (or the count given), audited."""
        if device == "receipt_printer" and name == "paper":
            self.store.audit("supplies", "supply-replaced", actor=tech, device=device, supply=name)
            if self.sim.available:
                self.sim.replenish(device, name)
            self.kiosk.monitor.refresh((device,))
            return None
        try:
            _before, new = self.kiosk.printing.supplies.replace(device, name, tech, remaining)
        except SupplyError as exc:
            raise MaintenanceError(exc.code, **exc.info) from exc
        if self.sim.available:
            self.sim.replenish(device, name)
        self.kiosk.monitor.refresh((device,))
        return new

    def spoil_blank(self, tech: str, serial: str, reason: str) -> None:
        """A blank found damaged in the hopper: out of stock, counted as spoiled, with why."""
        serial = serial.strip().upper()
        reason = " ".join(reason.split())[:120] or "damaged"
        try:
            self.kiosk.printing.blanks.damaged(serial, tech, reason)
        except BlankStateError as exc:
            raise MaintenanceError("not-in-stock", serial=serial) from exc
        if self.sim.available:
            self.sim.blank_removed(serial)

    def reconciliation(self) -> Reconciliation:
        return from_store(self.store, self.kiosk.cfg.kiosk.id)

    # -- the daily blank report ------------------------------------------------------------------

    def blank_report(self, day: str = "") -> tuple[BlankReport, bool | None]:
        """``day``'s (ISO date; '' for today so far) blank report, and whether central acknowledged it."""
        reports = DailyBlankReports(self.store, self.kiosk.cfg.kiosk.id, self.kiosk.cfg.kiosk.timezone)
        try:
            when = dt.date.fromisoformat(day) if day else reports.local_day(time.time())
        except ValueError as exc:
            raise MaintenanceError("date", date=day[:20]) from exc
        return reports.build(when), reports.delivered(when)

    def print_blank_report(self, tech: str, day: str = "") -> str:
        """Prints the day's blank report on the receipt printer; '' when it came out, else the printer's code."""
        report, delivered = self.blank_report(day)
        printer = self.kiosk.devices.get("receipt_printer")
        if printer is None:
            return "not-configured"
        receipt = report_receipt(report, self.kiosk.cfg.kiosk.location, delivered, getattr(printer, "columns", 48))
        try:
            after = printer.print_receipt(receipt)
        except AdmError as exc:
            code = exc.code
        else:
            code = "" if after.ready else (after.code or "unconfirmed")
        self.store.audit("maintenance", "blank-report-printed", actor=tech, day=report.day.isoformat(),
                         balanced=report.balanced, code=code)
        return code

    # -- faults --------------------------------------------------------------------------------

    def faults(self) -> list[dict[str, Any]]:
        """Devices that are not ready, and supplies that are out (what a technician comes to fix)."""
        out = []
        for name, st in self.kiosk.monitor.statuses().items():
            cfg = self.kiosk.devices.configs[name]
            if not cfg.enabled:
                continue
            if not st.ready:
                out.append({"device": name, "state": st.state.value, "code": st.code, "detail": st.detail,
                            "required": cfg.required, "since": st.since})
            for supply, level in st.supplies.items():
                if level.level.value == "out":
                    out.append({"device": name, "state": "supply", "code": f"{supply}-out", "detail": "",
                                "required": cfg.required, "since": st.since})
        return out

    def clear_fault(self, tech: str, device: str) -> tuple[bool, str]:
        """After the repair: re-probe the device (in simulation, also undo the simulated fault).

        Returns (ready now, the code the device still reports). A fault the device still
        reports is not hidden: the audit records that the technician tried.
        """
        if device not in self.kiosk.devices.configs and device != "central":
            raise MaintenanceError("device")
        before = self.kiosk.monitor.status(device).code if device != "central" else ""
        if self.sim.available:
            self.sim.fix(device)
        driver = self.kiosk.devices.get(device)
        clear = getattr(driver, "clear_fault", None)
        if callable(clear):
            clear()
        if device == "central":
            ready, code = True, ""
        else:
            st = self.kiosk.monitor.fresh(device)
            ready, code = st.ready, st.code
        self.store.audit("maintenance", "fault-cleared" if ready else "fault-still-reported", actor=tech,
                         device=device, before=before, after=code)
        return ready, code

    def stuck_jobs(self) -> list[StuckJob]:
        """Jobs left planned/submitted that nothing in this process is printing right now: a citizen's, a
        self-test's or a test print's (one a crash left open until the printer could answer)."""
        running = self.kiosk.printing.in_flight()
        masked = {r[0]: r[1] for r in self.store.query(
            "SELECT s.id, s.nik_masked FROM sessions s JOIN print_jobs j ON j.session_id = s.id "
            "WHERE j.state IN ('planned', 'submitted')")}
        return [StuckJob(j.id, j.created_at, j.kind, j.printer, j.state.value, j.blank_serial or "", j.printer_job_id,
                         j.error, masked.get(j.session_id or "", ""), j.purpose.value)
                for j in self.kiosk.printing.jobs.open_jobs() if j.id not in running]

    def _stuck(self, job_id: int) -> JobRecord:
        for job in self.kiosk.printing.jobs.open_jobs():
            if job.id == job_id and job.id not in self.kiosk.printing.in_flight():
                return job
        raise MaintenanceError("not-stuck", job=job_id)

    def recheck_job(self, tech: str, job_id: int) -> str:
        """Asks the printer what became of a stuck job and settles it: 'printed', 'failed', or 'pending' when it
        is still at work (or this kiosk is printing it now). A job listed as stuck can end before the tap reaches
        here (its print finished, the kiosk's own re-check settled it): the technician then sees how it ended,
        which is what the tap asks, and nothing is settled twice. ``MaintenanceError('not-stuck')``: no such job."""
        printing = self.kiosk.printing
        job = printing.jobs.get(job_id)
        if job is None:
            raise MaintenanceError("not-stuck", job=job_id)
        if job.state.value in ("printed", "failed"):
            return job.state.value
        if job.state.value == "planned" or job.id in printing.in_flight():
            return "pending"
        verdict = printing.ask_printer(job)
        if verdict == "unknown":
            self.store.audit("maintenance", "job-rechecked", actor=tech, job=job_id, outcome="pending")
            return "pending"
        printed = verdict == "printed"
        if not printing.settle(job.id, printed, "" if printed else f"settled by technician {tech}",
                               blank_unused=verdict in BLANK_UNUSED):
            final = printing.jobs.get(job.id)
            return final.state.value if final else "failed"  # it ended while the printer was asked
        outcome = "printed" if printed else "failed"
        self.store.audit("maintenance", "job-rechecked", actor=tech, job=job_id, outcome=outcome)
        return outcome

    def cancel_job(self, tech: str, job_id: int) -> None:
        """Cancels a stuck job at the printer and journals it failed: its blank is spoiled (unless the printer
        never had the job: then it is still in the hopper), central hears it failed."""
        job = self._stuck(job_id)
        printer = self.kiosk.devices.get(job.printer)
        if printer is not None and job.printer_job_id:
            printer.cancel(int(job.printer_job_id))
        unseen = job.state.value == "submitted" and self.kiosk.printing.ask_printer(job) in BLANK_UNUSED
        self.kiosk.printing.settle(job.id, False, f"cancelled by technician {tech}", blank_unused=unseen)
        self.store.audit("maintenance", "job-cancelled", actor=tech, job=job_id, serial=job.blank_serial or "")

    # -- diagnostics ----------------------------------------------------------------------------

    def diagnostics(self, tech: str) -> bytes:
        self.store.audit("maintenance", "diagnostics-downloaded", actor=tech)
        return bundle(self.kiosk.status, self.logs, tech)

    # -- simulator ------------------------------------------------------------------------------

    def simulate(self, tech: str, action: str, **arg: Any) -> str:
        """One simulator-panel action, audited (so a journal read later shows what was simulated)."""
        if not self.sim.available:
            raise MaintenanceError("not-simulated")
        result = ""
        if action == "insert":
            result = self.sim.insert_card(int(arg["index"]))
        elif action == "pull":
            self.sim.pull_card()
        elif action == "tap-printed":
            result = self.sim.tap_printed_card()
        elif action == "show-qr":
            self.sim.show_qr(str(arg["payload"])[:512])
        elif action == "hide-qr":
            self.sim.hide_qr()
        elif action == "fault":
            result = self.sim.inject(str(arg["fault"]))
        elif action == "clear-all":
            self.sim.clear_all()
        elif action == "plug-headset":
            self.sim.plug_headset()
        elif action == "unplug-headset":
            self.sim.unplug_headset()
        else:
            raise MaintenanceError("action")
        self.store.audit("simulator", action, actor=tech, **({"fault": arg["fault"]} if action == "fault" else {}))
        return result


def _duration(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, _s = divmod(s, 60)
    return f"{d}d {h:02d}h {m:02d}m" if d else f"{h:02d}h {m:02d}m"
