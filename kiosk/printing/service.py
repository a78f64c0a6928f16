"""Print orchestration: plan -> render -> submit -> confirm -> journal (ARCHITECTURE.md section 5).

Invariants, each written to the journal *before* the action it records:
- nothing is consumed unless the plan says every document can complete;
- a card job takes its blank (serial) in the same transaction that marks it ``submitted``;
- a job ends ``printed`` or ``failed``; a blank taken by a failed job is ``spoiled``;
- every outcome is queued in the outbox (idempotent key per job) in the transaction that
  records it, so central hears of each print exactly once, even across power cuts;
- on start-up, ``recover()`` settles any job left ``submitted`` by asking the printer.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.base import N_, DeviceError
from drivers.printers import COMPLETED, FINAL, CupsPrinter, JobResult
from kiosk.devices.monitor import DeviceMonitor, Devices
from kiosk.faultpoints import crash_point
from kiosk.journal.store import Store
from kiosk.model import BlankState, Document, DocumentKind, JobState, Medium, Progress
from kiosk.printing.card_face import card_pdf, render_back, render_front

log = logging.getLogger(__name__)
PRINTER_FOR = {Medium.CARD: "card_printer", Medium.A4: "document_printer"}
SUPPLY_FOR = {Medium.CARD: "ribbon", Medium.A4: "paper"}


class SessionEnded(Exception):
    """The job's session ended (cancel, timeout, a new session) before the job reached a printer."""


class PlanRefused(Exception):
    """The plan cannot complete; ``reasons`` are translation msgids. Nothing was consumed."""

    def __init__(self, reasons: list[str], codes: list[str]) -> None:
        super().__init__("; ".join(codes))
        self.reasons = reasons
        self.codes = codes


@dataclass
class PrintPlan:
    documents: list[Document]
    blanks_needed: dict[str, int] = field(default_factory=dict)
    sheets_needed: int = 0


