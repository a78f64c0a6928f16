"""The print-job owner: the only code that writes ``print_jobs``.

Every print is a job, whoever asked for it (``purpose``): a citizen's document, a
technician's self-test, or ``adm-kiosk print-test``. Each follows one machine:

    planned -> submitted -> printed
        |          '------> failed
        '-----------------> failed        never submitted (printer not ready, no blank, bad data)

A submitted job the printer could not confirm (cupsd lost mid-job) stays ``submitted``, marked
*unconfirmed* in its ``error`` (``UNCONFIRMED`` and why): in doubt, its blank consumed and no
report queued, until the printer is asked again (``unconfirmed_jobs``) and it is finished.

Each transition is a check-and-set in one transaction (``UPDATE ... WHERE state IN
(<expected>)``); a job already final is never changed again. Whatever a transition
touches changes in that same transaction: ``submit`` takes the card job's blank (the
blank owner) and counts the card printer's duty cycle; ``finish`` settles the blank
(printed, spoiled, or back to stock when the printer never received the job), draws
the profile's consumables for a print (the supply owner) and, for a citizen's job that
reached the printer, queues the report to central in the outbox.

Invariants the journal itself enforces (migration 5): at most one live or printed job per
document (a partial unique index; a failed job does not count), so a second plan for a
document raises ``DuplicateJob`` whoever checked what before; a citizen job has a
session and a document, a test job neither; each job has a random ``uuid``: its title at
the printer (how recovery finds it) and its report's idempotency key, which a re-created
journal (job numbers starting at 1 again) never repeats.
"""

from __future__ import annotations

import enum
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from drivers.base import AdmError
from kiosk.journal.blanks import BlankCards
from kiosk.journal.store import Store
from kiosk.journal.supplies import Supplies
from kiosk.model import JobState

OPEN = (JobState.PLANNED.value, JobState.SUBMITTED.value)
UNCONFIRMED = "unconfirmed: "  # the error of a submitted job its printer could not confirm


class Purpose(enum.StrEnum):
    CITIZEN = "citizen"
    SELF_TEST = "self-test"
    TEST_PRINT = "test-print"


# how a test job's blank is noted when it ends: (printed, failed)
TEST_NOTES = {Purpose.SELF_TEST: ("self-test print", "self-test failed"),
              Purpose.TEST_PRINT: ("test print", "test print failed")}
TITLE_PREFIX = {Purpose.CITIZEN: "adm-job-", Purpose.SELF_TEST: "adm-selftest-", Purpose.TEST_PRINT: "adm-print-test-"}
TEST_PAGE = "test-page"  # the kind of an A4 test job (a card test job has its blank's kind)


class DuplicateJob(AdmError):
    """The journal refused a second live or printed job for a document; nothing was planned."""

    code = "duplicate-job"

    def __init__(self, document_ids: Sequence[str]) -> None:
        super().__init__(", ".join(document_ids))
        self.document_ids = list(document_ids)


class JobStateError(AdmError):
    """A transition asked of a job that is not in a state that allows it."""

    code = "job-state"


class SessionEnded(JobStateError):
    """The job's session ended (cancel, timeout, a new session) before the job reached a printer: it is never sent."""

    code = "session-ended"


class NoBlank(AdmError):
    """No blank of the wanted kinds in stock: the job stays planned, nothing was taken."""

    code = "no-blank"


@dataclass(frozen=True)
class PlannedDocument:
    document_id: str
    kind: str
    printer: str
    pages: int = 1


@dataclass(frozen=True)
class JobRecord:
    id: int
    uuid: str
    purpose: Purpose
    printer: str
    kind: str
    state: JobState
    session_id: str | None = None
    redemption_id: str = ""
    document_id: str | None = None
    blank_serial: str | None = None
    printer_job_id: int | None = None
    pages: int = 1
    error: str = ""
    created_at: float = 0.0

    @property
    def title(self) -> str:
        """The job's name at the printer: recovery finds the job by it."""
        return f"{TITLE_PREFIX[self.purpose]}{self.uuid}"


_COLUMNS = ("id, uuid, purpose, printer, kind, state, session_id, redemption_id, document_id, blank_serial, "
            "printer_job_id, pages, error, created_at")


def _record(row: sqlite3.Row) -> JobRecord:
    return JobRecord(id=int(row["id"]), uuid=str(row["uuid"]), purpose=Purpose(row["purpose"]), printer=str(row["printer"]),
                     kind=str(row["kind"]), state=JobState(row["state"]), session_id=row["session_id"],
                     redemption_id=str(row["redemption_id"]), document_id=row["document_id"],
                     blank_serial=row["blank_serial"], printer_job_id=row["printer_job_id"], pages=int(row["pages"]),
                     error=str(row["error"]), created_at=float(row["created_at"]))


