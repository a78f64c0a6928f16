"""Card and A4 printers through CUPS (pycups).

The driver talks to a ``CupsLike`` connection: ``cups.Connection`` for a real cupsd, or the
in-process spool from ``hardware_sim`` that answers the same calls. A lost cupsd reads as
``offline``, never as a crash; jobs are followed by ``job-state``, not by reasons.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.base import Action, DeviceError, DeviceState, DeviceStatus, MissingLibraryError, Supply, SupplyLevel

# IPP job-state values (RFC 8011 5.3.7)
PENDING, HELD, PROCESSING, STOPPED, CANCELED, ABORTED, COMPLETED = 3, 4, 5, 6, 7, 8, 9
FINAL = {CANCELED: "canceled", ABORTED: "aborted", COMPLETED: "completed"}
IDLE, BUSY, HALTED = 3, 4, 5  # printer-state

# printer-state-reasons keyword -> (state, code, media, citizen msgid); -report reasons are informational
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
NOT_PRINTED = "The document was not printed. Your PIN is still valid."


class CupsLike(Protocol):
    def printFile(self, printer: str, filename: str, title: str, options: dict[str, str]) -> int: ...  # noqa: N802
    def getJobAttributes(self, job_id: int, requested_attributes: list[str] | None = None) -> dict[str, Any]: ...  # noqa: N802
    def getPrinterAttributes(self, name: str, requested_attributes: list[str] | None = None) -> dict[str, Any]: ...  # noqa: N802
    def getJobs(self, which_jobs: str = "not-completed", my_jobs: bool = False,  # noqa: N802
                requested_attributes: list[str] | None = None) -> dict[int, dict[str, Any]]: ...
    def cancelJob(self, job_id: int, purge_job: bool = False) -> None: ...  # noqa: N802


@dataclass(frozen=True)
class JobResult:
    state: str  # completed | aborted | canceled | timeout
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "completed"


def split_reason(reason: str) -> tuple[str, str]:
    """'media-jam-error' -> ('media-jam', 'error')."""
    for sev in ("error", "warning", "report"):
        if reason.endswith("-" + sev):
            return reason[: -len(sev) - 1], sev
    return reason, "error"


def map_printer(attrs: dict[str, Any]) -> DeviceStatus:
    """CUPS printer attributes -> the status vocabulary (a table test covers each reason)."""
    state = int(attrs.get("printer-state", IDLE))
    reasons = attrs.get("printer-state-reasons", ["none"])
    if isinstance(reasons, str):
        reasons = [reasons]
    supplies: dict[str, Supply] = {}
    names = attrs.get("marker-names") or []
    levels = attrs.get("marker-levels") or []
    if isinstance(names, str):
        names = [names]
    if isinstance(levels, int):
        levels = [levels]
    low_names: set[str] = set()
    result = DeviceStatus(DeviceState.BUSY if state == BUSY else DeviceState.ONLINE,
                          "printing" if state == BUSY else "ready")
    for raw in reasons:
        keyword, severity = split_reason(str(raw))
        if keyword == "none" or severity == "report":
            continue
        if keyword in LOW_REASONS:
            low_names.add(keyword)
            continue
        mapped = REASONS.get(keyword)
        if mapped and (severity == "error" or keyword in ("offline", "paused")):
            st, code = mapped
            if result.code == "":
                result = DeviceStatus(st, keyword.replace("-", " "), code=code,
                                      media="jammed" if code == "media-jam" else "")
    for i, name in enumerate(names):
        lvl = levels[i] if i < len(levels) else -1
        key = str(name).strip().lower() or f"marker{i}"
        if lvl is None or int(lvl) < 0:
            supplies[key] = Supply(SupplyLevel.UNKNOWN, unit="%")
        else:
            lvl = int(lvl)
            level = SupplyLevel.OUT if lvl == 0 else SupplyLevel.LOW if lvl <= 10 or (
                "marker-supply-low" in low_names) else SupplyLevel.OK
            supplies[key] = Supply(level, lvl, 100, "%")
    if "media-low" in low_names:
        supplies["media"] = Supply(SupplyLevel.LOW)
    if state == HALTED and result.code == "":
        result = DeviceStatus(DeviceState.OFFLINE, "queue stopped", code="stopped")
    return DeviceStatus(result.state, result.detail, supplies, result.media, result.code)


class CupsPrinter:
    """One CUPS queue. ``connect`` returns a fresh connection (pycups connections are not thread-safe)."""

    def __init__(self, name: str, queue: str, connect: Callable[[], CupsLike],
                 options: dict[str, str] | None = None) -> None:
        self.name = name
        self.queue = queue
        self._connect = connect
        self.options = dict(options or {})

    def _conn(self) -> CupsLike:
        try:
            return self._connect()
        except RuntimeError as exc:  # cups.IPPError derives from it; so does a refused connection
            raise DeviceError("offline", f"cupsd unreachable: {exc}", Action.SUSPEND, NOT_PRINTED) from exc

    def status(self) -> DeviceStatus:
        try:
            attrs = self._conn().getPrinterAttributes(self.queue, requested_attributes=[
                "printer-state", "printer-state-reasons", "marker-names", "marker-levels", "printer-is-accepting-jobs"])
        except DeviceError as exc:
            return DeviceStatus(DeviceState.OFFLINE, exc.detail, code="offline")
        except RuntimeError as exc:
            return DeviceStatus(DeviceState.NO_DEVICE, f"queue {self.queue!r}: {exc}", code="no-queue")
        status = map_printer(attrs)
        if attrs.get("printer-is-accepting-jobs") is False and status.state.ready:
            return DeviceStatus(DeviceState.OFFLINE, "queue rejects jobs", status.supplies, code="rejecting")
        return status

    def submit(self, path: str, title: str, options: dict[str, str] | None = None) -> int:
        """Submits a file; the title carries our journal job ID so recovery can find it."""
        try:
            return int(self._conn().printFile(self.queue, path, title, {**self.options, **(options or {})}))
        except RuntimeError as exc:
            raise DeviceError("submit-failed", f"CUPS refused the job: {exc}", Action.CLEAR, NOT_PRINTED) from exc

    def job_state(self, job_id: int) -> tuple[int, tuple[str, ...]]:
        attrs = self._conn().getJobAttributes(job_id, requested_attributes=["job-state", "job-state-reasons"])
        reasons = attrs.get("job-state-reasons", ())
        return int(attrs["job-state"]), tuple([reasons] if isinstance(reasons, str) else reasons)

    def wait(self, job_id: int, timeout_s: float, poll_s: float = 0.05,
             on_poll: Callable[[], None] | None = None) -> JobResult:
        """Follows a job to completed/aborted/canceled; a timeout leaves it to recovery."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                state, reasons = self.job_state(job_id)
            except (RuntimeError, DeviceError):
                state, reasons = PROCESSING, ("cupsd-unreachable",)
            if state in FINAL:
                return JobResult(FINAL[state], reasons)
            if time.monotonic() > deadline:
                return JobResult("timeout", reasons)
            if on_poll:
                on_poll()
            time.sleep(poll_s)

    def find_job(self, title: str) -> int | None:
        """The job we submitted under ``title``, if CUPS still knows it (start-up recovery)."""
        jobs = self._conn().getJobs(which_jobs="all", requested_attributes=["job-id", "job-name"])
        for job_id, attrs in sorted(jobs.items(), reverse=True):
            if attrs.get("job-name") == title:
                return int(job_id)
        return None

    def cancel(self, job_id: int) -> None:
        try:
            self._conn().cancelJob(job_id)
        except RuntimeError:
            pass


def pycups_connect(server: str = "") -> Callable[[], CupsLike]:
    """A connection factory for a real cupsd (``server``: a socket path or host[:port])."""
    try:
        import cups
    except ImportError as exc:
        raise MissingLibraryError("cups", "pycups (and libcups2)") from exc

    def connect() -> CupsLike:
        if server:
            cups.setServer(server)
        return cups.Connection()  # type: ignore[no-any-return]

    return connect
