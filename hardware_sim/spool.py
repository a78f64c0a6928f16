"""An in-process stand-in for a CUPS server: queues that take files and answer like pycups.

Each queue copies the submitted file into ``output_dir/<queue>/`` (the printed "paper"),
finishes after ``seconds_per_job``, and can be told to fail: ``jam_on(n)`` jams the n-th
job from now, ``state_reasons`` set printer-state-reasons (``media-empty-error``...),
``marker_levels`` set supply levels. Used by the default simulation only; ``--sim=system``
and the integration tests use a real cupsd with ippeveprinter instead.
"""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.printers import ABORTED, BUSY, CANCELED, COMPLETED, IDLE, PENDING, PROCESSING


@dataclass
class _Job:
    id: int
    queue: str
    title: str
    path: Path
    options: dict[str, str]
    submitted: float
    state: int = PENDING
    reasons: list[str] = field(default_factory=list)
    done_at: float = 0.0


@dataclass
class SimQueue:
    name: str
    seconds_per_job: float = 0.0
    state_reasons: list[str] = field(default_factory=list)
    marker_names: list[str] = field(default_factory=list)
    marker_levels: list[int] = field(default_factory=list)
    accepting: bool = True
    hopper: int | None = None  # physical cards left; None: not a card printer
    _jam_countdown: list[int] = field(default_factory=list)
    _fail_reason: dict[int, str] = field(default_factory=dict)

    def jam_on(self, nth: int = 1, reason: str = "media-jam") -> None:
        """The ``nth`` job from now aborts with ``reason`` (media-jam, media-empty, other)."""
        self._jam_countdown.append(nth)
        self._fail_reason[len(self._jam_countdown) - 1] = reason

    def _take_fault(self) -> str | None:
        hit = None
        for i, n in enumerate(self._jam_countdown):
            if n <= 0:
                continue
            self._jam_countdown[i] = n - 1
            if n - 1 == 0 and hit is None:
                hit = self._fail_reason.get(i, "media-jam")
        return hit


class SimCups:
    """The subset of ``cups.Connection`` the printer driver uses; thread-safe, one per kiosk."""

    def __init__(self, output_dir: str | Path) -> None:
        self.output_dir = Path(output_dir)
        self.queues: dict[str, SimQueue] = {}
        self.jobs: dict[int, _Job] = {}
        self.down = False
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    def add_queue(self, name: str, **kw: Any) -> SimQueue:
        q = SimQueue(name, **kw)
        self.queues[name] = q
        (self.output_dir / name).mkdir(parents=True, exist_ok=True)
        return q

    def __call__(self) -> SimCups:  # the driver's connection factory
        if self.down:
            raise RuntimeError("cupsd is not running (simulated)")
        return self

    def _queue(self, name: str) -> SimQueue:
        q = self.queues.get(name)
        if q is None:
            raise RuntimeError(f"client-error-not-found: {name}")
        return q

    def printFile(self, printer: str, filename: str, title: str, options: dict[str, str]) -> int:  # noqa: N802
        with self._lock:
            q = self._queue(printer)
            if not q.accepting:
                raise RuntimeError("server-error-not-accepting-jobs")
            job = _Job(next(self._ids), printer, title, Path(filename), dict(options), time.monotonic())
            self.jobs[job.id] = job
            fault = q._take_fault()
            if fault is None and q.hopper is not None and q.hopper <= 0:
                fault = "media-empty"
            if fault is None and any(r.endswith("-error") for r in q.state_reasons):
                fault = "stopped"
            if fault:
                job.reasons = [f"{fault}-error"]
            job.done_at = job.submitted + q.seconds_per_job
            return job.id

    def _advance(self, job: _Job) -> None:
        if job.state in (CANCELED, ABORTED, COMPLETED):
            return
        q = self.queues[job.queue]
        now = time.monotonic()
        if now < job.done_at:
            job.state = PROCESSING
            return
        if job.reasons:
            job.state = ABORTED
            reason = job.reasons[0].removesuffix("-error")
            if reason in ("media-jam", "media-empty") and f"{reason}-error" not in q.state_reasons:
                q.state_reasons.append(f"{reason}-error")
            if reason == "media-jam" and q.hopper is not None:
                q.hopper -= 1  # the jammed card was picked and is spoiled
            return
        dest = self.output_dir / job.queue / f"{job.id:05d}-{job.title}{job.path.suffix}"
        shutil.copyfile(job.path, dest)
        if q.hopper is not None:
            q.hopper -= 1
        job.state = COMPLETED

    def getJobAttributes(self, job_id: int, requested_attributes: list[str] | None = None) -> dict[str, Any]:  # noqa: N802
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise RuntimeError(f"client-error-not-found: job {job_id}")
            self._advance(job)
            return {"job-id": job.id, "job-state": job.state, "job-name": job.title,
                    "job-state-reasons": job.reasons or ["none"]}

    def getJobs(self, which_jobs: str = "not-completed", my_jobs: bool = False,  # noqa: N802
                requested_attributes: list[str] | None = None) -> dict[int, dict[str, Any]]:
        with self._lock:
            return {j.id: self.getJobAttributes(j.id) for j in self.jobs.values()}

    def getPrinterAttributes(self, name: str, requested_attributes: list[str] | None = None) -> dict[str, Any]:  # noqa: N802
        with self._lock:
            q = self._queue(name)
            busy = False
            for j in self.jobs.values():
                if j.queue == name:
                    self._advance(j)
                    busy = busy or j.state == PROCESSING
            reasons = list(q.state_reasons)
            if q.hopper is not None and q.hopper <= 0 and "media-empty-error" not in reasons:
                reasons.append("media-empty-error")
            return {"printer-state": BUSY if busy else IDLE, "printer-state-reasons": reasons or ["none"],
                    "marker-names": list(q.marker_names), "marker-levels": list(q.marker_levels),
                    "printer-is-accepting-jobs": q.accepting}

    def cancelJob(self, job_id: int, purge_job: bool = False) -> None:  # noqa: N802
        with self._lock:
            job = self.jobs.get(job_id)
            if job and job.state not in (ABORTED, COMPLETED):
                job.state = CANCELED

    def clear_faults(self, queue: str) -> None:
        with self._lock:
            self._queue(queue).state_reasons.clear()

    def printed_files(self, queue: str) -> list[Path]:
        return sorted((self.output_dir / queue).glob("*"))