class PrintJobs:
    def __init__(self, store: Store, blanks: BlankCards, supplies: Supplies, kiosk_id: str) -> None:
        self.store = store
        self.blanks = blanks
        self.supplies = supplies
        self.kiosk_id = kiosk_id

    # -- reads --------------------------------------------------------------------------------

    def get(self, job_id: int) -> JobRecord | None:
        row = self.store.query_one(f"SELECT {_COLUMNS} FROM print_jobs WHERE id=?", (job_id,))
        return _record(row) if row else None

    def open_jobs(self) -> list[JobRecord]:
        return [_record(r) for r in self.store.query(f"SELECT {_COLUMNS} FROM print_jobs WHERE state IN (?,?) "
                                                     "ORDER BY id", OPEN)]

    def unconfirmed_jobs(self) -> list[JobRecord]:
        """Submitted jobs their printer could not confirm: what to ask the printer about again."""
        return [_record(r) for r in self.store.query(f"SELECT {_COLUMNS} FROM print_jobs WHERE state='submitted' "
                                                     "AND substr(error, 1, ?) = ? ORDER BY id",
                                                     (len(UNCONFIRMED), UNCONFIRMED))]

    def printed_here(self, document_ids: Sequence[str]) -> set[str]:
        """Documents this kiosk has printed or is printing: never again, whatever central says."""
        if not document_ids:
            return set()
        rows = self.store.query("SELECT DISTINCT document_id FROM print_jobs WHERE state != 'failed' AND document_id IN "
                                f"({','.join('?' * len(document_ids))})", tuple(document_ids))
        return {r[0] for r in rows}

    # -- planned ------------------------------------------------------------------------------------

    def plan_citizen(self, session_id: str, redemption_id: str, documents: Sequence[PlannedDocument]) -> list[JobRecord]:
        """One planned job per document, all or none; ``DuplicateJob`` when any document has a live job already."""
        now = time.time()
        try:
            with self.store.tx() as db:
                return [self._insert(db, Purpose.CITIZEN, d.printer, d.kind, d.pages, now, session_id, redemption_id,
                                     d.document_id) for d in documents]
        except sqlite3.IntegrityError as exc:
            if "print_jobs" not in str(exc):
                raise
            raise DuplicateJob(sorted(self.printed_here([d.document_id for d in documents]))) from exc

    def plan_test(self, purpose: Purpose, printer: str, kind: str, pages: int = 1) -> JobRecord:
        if purpose is Purpose.CITIZEN:
            raise ValueError("a citizen's job needs a session and a document")
        with self.store.tx() as db:
            return self._insert(db, purpose, printer, kind, pages, time.time())

    def _insert(self, db: sqlite3.Connection, purpose: Purpose, printer: str, kind: str, pages: int, now: float,
                session_id: str | None = None, redemption_id: str = "", document_id: str | None = None) -> JobRecord:
        job_uuid = uuid.uuid4().hex
        cur = db.execute("INSERT INTO print_jobs(uuid, purpose, session_id, redemption_id, document_id, kind, printer, "
                         "state, pages, created_at, updated_at) VALUES (?,?,?,?,?,?,?,'planned',?,?,?)",
                         (job_uuid, purpose.value, session_id, redemption_id, document_id, kind, printer, pages, now, now))
        return JobRecord(int(cur.lastrowid or 0), job_uuid, purpose, printer, kind, JobState.PLANNED, session_id,
                         redemption_id, document_id, pages=pages, created_at=now)

    # -- transitions ----------------------------------------------------------------------------------

    def submit(self, job_id: int, blank_kinds: Sequence[str] = (), serial: str | None = None) -> str | None:
        """planned -> submitted, before the job goes to the printer (so recovery asks the printer about it).

        With ``blank_kinds`` (a card job) it takes the next blank of those kinds in the same transaction and
        returns its serial; raises ``NoBlank`` (the job stays planned) when none is in stock. With ``serial``
        too (a KTP-el whose chip serial the encoder read) it takes that blank of ``blank_kinds[0]``, or raises
        ``BlankNotInStock`` (the job stays planned)."""
        now = time.time()
        with self.store.tx() as db:
            row = db.execute("SELECT j.printer, s.ended_at FROM print_jobs j LEFT JOIN sessions s ON s.id = j.session_id "
                             "WHERE j.id=? AND j.state='planned'", (job_id,)).fetchone()
            if row is None:
                raise JobStateError(f"job {job_id} is not planned")
            if row[1] is not None:
                raise SessionEnded(f"job {job_id}: its session ended before it was sent")
            if blank_kinds and serial is not None:
                serial = self.blanks.take_serial(db, job_id, serial, blank_kinds[0]).serial
                self.supplies.count_duty(db, row[0])
            elif blank_kinds:
                taken = self.blanks.take(db, job_id, blank_kinds)
                if taken is None:
                    raise NoBlank(", ".join(blank_kinds))
                serial = taken.serial
                self.supplies.count_duty(db, row[0])
            db.execute("UPDATE print_jobs SET state='submitted', blank_serial=?, updated_at=? WHERE id=? "
                       "AND state='planned'", (serial, now, job_id))
        return serial

    def printer_job(self, job_id: int, printer_job_id: int) -> None:
        """The printer's own job number, once it accepted the job."""
        with self.store.tx() as db:
            db.execute("UPDATE print_jobs SET printer_job_id=?, updated_at=? WHERE id=? AND state='submitted'",
                       (printer_job_id, time.time(), job_id))

    def unconfirmed(self, job_id: int, why: str) -> bool:
        """A submitted job its printer could not confirm stays open, marked so (nothing else changes: its blank
        stays consumed, no report). False when it is not submitted any more (finished meanwhile)."""
        with self.store.tx() as db:
            cur = db.execute("UPDATE print_jobs SET error=?, updated_at=? WHERE id=? AND state='submitted'",
                             (f"{UNCONFIRMED}{why}", time.time(), job_id))
            if cur.rowcount:
                self.store.audit("print", "job-unconfirmed", db=db, job=job_id, reason=why)
        return bool(cur.rowcount)

    def finish(self, job_id: int, printed: bool, error: str = "", reached_printer: bool = True,
               tell_central: bool = False) -> bool:
        """An open job ends printed or failed, with its blank, supplies and report. False when it was final already.

        ``reached_printer=False``: the job's card never left the hopper (the printer never received the job, or
        aborted it before the feed), so its blank goes back to stock. A job that fails before it was submitted
        is reported only with ``tell_central`` (a document refused for what central sent, e.g. its signature)."""
        now = time.time()
        with self.store.tx() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM print_jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise JobStateError(f"no job {job_id}")
            job = _record(row)
            if job.state not in (JobState.PLANNED, JobState.SUBMITTED):
                return False
            if printed and job.state is not JobState.SUBMITTED:
                raise JobStateError(f"job {job_id} cannot have printed: it was never submitted")
            new = JobState.PRINTED if printed else JobState.FAILED
            db.execute("UPDATE print_jobs SET state=?, error=?, updated_at=? WHERE id=? AND state=?",
                       (new.value, error, now, job_id, job.state.value))
            if job.blank_serial:
                self._settle_blank(db, job, printed, error, reached_printer)
            used = self.supplies.draw(db, job.printer, job.pages) if printed else {}
            if job.purpose is Purpose.CITIZEN and (printed or job.state is JobState.SUBMITTED or tell_central):
                self._report(db, job, printed, error, now)
            self.store.audit("print", "job-" + new.value, db=db, job=job_id, purpose=job.purpose.value, kind=job.kind,
                             printer=job.printer, serial=job.blank_serial or "", error=error, used=used)
        return True

    def _settle_blank(self, db: sqlite3.Connection, job: JobRecord, printed: bool, error: str,
                      reached_printer: bool) -> None:
        serial = str(job.blank_serial)
        if not printed and not reached_printer:
            self.blanks.returned(db, serial, job.id)
        elif job.purpose is Purpose.CITIZEN:
            if printed:
                self.blanks.printed(db, serial, job.id)
            else:
                self.blanks.spoiled(db, serial, job.id, error)
        else:  # a test card is never a citizen's document: spoiled either way, with what happened
            done, failed = TEST_NOTES[job.purpose]
            self.blanks.spoiled(db, serial, job.id, done if printed else f"{failed}: {error}")

    def _report(self, db: sqlite3.Connection, job: JobRecord, printed: bool, error: str, now: float) -> None:
        """The outcome for central, queued with the outcome itself; the key is unique across journals."""
        outcome = "printed" if printed else "failed"
        key = f"{self.kiosk_id}:job:{job.uuid}:{outcome}"
        self.store.enqueue(db, "report", key, {
            "idempotency_key": key, "kiosk_id": self.kiosk_id, "redemption_id": job.redemption_id,
            "document_id": job.document_id, "kind": job.kind, "outcome": outcome, "card_serial": job.blank_serial,
            "reason": error, "at": now})