class PrintService:
    def __init__(self, store: Store, devices: Devices, monitor: DeviceMonitor, kiosk_id: str, work_dir: Path,
                 job_timeout_s: float = 180.0) -> None:
        self.store = store
        self.devices = devices
        self.monitor = monitor
        self.kiosk_id = kiosk_id
        self.work_dir = work_dir
        self.job_timeout_s = job_timeout_s
        self.seed_supplies()

    # -- supplies and stock ---------------------------------------------------------------

    def seed_supplies(self) -> None:
        """A supply row per profile supply the first time a printer is configured."""
        now = time.time()
        with self.store.tx() as db:
            for device, prof in self.devices.profiles.items():
                for name, spec in prof.supplies.items():
                    if name == "hopper":
                        continue  # blanks are counted one by one in blank_cards
                    db.execute("INSERT OR IGNORE INTO supplies VALUES (?,?,?,?,?,?,?)",
                               (device, name, spec.capacity, spec.capacity, spec.low_at, spec.unit, now))

    def supply(self, device: str, name: str) -> int | None:
        row = self.store.query_one("SELECT remaining FROM supplies WHERE device=? AND name=?", (device, name))
        return int(row[0]) if row else None

    def blanks_in_stock(self, kind: str) -> int:
        return int(self.store.query_one("SELECT COUNT(*) FROM blank_cards WHERE kind=? AND state='stock'", (kind,))[0])

    def load_blanks(self, kind: str, batch: str, serials: list[str], actor: str = "kiosk") -> int:
        """Journals a batch of blank cards; a serial already known is refused (every blank once)."""
        now = time.time()
        with self.store.tx() as db:
            known = {r[0] for r in db.execute(
                f"SELECT serial FROM blank_cards WHERE serial IN ({','.join('?' * len(serials))})", serials)}
            if known:
                raise ValueError(f"{len(known)} serials already journaled, e.g. {sorted(known)[0]}")
            db.executemany("INSERT INTO blank_cards(serial, kind, batch, state, loaded_at, updated_at) "
                           "VALUES (?,?,?,'stock',?,?)", [(s, kind, batch, now, now) for s in serials])
            self.store.audit("supplies", "blanks-loaded", actor=actor, db=db, kind=kind, batch=batch,
                             count=len(serials), first=serials[0] if serials else "", last=serials[-1] if serials else "")
        return len(serials)

    def duty_today(self, device: str = "card_printer") -> int:
        row = self.store.query_one("SELECT prints FROM duty_cycle WHERE device=? AND day=?", (device, _today()))
        return int(row[0]) if row else 0

    def printed_here(self, document_ids: list[str]) -> set[str]:
        """Documents this kiosk has printed or is printing: never again, whatever central says.

        Central learns of a print only when the outbox delivers the report; until then (or
        through a central outage) it still offers the document with the same PIN.
        """
        if not document_ids:
            return set()
        rows = self.store.query("SELECT DISTINCT document_id FROM print_jobs WHERE state != 'failed' AND document_id IN "
                                f"({','.join('?' * len(document_ids))})", tuple(document_ids))
        return {r[0] for r in rows}

    # -- plan -----------------------------------------------------------------------------

    def plan(self, documents: list[Document]) -> PrintPlan:
        """Checks devices and supplies for every document; raises ``PlanRefused`` with every reason."""
        plan = PrintPlan(list(documents))
        reasons: list[str] = []
        codes: list[str] = []

        def refuse(code: str, msg: str) -> None:
            if code not in codes:
                codes.append(code)
                reasons.append(msg)

        if not documents:
            refuse("nothing-selected", N_("Please choose at least one document."))
        if self.printed_here([d.id for d in documents]):
            refuse("already-printed", N_("There are no documents ready to print for this NIK."))
        for doc in documents:
            if doc.medium is Medium.CARD:
                plan.blanks_needed[doc.kind.value] = plan.blanks_needed.get(doc.kind.value, 0) + 1
                if doc.identity is None:
                    refuse("no-card-data", N_("The document data is incomplete. Your PIN is still valid."))
            else:
                plan.sheets_needed += doc.pages
                if doc.pdf is None:
                    refuse("no-pdf", N_("The document data is incomplete. Your PIN is still valid."))
        for medium in {d.medium for d in documents}:
            name = PRINTER_FOR[medium]
            if self.devices.get(name) is None:
                refuse(f"{name}-missing", N_("This kiosk cannot print this kind of document."))
                continue
            st = self.monitor.status(name)  # the cache: a slow printer must not hold the citizen's request
            if not st.ready:
                refuse(f"{name}-{st.code or st.state.value}", N_("The printer is not ready. Your PIN is still valid."))
        for kind, n in plan.blanks_needed.items():
            if self.blanks_in_stock(kind) < n:
                refuse(f"blanks-{kind}", N_("This kiosk has run out of blank cards. Your PIN is still valid."))
            ribbon = self.supply("card_printer", "ribbon")
            if ribbon is not None and ribbon < sum(plan.blanks_needed.values()):
                refuse("ribbon", N_("The card printer needs a new ribbon. Your PIN is still valid."))
        cards = sum(plan.blanks_needed.values())
        limit = self.devices.profiles["card_printer"].duty_limit_per_day if "card_printer" in self.devices.profiles else 0
        if cards and limit and self.duty_today() + cards > limit:
            refuse("duty-limit", N_("The card printer has reached its daily limit and must cool down. "
                      "Your PIN is still valid; please come back tomorrow."))
        paper = self.supply("document_printer", "paper")
        if plan.sheets_needed and paper is not None and paper < plan.sheets_needed:
            refuse("paper", N_("The document printer is out of paper. Your PIN is still valid."))
        if reasons:
            raise PlanRefused(reasons, codes)
        return plan

    # -- execute --------------------------------------------------------------------------

    def journal_plan(self, session_id: str, redemption_id: str, plan: PrintPlan) -> list[int]:
        now = time.time()
        ids = []
        with self.store.tx() as db:
            for doc in plan.documents:
                cur = db.execute(
                    "INSERT INTO print_jobs(session_id, redemption_id, document_id, kind, printer, state, pages, "
                    "created_at, updated_at) VALUES (?,?,?,?,?,'planned',?,?,?)",
                    (session_id, redemption_id, doc.id, doc.kind.value, PRINTER_FOR[doc.medium], doc.pages, now, now))
                ids.append(int(cur.lastrowid or 0))
        return ids

    def execute(self, session_id: str, redemption_id: str, plan: PrintPlan,
                progress: Callable[[Progress], None] = lambda p: None) -> dict[str, Progress]:
        """Prints every planned document in order; returns the final progress per document."""
        crash_point("planned")
        job_ids = self.journal_plan(session_id, redemption_id, plan)
        crash_point("journaled")
        out = {d.id: Progress(d.id, d.kind) for d in plan.documents}
        for p in out.values():
            progress(p)
        session_dir = self.work_dir / session_id
        session_dir.mkdir(parents=True, exist_ok=True)
        try:
            for doc, job_id in zip(plan.documents, job_ids, strict=True):
                p = out[doc.id]
                p.state = "printing"
                progress(p)
                ok, msg = self._print_one(job_id, doc, session_dir, redemption_id)
                p.state, p.message = ("done", "") if ok else ("failed", msg)
                progress(p)
        finally:
            shutil.rmtree(session_dir, ignore_errors=True)
        return out

    def _print_one(self, job_id: int, doc: Document, session_dir: Path, redemption_id: str) -> tuple[bool, str]:
        name = PRINTER_FOR[doc.medium]
        printer: CupsPrinter = self.devices.get(name)
        status = self.monitor.fresh(name)
        if not status.ready:
            self._finish(job_id, doc, redemption_id, False, f"printer not ready: {status.code or status.state.value}")
            return False, N_("The printer is not ready. Your PIN is still valid.")
        try:
            path = self._render(doc, session_dir, self.devices.profiles[name])
        except Exception as exc:  # noqa: BLE001 - a bad photo or PDF must fail this job only
            log.exception("render failed for job %s", job_id)
            self._finish(job_id, doc, redemption_id, False, f"render: {type(exc).__name__}")
            return False, N_("The document data is incomplete. Your PIN is still valid.")
        title = f"adm-job-{job_id}"
        try:
            serial = self._take_blank(job_id, doc) if doc.medium is Medium.CARD else self._mark_submitted(job_id)
        except SessionEnded:
            self._finish(job_id, doc, redemption_id, False, "cancelled")
            return False, N_("Printing was stopped because the session ended. Your PIN is still valid.")
        crash_point("blank-taken")
        if doc.medium is Medium.CARD and serial is None:
            self._finish(job_id, doc, redemption_id, False, "no blank card in stock")
            return False, N_("This kiosk has run out of blank cards. Your PIN is still valid.")
        try:
            printer_job = printer.submit(str(path), title)
        except DeviceError as exc:
            unseen = self.ask_printer(job_id, name, None) == "unseen"  # refused outright: the blank never left
            self._finish(job_id, doc, redemption_id, False, exc.code, blank_unused=unseen)
            return False, exc.citizen_message
        crash_point("submitted")
        with self.store.tx() as db:
            db.execute("UPDATE print_jobs SET printer_job_id=?, updated_at=? WHERE id=?", (printer_job, time.time(), job_id))
        crash_point("job-id-written")
        result = printer.wait(printer_job, self.job_timeout_s)
        if result.state == "timeout":
            printer.cancel(printer_job)
            state, reasons = printer.job_state(printer_job)
            result = JobResult(FINAL.get(state, "canceled"), reasons)
        crash_point("printer-done")
        self._finish(job_id, doc, redemption_id, result.ok, "" if result.ok else _reason(result))
        crash_point("finished")
        return result.ok, "" if result.ok else N_("The document was not printed. Your PIN is still valid.")

    def _render(self, doc: Document, session_dir: Path, profile: object) -> Path:
        path = session_dir / f"{doc.id}.pdf"
        if doc.medium is Medium.A4:
            assert doc.pdf is not None
            path.write_bytes(doc.pdf)  # the central's signed PDF, unchanged
            return path
        assert doc.identity is not None
        size = profile.size_px  # type: ignore[attr-defined]
        front = render_front(doc.kind, doc.identity, doc.photo, doc.signature, size)
        back = render_back(doc.kind, size) if profile.duplex else None  # type: ignore[attr-defined]
        path.write_bytes(card_pdf(front, back, profile.dpi))  # type: ignore[attr-defined]
        return path

    def _take_blank(self, job_id: int, doc: Document) -> str | None:
        """Takes the next blank and marks the job submitted, in one transaction (``SessionEnded`` when its
        session ended first)."""
        now = time.time()
        with self.store.tx() as db:
            _require_live(db, job_id)
            row = db.execute("SELECT serial FROM blank_cards WHERE kind=? AND state='stock' ORDER BY serial LIMIT 1",
                             (doc.kind.value,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE blank_cards SET state='consumed', job_id=?, updated_at=? WHERE serial=?",
                       (job_id, now, row[0]))
            db.execute("UPDATE print_jobs SET state='submitted', blank_serial=?, updated_at=? WHERE id=?",
                       (row[0], now, job_id))
            db.execute("INSERT INTO duty_cycle VALUES ('card_printer', ?, 1) "
                       "ON CONFLICT(device, day) DO UPDATE SET prints=prints+1", (_today(),))
            return str(row[0])

    def _mark_submitted(self, job_id: int) -> None:
        """An A4 job is ``submitted`` before it goes to the printer, so recovery asks the printer about it."""
        with self.store.tx() as db:
            _require_live(db, job_id)
            db.execute("UPDATE print_jobs SET state='submitted', updated_at=? WHERE id=?", (time.time(), job_id))

    def _finish(self, job_id: int, doc: Document | None, redemption_id: str, ok: bool, error: str,
                db: sqlite3.Connection | None = None, blank_unused: bool = False) -> None:
        if db is None:
            with self.store.tx() as d:
                self._finish(job_id, doc, redemption_id, ok, error, d, blank_unused)
            return
        now = time.time()
        row = db.execute("SELECT state, blank_serial, document_id, kind, printer, pages FROM print_jobs WHERE id=?",
                         (job_id,)).fetchone()
        if row is None or row[0] in (JobState.PRINTED, JobState.FAILED):
            return
        db.execute("UPDATE print_jobs SET state=?, error=?, updated_at=? WHERE id=?",
                   ((JobState.PRINTED if ok else JobState.FAILED).value, error, now, job_id))
        serial, doc_id, kind, printer, pages = row[1], row[2], DocumentKind(row[3]), row[4], row[5]
        if serial and blank_unused and not ok:
            db.execute("UPDATE blank_cards SET state=?, job_id=NULL, updated_at=?, note=? WHERE serial=?",
                       (BlankState.STOCK.value, now, f"back to stock: job {job_id} never reached the printer", serial))
        elif serial:
            db.execute("UPDATE blank_cards SET state=?, updated_at=?, note=? WHERE serial=?",
                       ((BlankState.PRINTED if ok else BlankState.SPOILED).value, now, error, serial))
        if ok:
            used = 1 if kind.medium is Medium.CARD else pages
            db.execute("UPDATE supplies SET remaining=MAX(0, remaining-?), updated_at=? WHERE device=? AND name=?",
                       (used, now, printer, SUPPLY_FOR[kind.medium]))
        if row[0] == JobState.SUBMITTED or ok:
            outcome = "printed" if ok else "failed"
            self.store.enqueue(db, "report", f"{self.kiosk_id}:job:{job_id}:{outcome}", {
                "idempotency_key": f"{self.kiosk_id}:job:{job_id}:{outcome}", "kiosk_id": self.kiosk_id,
                "redemption_id": redemption_id, "document_id": doc_id, "kind": kind.value, "outcome": outcome,
                "card_serial": serial, "reason": error, "at": now})
        self.store.audit("print", "job-" + ("printed" if ok else "failed"), db=db, job=job_id, kind=kind.value,
                         printer=printer, serial=serial or "", error=error)

    # -- recovery -------------------------------------------------------------------------

    def ask_printer(self, job_id: int, printer_name: str, printer_job_id: int | None, wait_s: float = 0.0) -> str:
        """What became of a submitted job: ``printed``, ``failed``, ``unseen`` (the printer never received
        it: its blank is still in the hopper) or ``unknown`` (unreachable, or still at work after ``wait_s``)."""
        printer: CupsPrinter | None = self.devices.get(printer_name)
        if printer is None:
            return "unknown"
        try:
            pjid = printer_job_id or printer.find_job(f"adm-job-{job_id}")
            if not pjid:
                return "unseen"
            state, _ = printer.job_state(int(pjid))
            if state in FINAL:
                return "printed" if state == COMPLETED else "failed"
            if wait_s <= 0:
                return "unknown"
            result = printer.wait(int(pjid), wait_s)
            return "unknown" if result.state == "timeout" else ("printed" if result.ok else "failed")
        except (RuntimeError, DeviceError) as exc:
            log.warning("cannot ask %s about job %s: %s", printer_name, job_id, exc)
            return "unknown"

    def settle(self, job_id: int, printed: bool, error: str = "", blank_unused: bool = False) -> None:
        """Ends an open job as printed or failed, with everything that follows (blank, supplies, outbox report).
        ``blank_unused``: the printer never received the job, so its blank goes back to stock, not to spoiled."""
        row = self.store.query_one("SELECT redemption_id FROM print_jobs WHERE id=?", (job_id,))
        if row is not None:
            self._finish(job_id, None, row[0], printed, error, blank_unused=blank_unused)

    def recover(self) -> int:
        """Settles jobs a crash left open; returns how many it settled."""
        settled = 0
        for row in self.store.query("SELECT id, printer, printer_job_id, state FROM print_jobs "
                                    "WHERE state IN ('planned','submitted') ORDER BY id"):
            job_id, printer_name, pjid, state = row
            if state == JobState.PLANNED:
                self.settle(job_id, False, "interrupted before printing")
                settled += 1
                continue
            verdict = self.ask_printer(job_id, printer_name, pjid, wait_s=min(self.job_timeout_s, 60))
            if verdict == "unknown":
                continue  # the printer cannot answer now; try again at the next start
            self.settle(job_id, verdict == "printed", {"printed": "", "failed": "interrupted: printer reports not printed",
                                                       "unseen": "interrupted before the printer received it"}[verdict],
                        blank_unused=verdict == "unseen")
            settled += 1
            crash_point("recovery-settled")
        with self.store.tx() as db:
            db.execute("UPDATE sessions SET state='ended', outcome='interrupted', ended_at=? WHERE ended_at IS NULL",
                       (time.time(),))
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if settled:
            self.store.audit("print", "recovered", jobs=settled)
        return settled


def _require_live(db: sqlite3.Connection, job_id: int) -> None:
    """The check of the check-and-set that submits a job: still planned, and its session not ended."""
    if db.execute("SELECT 1 FROM print_jobs j JOIN sessions s ON s.id=j.session_id WHERE j.id=? "
                  "AND j.state='planned' AND s.ended_at IS NULL", (job_id,)).fetchone() is None:
        raise SessionEnded(job_id)


def _reason(result: JobResult) -> str:
    reasons = [r for r in result.reasons if r not in ("none", "job-completed-successfully")]
    return f"{result.state}: {', '.join(reasons)}" if reasons else result.state


def _today() -> str:
    return dt.date.today().isoformat()
