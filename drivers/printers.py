"""Card and A4 printers through CUPS (pycups).

The driver talks to a ``CupsLike`` connection: ``cups.Connection`` for a real cupsd, or the
in-process spool from ``hardware_sim`` that answers the same calls. A lost cupsd reads as
``offline``, never as a crash; jobs are followed by ``job-state``, not by reasons.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from drivers.base import N_, Action, AdmError, DeviceError, DeviceState, DeviceStatus, MissingLibraryError, Supply, SupplyLevel

# IPP job-state values (RFC 8011 5.3.7)
PENDING, HELD, PROCESSING, STOPPED, CANCELED, ABORTED, COMPLETED = 3, 4, 5, 6, 7, 8, 9
FINAL = {CANCELED: "canceled", ABORTED: "aborted", COMPLETED: "completed"}
IDLE, BUSY, HALTED = 3, 4, 5  # printer-state

# printer-state-reasons keyword -> (state, code); -report: history in a queue, a fault when the printer says it
REASONS: dict[str, tuple[DeviceState, str]] = {
    "media-empty": (DeviceState.USER_ERROR, "media-empty"),
    "media-needed": (DeviceState.USER_ERROR, "media-empty"),
    "media-jam": (DeviceState.USER_ERROR, "media-jam"),
    "cover-open": (DeviceState.USER_ERROR, "cover-open"),
    "door-open": (DeviceState.USER_ERROR, "cover-open"),
    "input-tray-missing": (DeviceState.USER_ERROR, "media-empty"),
    "marker-supply-empty": (DeviceState.USER_ERROR, "marker-supply-empty"),
    "toner-empty": (DeviceState.USER_ERROR, "marker-supply-empty"),
    "offline": (DeviceState.OFFLINE, "offline"),
    "shutdown": (DeviceState.OFFLINE, "offline"),
    "paused": (DeviceState.OFFLINE, "paused"),
    "stopped": (DeviceState.HARDWARE_ERROR, "stopped"),
    "other": (DeviceState.HARDWARE_ERROR, "other"),
}
LOW_REASONS = {"media-low", "marker-supply-low", "toner-low"}
STATUS_ATTRS = ["printer-state", "printer-state-reasons", "marker-names", "marker-levels",
                "printer-is-accepting-jobs", "device-uri"]
DEVICE_ATTRS = ["printer-state", "printer-state-reasons", "marker-names", "marker-levels"]
IPP_NOT_FOUND = 0x0406
# faults after which a job reported "completed" cannot have come out whole (see CupsPrinter.wait)
JOB_STOPPING_FAULTS = {"media-jam", "media-empty", "marker-supply-empty", "other"}
# faults that stop a job before the printer takes a card or sheet: nothing to pick, or stopped as it began
BEFORE_FEED_FAULTS = {"media-empty", "stopped"}
ACTIVE = (PROCESSING, STOPPED)
JOB_ATTRS = ["job-id", "job-state", "job-state-reasons", "job-printer-uri"]
NOT_PRINTED = N_("The document was not printed. Your PIN is still valid.")


class CupsLike(Protocol):
    def printFile(self, printer: str, filename: str, title: str, options: dict[str, str]) -> int: ...  # noqa: N802
    def getJobAttributes(self, job_id: int, requested_attributes: list[str] | None = None) -> dict[str, Any]: ...  # noqa: N802
    def getPrinterAttributes(self, name: str, requested_attributes: list[str] | None = None) -> dict[str, Any]: ...  # noqa: N802
    def getJobs(self, which_jobs: str = "not-completed", my_jobs: bool = False,  # noqa: N802
                requested_attributes: list[str] | None = None) -> dict[int, dict[str, Any]]: ...
    def cancelJob(self, job_id: int, purge_job: bool = False) -> None: ...  # noqa: N802
    def enablePrinter(self, name: str) -> None: ...  # noqa: N802
    def acceptJobs(self, name: str) -> None: ...  # noqa: N802


class CupsError(AdmError, RuntimeError):
    """A pycups ``IPPError``/``HTTPError`` as the ``RuntimeError`` the driver handles.

    pycups' own exceptions derive from ``Exception`` only, so without this a refused request
    (unknown queue, cupsd going away mid-call) would escape the driver.
    """

    code = "cups-error"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (IPP status 0x{status:04x})" if status else message)
        self.status = status


@dataclass(frozen=True)
class JobResult:
    state: str  # completed | aborted | canceled | timeout
    reasons: tuple[str, ...] = ()  # the job's own, then the printer's fault code
    fed: bool = True  # False: aborted before the printer took a card or sheet (``media_taken``)

    @property
    def ok(self) -> bool:
        return self.state == "completed"


def _fault_codes(reasons: tuple[str, ...] | list[str]) -> set[str]:
    """The fault codes (``REASONS``) among job or printer reasons; informational keywords are dropped."""
    return {REASONS[k][1] for k in (split_reason(str(r))[0] for r in reasons) if k in REASONS}


def media_taken(state: int, own_reasons: tuple[str, ...], printer_fault: str) -> bool:
    """Whether the printer may have taken a card or sheet for a job that ended in ``state``.

    False only for a job aborted for faults a printer shows before its feed (an empty tray or hopper,
    a printer stopped as the job began). The job's own reasons decide when they name a fault, since
    what the printer shows now may be another job's (a jam of the next card); else the printer's
    fault, except a bare "stopped" (a queue CUPS halted after any failure says nothing of the feed).
    Unknown is fed: a blank counted used can be found in the hopper, a card that left it cannot.
    """
    if state != ABORTED:
        return True
    faults = _fault_codes(own_reasons) or _fault_codes([printer_fault]) - {"stopped"}
    return not faults or not faults <= BEFORE_FEED_FAULTS


def split_reason(reason: str) -> tuple[str, str]:
    """'media-jam-error' -> ('media-jam', 'error')."""
    for sev in ("error", "warning", "report"):
        if reason.endswith("-" + sev):
            return reason[: -len(sev) - 1], sev
    return reason, "error"


def supply_key(marker_name: str, index: int = 0) -> str:
    """A marker name as our supply name: 'Black Toner' -> 'toner', 'YMCKO Ribbon' -> 'ribbon'."""
    name = str(marker_name).strip().lower()
    if "waste" in name:
        return "waste"
    for key in ("ribbon", "film", "toner", "ink", "drum"):
        if key in name:
            return key
    return "-".join(name.split()) or f"marker{index}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def map_printer(attrs: dict[str, Any]) -> DeviceStatus:
    """CUPS printer attributes -> the status vocabulary (a table test covers each reason).

    ``-report`` reasons are history and ignored; ``-warning`` counts only for states that
    are warnings by nature (offline, paused, low supplies). The first error reason wins.
    """
    state = int(attrs.get("printer-state", IDLE))
    reasons = _as_list(attrs.get("printer-state-reasons", ["none"]))
    names = _as_list(attrs.get("marker-names"))
    levels = _as_list(attrs.get("marker-levels"))
    lows = _as_list(attrs.get("marker-low-levels"))
    low_reasons: set[str] = set()
    result = DeviceStatus(DeviceState.BUSY if state == BUSY else DeviceState.ONLINE,
                          "printing" if state == BUSY else "ready")
    for raw in reasons:
        keyword, severity = split_reason(str(raw))
        if keyword == "none" or severity == "report":
            continue
        if keyword in LOW_REASONS:
            low_reasons.add(keyword)
            continue
        mapped = REASONS.get(keyword)
        if mapped and (severity == "error" or keyword in ("offline", "paused")) and result.code == "":
            st, code = mapped
            result = DeviceStatus(st, keyword.replace("-", " "), code=code,
                                  media="jammed" if code == "media-jam" else "")
    supplies: dict[str, Supply] = {}
    for i, name in enumerate(names):
        lvl = levels[i] if i < len(levels) else None
        key = supply_key(name, i)
        if lvl is None or int(lvl) < 0:  # -1 other, -2 unknown, -3 "some remains": not a number
            supplies[key] = Supply(SupplyLevel.UNKNOWN, unit="%")
            continue
        lvl = int(lvl)
        low_at = int(lows[i]) if i < len(lows) and int(lows[i]) > 0 else 10
        only_marker_is_low = len(names) == 1 and "marker-supply-low" in low_reasons
        level = SupplyLevel.OUT if lvl == 0 else SupplyLevel.LOW if lvl <= low_at or only_marker_is_low \
            else SupplyLevel.OK
        supplies[key] = Supply(level, lvl, 100, "%")
    if "media-low" in low_reasons:
        supplies["media"] = Supply(SupplyLevel.LOW)
    if result.code == "media-empty":
        supplies["media"] = Supply(SupplyLevel.OUT)
    if state == HALTED and result.code == "":
        result = DeviceStatus(DeviceState.OFFLINE, "queue stopped", code="stopped")
    return DeviceStatus(result.state, result.detail, supplies, result.media, result.code)


def device_reasons(reasons: list[Any]) -> list[str]:
    """A printer's own reasons as CUPS would show them while a job runs.

    Printers that cannot stop (ippeveprinter) and many that can report faults as
    ``-report``; asked directly, the printer is the authority, so a fault keyword counts
    as an error and a low supply as a warning whatever its suffix.
    """
    out = []
    for raw in reasons:
        keyword, _ = split_reason(str(raw))
        if keyword in REASONS and keyword not in ("offline", "paused", "shutdown"):
            out.append(f"{keyword}-error")
        elif keyword in LOW_REASONS:
            out.append(f"{keyword}-warning")
    return out


class CupsPrinter:
    """One CUPS queue. ``connect`` returns a fresh connection (pycups connections are not thread-safe).

    Between jobs cupsd knows only what it heard during the last one, so when the queue's
    device is an IPP printer and the connection can ask it (``device_attributes``), the
    status also comes from the printer itself: a jam cleared by staff shows as cleared,
    a printer switched off shows as offline before a citizen's blank is taken.
    """

    def __init__(self, name: str, queue: str, connect: Callable[[], CupsLike],
                 options: dict[str, str] | None = None, probe_device: bool = True) -> None:
        self.name = name
        self.queue = queue
        self._connect = connect
        self.options = dict(options or {})
        self.probe_device = probe_device
        self._alongside: dict[int, set[int]] = {}  # per job submitted here: the queue's jobs not final then

    def _conn(self) -> CupsLike:
        try:
            return self._connect()
        except RuntimeError as exc:  # a refused connection (pycups raises RuntimeError)
            raise DeviceError("offline", f"cupsd unreachable: {exc}", Action.SUSPEND, NOT_PRINTED) from exc

    def status(self) -> DeviceStatus:
        """The queue's and (when it can be asked) the printer's condition; never raises."""
        try:
            conn = self._conn()
            attrs = conn.getPrinterAttributes(self.queue, requested_attributes=STATUS_ATTRS)
        except DeviceError as exc:
            return DeviceStatus(DeviceState.OFFLINE, exc.detail, code="offline")
        except RuntimeError as exc:
            if getattr(exc, "status", IPP_NOT_FOUND) == IPP_NOT_FOUND:
                return DeviceStatus(DeviceState.NO_DEVICE, f"queue {self.queue!r}: {exc}", code="no-queue")
            return DeviceStatus(DeviceState.OFFLINE, f"cupsd: {exc}", code="offline")
        probe = getattr(conn, "device_attributes", None)
        uri = str(attrs.get("device-uri", ""))
        if self.probe_device and probe is not None and urlsplit(uri).scheme in ("ipp", "ipps"):
            try:
                dev = probe(uri, DEVICE_ATTRS)
            except (OSError, RuntimeError) as exc:
                return DeviceStatus(DeviceState.OFFLINE, f"printer not answering: {exc}",
                                    map_printer(attrs).supplies, code="offline")
            attrs = {**attrs, "printer-state-reasons": [
                *_as_list(attrs.get("printer-state-reasons")), *device_reasons(_as_list(dev.get("printer-state-reasons")))]}
            if dev.get("marker-names"):
                attrs["marker-names"], attrs["marker-levels"] = dev["marker-names"], dev.get("marker-levels", [])
        status = map_printer(attrs)
        if attrs.get("printer-is-accepting-jobs") is False and status.state.ready:
            return DeviceStatus(DeviceState.OFFLINE, "queue rejects jobs", status.supplies, code="rejecting")
        return status

    def submit(self, path: str, title: str, options: dict[str, str] | None = None) -> int:
        """Submits a file as it is (a signed PDF is never re-rendered) with the profile's options.

        The title carries our journal job ID so start-up recovery can find the job again.
        """
        try:
            job_id = int(self._conn().printFile(self.queue, path, title, {**self.options, **(options or {})}))
        except RuntimeError as exc:
            raise DeviceError("submit-failed", f"CUPS refused the job: {exc}", Action.CLEAR, NOT_PRINTED) from exc
        self._alongside[job_id] = self._jobs_not_final(job_id) or set()
        return job_id

    def job_state(self, job_id: int) -> tuple[int, tuple[str, ...]]:
        attrs = self._conn().getJobAttributes(job_id, requested_attributes=["job-state", "job-state-reasons"])
        return int(attrs["job-state"]), tuple(str(r) for r in _as_list(attrs.get("job-state-reasons")))

    def wait(self, job_id: int, timeout_s: float, poll_s: float = 0.05,
             on_poll: Callable[[], None] | None = None) -> JobResult:
        """Follows a job by ``job-state`` to completed/aborted/canceled; a timeout leaves it to the caller.

        A failed job's reasons gain the printer's fault (``media-jam``...), which
        ``job-state-reasons`` rarely carries (cupsd says ``processing-to-stop-point``).
        A lost cupsd while waiting is not a verdict: the job may still print.

        cupsd 2.4's IPP backend races with itself: a job the printer aborts can end
        "completed" at cupsd when its main loop, not its monitor thread, sees the abort
        first (seen with ippeveprinter). So a "completed" followed at once by a printer
        fault that stops printing (jam, empty, ribbon out, other) is taken as not printed:
        for a card, a blank journaled as spoiled is recoverable; a card reported printed
        that never came out is not. That holds per job: a fault another job of this queue
        can own (one at work now, or one aborted since this one was submitted) is that
        job's, and this one's "completed" stands.
        """
        deadline = time.monotonic() + timeout_s
        alongside = self._alongside.pop(job_id, set()) | (self._jobs_not_final(job_id) or set())
        while True:
            try:
                state, reasons = self.job_state(job_id)
            except (RuntimeError, DeviceError):
                state, reasons = PROCESSING, ("cupsd-unreachable",)
            if state in FINAL:
                fault = self.status()
                if state == COMPLETED and fault.code in JOB_STOPPING_FAULTS \
                        and not self._fault_elsewhere(job_id, alongside):
                    return JobResult("aborted", (*reasons, fault.code, "printer-fault-after-completed"))
                taken = media_taken(state, reasons, fault.code)
                if state != COMPLETED and fault.code and fault.code not in reasons:
                    reasons = (*reasons, fault.code)
                return JobResult(FINAL[state], reasons, taken)
            if time.monotonic() > deadline:
                return JobResult("timeout", reasons)
            if on_poll:
                on_poll()
            time.sleep(poll_s)

    def _queue_jobs(self, which: str) -> dict[int, tuple[int, tuple[str, ...]]]:
        """This queue's jobs as {id: (job-state, job-state-reasons)}; a job that names no queue is left out."""
        jobs = self._conn().getJobs(which_jobs=which, requested_attributes=JOB_ATTRS)
        return {int(job_id): (int(a.get("job-state", PENDING)), tuple(str(r) for r in _as_list(a.get("job-state-reasons"))))
                for job_id, a in jobs.items()
                if str(a.get("job-printer-uri", "")).rstrip("/").rsplit("/", 1)[-1] == self.queue}

    def _jobs_not_final(self, job_id: int) -> set[int] | None:
        """The other jobs of this queue not final yet (None: cupsd cannot say): those may end while ``job_id``
        prints, and own a fault the printer shows then."""
        try:
            return {j for j, (state, _r) in self._queue_jobs("not-completed").items() if j != job_id
                    and state not in FINAL}
        except (RuntimeError, DeviceError):
            return None

    def _fault_elsewhere(self, job_id: int, alongside: set[int]) -> bool:
        """Whether another job of this queue can own the printer's fault: one at work now, or one that ended
        aborted since this one was submitted (submitted after it, or not final then: ``alongside``)."""
        try:
            jobs = self._queue_jobs("all")
        except (RuntimeError, DeviceError):
            return False
        return any(state in ACTIVE or (state == ABORTED and (j > job_id or j in alongside))
                   for j, (state, _r) in jobs.items() if j != job_id)

    def find_job(self, title: str) -> int | None:
        """The job we submitted under ``title``, if CUPS still knows it (start-up recovery)."""
        jobs = self._conn().getJobs(which_jobs="all", requested_attributes=["job-id", "job-name"])
        for job_id, attrs in sorted(jobs.items(), reverse=True):
            if attrs.get("job-name") == title:
                return int(job_id)
        return None

    def clear_fault(self) -> None:
        """After a technician fixed the printer: what ``cupsenable`` and ``cupsaccept`` do. CUPS stops a
        queue whose job failed (ErrorPolicy stop-printer); it would otherwise stay stopped."""
        conn = self._conn()
        conn.enablePrinter(self.queue)
        conn.acceptJobs(self.queue)

    def cancel(self, job_id: int) -> None:
        """Cancels a job; a job already finished or a lost cupsd is not an error here."""
        try:
            self._conn().cancelJob(job_id)
        except (RuntimeError, DeviceError):
            pass


