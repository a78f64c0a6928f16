"""An in-process stand-in for a CUPS server: queues that take files and answer like pycups.

Each queue copies the submitted file into ``output_dir/<queue>/`` (the printed "paper"),
finishes after ``seconds_per_job`` (or, with realistic timing, after what its ``clock`` says
the printer takes for that job: its profile's ``[timing]`` for the job's pages and whether the
printer was warm), one job after another as a printer prints, and can be told to fail: ``jam_on(n)`` jams the n-th
job from now, ``state_reasons`` set printer-state-reasons (``media-empty-error``...),
``marker_levels`` set supply levels, ``fail_current`` faults the job at the printer now.
Used by the default simulation only; ``--sim=system`` and the integration tests use a real
cupsd with ippeveprinter instead.

Like cupsd, the spool outlives the kiosk process: a submitted file is copied into
``output_dir/.spool/`` and each job's record is kept there as JSON, so a kiosk killed
mid-job and started again can ask what became of it (start-up recovery), and the job
still finishes on time as a printer would while its controller was dead. Finished jobs
are kept up to ``max_history`` (cupsd's ``MaxJobs``), the oldest dropped first. Each record
holds when the printer started and ended the job (``timeline``): the witness the print
benchmark and the lane tests read how long printing took, and whether two printers overlapped.

A card queue's ``hopper`` counts the physical blanks in it, and is on disk too
(``.spool/<queue>.hopper``): a card leaves it when a job prints, jams or fails mid-print
(ribbon or printer out mid-print), never when a job is refused or aborted before the feed (an empty hopper, a
stopped printer). It is the witness the tests compare the
journal's stock with, so no kiosk process resets it: a queue created again over the
same spool keeps the count it had, whatever the profile's capacity says.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.printers import ABORTED, BUSY, CANCELED, COMPLETED, IDLE, PENDING, PROCESSING

# (pages of the job, seconds the printer has been idle) -> seconds the job takes
JobClock = Callable[[int, float], float]
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


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
    started: float = 0.0  # when the printer took it (after the jobs before it in its queue)


@dataclass
class SimQueue:
    name: str
    seconds_per_job: float = 0.0
    clock: JobClock | None = None  # realistic timing: the profile's time for each job (wins over seconds_per_job)
    state_reasons: list[str] = field(default_factory=list)
    marker_names: list[str] = field(default_factory=list)
    marker_levels: list[int] = field(default_factory=list)
    accepting: bool = True
    hopper_file: Path | None = None  # a card queue's hopper count; None: not a card printer
    on_feed: Callable[[str], None] | None = None  # told each job title whose card left the hopper (the chip hopper)
    _jam_countdown: list[int] = field(default_factory=list)
    _fail_reason: dict[int, str] = field(default_factory=dict)
    _hopper_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def hopper(self) -> int | None:
        """Physical cards left, read from disk each time: another process (``adm-kiosk print-test``) may have
        fed one since."""
        if self.hopper_file is None:
            return None
        try:
            return int(self.hopper_file.read_text())
        except (OSError, ValueError):
            return 0

    @hopper.setter
    def hopper(self, value: int | None) -> None:
        if self.hopper_file is None or value is None:
            return
        tmp = self.hopper_file.with_suffix(".tmp")
        tmp.write_text(str(int(value)))
        os.replace(tmp, self.hopper_file)

    def add_to_hopper(self, delta: int) -> None:
        """Cards into (+) or out of (-) the hopper, as one read-modify-write: a card fed at the printer, one ejected
        at the encoder and a batch a technician loads can happen at once (a cancelled citizen's card still printing
        while the next batch goes in), and a lost update would leave the count one card off the truth. Across
        threads and processes (``adm-kiosk print-test``): an ``flock`` on a file beside the count."""
        if self.hopper_file is None:
            return
        with self._hopper_lock, open(self.hopper_file.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.hopper = (self.hopper or 0) + delta

    def jam_on(self, nth: int = 1, reason: str = "media-jam") -> None:
        """The ``nth`` job from now aborts with ``reason`` (media-jam, media-empty, other)."""
        self._jam_countdown.append(nth)
        self._fail_reason[len(self._jam_countdown) - 1] = reason

    def clear(self) -> None:
        """What a technician's hands do: clear the jam, refill, close the cover (supply warnings stay)."""
        self._jam_countdown.clear()
        self._fail_reason.clear()
        self.state_reasons[:] = [r for r in self.state_reasons if r.startswith("marker-supply")]
        self.accepting = True

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

    def __init__(self, output_dir: str | Path, max_history: int = 500) -> None:
        self.output_dir = Path(output_dir)
        self.spool_dir = self.output_dir / ".spool"
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self.max_history = max_history
        self.queues: dict[str, SimQueue] = {}
        self.jobs: dict[int, _Job] = {}
        self._open: set[int] = set()  # jobs not final yet: status polls look at these only
        self.down = False
        self._lock = threading.RLock()
        self._load()
        self._ids = itertools.count(max(self.jobs, default=0) + 1)

    # -- the spool on disk ----------------------------------------------------------------

    def _load(self) -> None:
        """Jobs a previous kiosk process submitted (their clocks are wall time on disk)."""
        for path in self.spool_dir.glob("*.json"):
            try:
                rec = json.loads(path.read_text())
                job = _Job(int(rec["id"]), rec["queue"], rec["title"], Path(rec["path"]), dict(rec["options"]),
                           time.monotonic() + float(rec["submitted"]) - time.time(), int(rec["state"]),
                           list(rec["reasons"]), time.monotonic() + float(rec["done_at"]) - time.time(),
                           time.monotonic() + float(rec.get("started", rec["submitted"])) - time.time())
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a record torn by a power cut: the job is lost, as with a real spool
            self.jobs[job.id] = job
            if job.state not in (CANCELED, ABORTED, COMPLETED):
                self._open.add(job.id)

    def _save(self, job: _Job) -> None:
        now_wall, now_mono = time.time(), time.monotonic()
        rec = {"id": job.id, "queue": job.queue, "title": job.title, "path": str(job.path), "options": job.options,
               "submitted": now_wall + job.submitted - now_mono, "state": job.state, "reasons": job.reasons,
               "done_at": now_wall + job.done_at - now_mono, "started": now_wall + job.started - now_mono}
        tmp = self.spool_dir / f"{job.id:05d}.json.tmp"
        tmp.write_text(json.dumps(rec))
        os.replace(tmp, self.spool_dir / f"{job.id:05d}.json")

    def _finished(self, job: _Job) -> None:
        """A job reached a final state: its spooled file goes, its record stays (up to ``max_history``)."""
        self._open.discard(job.id)
        self._save(job)
        if job.path.parent == self.spool_dir:
            job.path.unlink(missing_ok=True)
        done = [j for j in sorted(self.jobs) if j not in self._open]
        for old in done[: max(0, len(done) - self.max_history)]:
            del self.jobs[old]
            (self.spool_dir / f"{old:05d}.json").unlink(missing_ok=True)

    def add_queue(self, name: str, **kw: Any) -> SimQueue:
        """A queue; a card queue (``hopper`` given) finds its hopper as the last process left it, if any."""
        cards = kw.pop("hopper", None)
        if cards is not None:
            kw["hopper_file"] = self.spool_dir / f"{name}.hopper"
        q = SimQueue(name, **kw)
        if cards is not None and not q.hopper_file.exists():  # type: ignore[union-attr]
            q.hopper = cards  # a new printer: as full as the caller says
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
            job_id = next(self._ids)
            spooled = self.spool_dir / f"{job_id:05d}{Path(filename).suffix}"
            shutil.copyfile(filename, spooled)  # cupsd keeps its own copy of the document
            job = _Job(job_id, printer, title, spooled, dict(options), time.monotonic())
            self.jobs[job.id] = job
            self._open.add(job.id)
            fault = q._take_fault()
            if fault is None and q.hopper is not None and q.hopper <= 0:
                fault = "media-empty"
            if fault is None and any(r.endswith("-error") for r in q.state_reasons):
                fault = "stopped"
            if fault:
                job.reasons = [f"{fault}-error"]
            self._schedule(q, job, fault)
            self._save(job)
            return job.id

    def _schedule(self, q: SimQueue, job: _Job, fault: str | None) -> None:
        """When the printer starts and ends ``job``: after the jobs before it, for as long as it takes."""
        if q.clock is None:
            job.started, job.done_at = job.submitted, job.submitted + q.seconds_per_job
            return
        mine = [j for j in self.jobs.values() if j.queue == q.name and j.id != job.id]
        job.started = max([job.submitted, *(j.done_at for j in mine if j.id in self._open)])
        ended = [j.done_at for j in mine if j.done_at <= job.started]
        idle = job.started - max(ended) if ended else math.inf
        before_feed = fault in ("media-empty", "stopped")  # refused as it begins: no card or sheet moves
        job.done_at = job.started + (0.0 if before_feed else q.clock(_pages(job.path), idle))

    def _advance(self, job: _Job) -> None:
        if job.state in (CANCELED, ABORTED, COMPLETED):
            return
        q = self.queues.get(job.queue)
        if q is None:
            return  # a job of a queue this kiosk no longer has: it waits, as in cupsd
        now = time.monotonic()
        if now < job.done_at:
            job.state = PROCESSING
            return
        if job.reasons:
            job.state = ABORTED
            reason = job.reasons[0].removesuffix("-error")
            if reason in ("media-jam", "media-empty") and f"{reason}-error" not in q.state_reasons:
                q.state_reasons.append(f"{reason}-error")
            if reason not in ("media-empty", "stopped") and q.hopper is not None:
                q.add_to_hopper(-1)  # the card was picked (jammed, or half printed when ribbon or printer failed): spoiled
                if q.on_feed:
                    q.on_feed(job.title)
            self._finished(job)
            return
        dest = self.output_dir / job.queue / f"{job.id:05d}-{job.title}{job.path.suffix}"
        shutil.copyfile(job.path, dest)
        if q.hopper is not None:
            q.add_to_hopper(-1)
            if q.on_feed:
                q.on_feed(job.title)
        job.state = COMPLETED
        self._finished(job)

    def getJobAttributes(self, job_id: int, requested_attributes: list[str] | None = None) -> dict[str, Any]:  # noqa: N802
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise RuntimeError(f"client-error-not-found: job {job_id}")
            self._advance(job)
            return {"job-id": job.id, "job-state": job.state, "job-name": job.title,
                    "job-state-reasons": job.reasons or ["none"], "job-printer-uri": f"ipp://localhost/printers/{job.queue}"}

    def getJobs(self, which_jobs: str = "not-completed", my_jobs: bool = False,  # noqa: N802
                requested_attributes: list[str] | None = None) -> dict[int, dict[str, Any]]:
        with self._lock:
            return {job_id: self.getJobAttributes(job_id) for job_id in list(self.jobs)}

    def getPrinterAttributes(self, name: str, requested_attributes: list[str] | None = None) -> dict[str, Any]:  # noqa: N802
        with self._lock:
            q = self._queue(name)
            busy = False
            for job_id in sorted(self._open):
                j = self.jobs[job_id]
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
            if job and job.state not in (CANCELED, ABORTED, COMPLETED):
                job.state = CANCELED
                job.done_at = min(job.done_at, time.monotonic())  # the printer stops working on it now
                self._finished(job)

    def clear_faults(self, queue: str) -> None:
        """Staff cleared the printer: the queue's own ``clear()`` (jams and errors go, supply warnings stay)."""
        with self._lock:
            self._queue(queue).clear()

    def enablePrinter(self, name: str) -> None:  # noqa: N802 - pycups' name
        with self._lock:
            q = self._queue(name)
            q.state_reasons[:] = [r for r in q.state_reasons if r != "paused"]

    def acceptJobs(self, name: str) -> None:  # noqa: N802 - pycups' name
        with self._lock:
            self._queue(name).accepting = True

    def fail_current(self, queue: str, reason: str = "media-jam") -> int | None:
        """A fault in the middle of a job: the job now at ``queue``'s printer shows ``reason`` at once and
        ends aborted without paper when it would have finished. Returns its id; None when nothing is printing
        (a fault that finds no job did not act)."""
        with self._lock:
            for job_id in sorted(self._open):
                job = self.jobs[job_id]
                if job.queue == queue and not job.reasons and time.monotonic() < job.done_at:
                    job.reasons = [f"{reason}-error"]
                    if f"{reason}-error" not in self.queues[queue].state_reasons:
                        self.queues[queue].state_reasons.append(f"{reason}-error")
                    self._save(job)
                    return job.id
        return None

    def printed_files(self, queue: str) -> list[Path]:
        return sorted((self.output_dir / queue).glob("*"))

    def timeline(self, queue: str) -> list[tuple[str, float, float, str]]:
        """The printer's own record of each finished job of ``queue``: (title, started, ended, outcome), wall
        clock seconds, oldest first; read from the spool on disk, so a kiosk process has no say in it."""
        out = []
        for path in sorted(self.spool_dir.glob("*.json")):
            try:
                rec = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if rec.get("queue") == queue and rec.get("state") in (CANCELED, ABORTED, COMPLETED):
                out.append((str(rec["title"]), float(rec.get("started", rec["submitted"])), float(rec["done_at"]),
                            {CANCELED: "canceled", ABORTED: "aborted", COMPLETED: "completed"}[rec["state"]]))
        return out


def _pages(path: Path) -> int:
    """Pages of a spooled PDF (a card: its sides), as a printer counts what it feeds; 1 when it cannot tell."""
    try:
        return max(1, len(_PAGE.findall(path.read_bytes())))
    except OSError:
        return 1