class _Pycups:
    """``cups.Connection`` with pycups' exceptions turned into ``CupsError`` (a RuntimeError)."""

    def __init__(self, cups: Any, conn: Any) -> None:
        self._cups = cups
        self._c = conn

    def _call(self, method: str, *args: Any, **kw: Any) -> Any:
        try:
            return getattr(self._c, method)(*args, **kw)
        except self._cups.IPPError as exc:
            status, message = (exc.args + (0, ""))[:2]
            raise CupsError(int(status), str(message)) from exc
        except self._cups.HTTPError as exc:
            raise CupsError(0, f"HTTP error {exc.args[0] if exc.args else ''}") from exc

    def printFile(self, printer: str, filename: str, title: str, options: dict[str, str]) -> int:  # noqa: N802
        return int(self._call("printFile", printer, filename, title, options))

    def getJobAttributes(self, job_id: int, requested_attributes: list[str] | None = None) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("getJobAttributes", job_id, requested_attributes=requested_attributes))

    def getPrinterAttributes(self, name: str, requested_attributes: list[str] | None = None) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("getPrinterAttributes", name, requested_attributes=requested_attributes))

    def getJobs(self, which_jobs: str = "not-completed", my_jobs: bool = False,  # noqa: N802
                requested_attributes: list[str] | None = None) -> dict[int, dict[str, Any]]:
        return dict(self._call("getJobs", which_jobs=which_jobs, my_jobs=my_jobs,
                               requested_attributes=requested_attributes))

    def cancelJob(self, job_id: int, purge_job: bool = False) -> None:  # noqa: N802
        self._call("cancelJob", job_id, purge_job=purge_job)

    def enablePrinter(self, name: str) -> None:  # noqa: N802
        self._call("enablePrinter", name)

    def acceptJobs(self, name: str) -> None:  # noqa: N802
        self._call("acceptJobs", name)

    def device_attributes(self, uri: str, requested: list[str], timeout_s: float = 1.0) -> dict[str, Any]:
        """Get-Printer-Attributes straight from an IPP printer (the queue's ``device-uri``).

        A TCP connect with a short timeout first: libcups would wait 30 s for a dead host.
        """
        parts = urlsplit(uri)
        host, port = parts.hostname or "localhost", parts.port or 631
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
        try:
            conn = self._cups.Connection(host=host, port=port)
        except RuntimeError as exc:
            raise CupsError(0, f"{host}:{port}: {exc}") from exc
        return dict(_Pycups(self._cups, conn)._call("getPrinterAttributes", uri=uri, requested_attributes=requested))


def pycups_connect(server: str = "") -> Callable[[], CupsLike]:
    """A connection factory for a real cupsd (``server``: a socket path or host[:port]).

    ``cups.setServer`` is process-global in libcups: every factory sets it before connecting,
    which is right as long as one process talks to one cupsd (the kiosk does).
    """
    try:
        import cups
    except ImportError as exc:
        raise MissingLibraryError("cups", "pycups (and libcups2)") from exc

    def connect() -> CupsLike:
        if server:
            cups.setServer(server)
        return _Pycups(cups, cups.Connection())

    return connect
