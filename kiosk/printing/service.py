"""Print orchestration: plan -> render -> submit -> confirm -> journal (ARCHITECTURE.md section 5).

The journal's owners do the bookkeeping (kiosk/journal: ``blanks``, ``supplies``, ``jobs``);
this module drives the printers and asks them, each step written down *before* the
action it records:
- nothing is consumed unless the plan says every document can complete (devices, blanks,
  every consumable the printer profile names, the duty cycle);
- a card job takes its blank in the same transaction that marks it ``submitted``;
- the documents go a lane per printer at once (card and A4 side by side, each lane in the
  plan's order, one job at its printer at a time); every rule here holds per job in its lane;
- every job ends ``printed`` or ``failed`` when the printer can say which (refusing, aborting,
  timing out): a failure of one job fails that job only, the next documents still get their
  turn, so the citizen's receipt still prints;
- a job the printer cannot be asked about once it had it (cupsd lost mid-job and still gone
  at the timeout) is *unconfirmed*: it stays ``submitted``, its blank consumed and no report
  sent, since it may still come out; the citizen is told so, and ``recheck_unconfirmed`` (the
  kiosk's background tick) settles it as soon as the printer answers again;
- a blank taken by a failed job is spoiled, unless its card never left the hopper: the
  printer never received the job (refused outright, cupsd unreachable) or aborted it before
  the feed (an empty hopper, a printer stopped as it began); then it goes back to stock;
- self-tests and technicians' test prints are jobs like any other (a ``purpose``), so a
  crash during one is settled by recovery like a citizen's;
- on start-up, ``recover()`` settles any job left open by asking the printer.
Files are named by the job's UUID, never by anything central sent.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from drivers.base import N_, AdmError, DeviceError
from drivers.printers import COMPLETED, FINAL, CupsPrinter, JobResult, media_taken
from kiosk.devices.monitor import DeviceMonitor, Devices
from kiosk.faultpoints import crash_point
from kiosk.journal.blanks import BLANK_KINDS, BlankCards
from kiosk.journal.jobs import (
    TEST_PAGE,
    DuplicateJob,
    JobRecord,
    NoBlank,
    PlannedDocument,
    PrintJobs,
    Purpose,
    SessionEnded,
)
from kiosk.journal.store import Store
from kiosk.journal.supplies import Supplies
from kiosk.model import Document, DocumentKind, JobState, Medium, Progress
from kiosk.printing import lanes
from kiosk.printing.card_face import card_pdf, render_back, render_front
from kiosk.printing.personalise import ChipRefused, Personaliser
from kiosk.printing.signatures import DocumentSignatures, TteInvalid

log = logging.getLogger(__name__)
PRINTER_FOR = {Medium.CARD: "card_printer", Medium.A4: "document_printer"}
NOT_PRINTED = N_("The document was not printed. Your PIN is still valid.")
NOT_READY = N_("The printer is not ready. Your PIN is still valid.")
BLANK_UNUSED = ("unseen", "unfed")  # ``ask_printer`` verdicts after which the job's card is still in the hopper
UNCONFIRMED = N_("The printer did not confirm this document. If it does not come out, your PIN is still valid.")
SUPPLY_MESSAGES = {"ribbon": N_("The card printer needs a new ribbon. Your PIN is still valid."),
                   "paper": N_("The document printer is out of paper. Your PIN is still valid.")}


class PlanRefused(AdmError):
    """The plan cannot complete; ``reasons`` are translation msgids. Nothing was consumed."""

    code = "plan-refused"

    def __init__(self, reasons: list[str], codes: list[str]) -> None:
        super().__init__("; ".join(codes))
        self.reasons = reasons
        self.codes = codes


class NotDownloaded(AdmError):
    """A planned document whose content never arrived (its ``ready`` hook returned without it)."""

    code = "not-downloaded"
    citizen_message = NOT_PRINTED


def _has_content(doc: Document) -> bool:
    return (doc.identity if doc.medium is Medium.CARD else doc.pdf) is not None


@dataclass
class PrintPlan:
    documents: list[Document]
    blanks_needed: dict[str, int] = field(default_factory=dict)
    jobs: list[JobRecord] = field(default_factory=list)  # filled by journal_plan


@dataclass(frozen=True)
class TestPrint:
    """What a self-test or a technician's test print did: ``code`` is '' when it printed."""

    ok: bool
    code: str = ""  # not-configured | no-blank | not-printed | unconfirmed | a device error code
    reason: str = ""
    job: JobRecord | None = None
    serial: str | None = None
    printer_job: int = 0


class PrintService:
    def __init__(self, store: Store, devices: Devices, monitor: DeviceMonitor, kiosk_id: str, work_dir: Path,
                 job_timeout_s: float = 180.0, signatures: DocumentSignatures | None = None,
                 parallel: bool = True) -> None:
        self.store = store
        self.devices = devices
        self.monitor = monitor
        self.kiosk_id = kiosk_id
        self.work_dir = work_dir
        self.job_timeout_s = job_timeout_s
        self.signatures = signatures or DocumentSignatures([])  # no trust anchor: every A4 document is refused
        self.parallel = parallel  # a lane per printer at once; False: every document in turn
        self.blanks = BlankCards(store)
        self.supplies = Supplies(store, devices.profiles)
        self.jobs = PrintJobs(store, self.blanks, self.supplies, kiosk_id)
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()
        self._ahead: dict[Path, Future[Path]] = {}  # card faces rendered ahead, by the path their job renders to
        self._ahead_lock = threading.Lock()
        self.supplies.seed()
        self.personaliser = Personaliser(devices.encoder, self.jobs, store) if devices.encoder else None

    # -- what other services ask (the owners hold the answers) ------------------------------------

    def supply(self, device: str, name: str) -> int | None:
        return self.supplies.remaining(device, name)

    def blanks_in_stock(self, kind: str) -> int:
        return self.blanks.in_stock(kind)

    def load_blanks(self, kind: str, batch: str, serials: list[str], actor: str = "kiosk") -> int:
        """Journals a batch of blank cards; ``SerialsKnown`` (a ValueError) when a serial is known already."""
        return self.blanks.load(kind, batch, serials, actor)

    def duty_today(self, device: str = "card_printer") -> int:
        return self.supplies.duty_today(device)

    def printed_here(self, document_ids: list[str]) -> set[str]:
        """Documents this kiosk has printed or is printing: never again, whatever central says.

        Central learns of a print only when the outbox delivers the report; until then (or
        through a central outage) it still offers the document with the same PIN.
        """
        return self.jobs.printed_here(document_ids)

    def in_flight(self) -> set[int]:
        """Jobs this process is printing right now (not stuck, whatever the journal says)."""
        with self._in_flight_lock:
            return set(self._in_flight)

    # -- plan -----------------------------------------------------------------------------

    def plan(self, documents: list[Document], content_follows: bool = False) -> PrintPlan:
        """Checks devices, blanks and every consumable for every document; raises ``PlanRefused`` with every reason.

        Made from the documents' metadata (kind, medium, pages: what central's redemption says). A document's
        content (the signed PDF, the card data) may still be downloading when ``content_follows``: then
        ``execute``'s ``ready`` hook waits for it in the document's lane, and a document still without content
        after it fails its job alone; otherwise a document without content is refused here."""
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
        prints: dict[str, int] = {}
        for doc in documents:
            if doc.medium is Medium.CARD:
                plan.blanks_needed[doc.kind.value] = plan.blanks_needed.get(doc.kind.value, 0) + 1
            if not content_follows and not _has_content(doc):
                refuse("no-card-data" if doc.medium is Medium.CARD else "no-pdf",
                       N_("The document data is incomplete. Your PIN is still valid."))
            name = PRINTER_FOR[doc.medium]
            prints[name] = prints.get(name, 0) + (1 if doc.medium is Medium.CARD else doc.pages)
        self._capacity(prints, plan.blanks_needed, refuse)
        if reasons:
            raise PlanRefused(reasons, codes)
        return plan

    def _capacity(self, prints: dict[str, int], blanks_needed: dict[str, int],
                  refuse: Callable[[str, str], None]) -> None:
        """The plan's device rules: each printer present and ready (from the cache), blanks, consumables, duty."""
        for name in prints:
            if self.devices.get(name) is None:
                refuse(f"{name}-missing", N_("This kiosk cannot print this kind of document."))
                continue
            st = self.monitor.status(name)  # the cache: a slow printer must not hold the citizen's request
            if not st.ready:
                refuse(f"{name}-{st.code or st.state.value}", NOT_READY)
        for kind, n in blanks_needed.items():
            if self.blanks.in_stock(kind) < n:
                refuse(f"blanks-{kind}", N_("This kiosk has run out of blank cards. Your PIN is still valid."))
        for name, n in prints.items():
            for supply in self.supplies.short(name, n):
                refuse(supply, SUPPLY_MESSAGES.get(supply, NOT_READY))
        cards = sum(blanks_needed.values())
        limit = self.devices.profiles["card_printer"].duty_limit_per_day if "card_printer" in self.devices.profiles else 0
        if cards and limit and self.duty_today() + cards > limit:
            refuse("duty-limit", N_("The card printer has reached its daily limit and must cool down. "
                      "Your PIN is still valid; please come back tomorrow."))

    def printable_now(self) -> list[DocumentKind]:
        """The kinds a plan for one document of that kind could complete now (the plan's own rules, from the
        devices' cached status, the blank and supply owners and the duty cycle): what the kiosk tells the fleet."""
        return [kind for kind in DocumentKind if not self.refusal_codes_now(kind)]

    def refusal_codes_now(self, kind: DocumentKind) -> list[str]:
        """Why a plan for one document of ``kind`` would be refused now (the plan's codes; empty when it can print)."""
        refused: list[str] = []
        self._capacity({PRINTER_FOR[kind.medium]: 1}, {kind.value: 1} if kind.medium is Medium.CARD else {},
                       lambda code, _msg: refused.append(code))
        return refused

    # -- execute --------------------------------------------------------------------------

    def journal_plan(self, session_id: str, redemption_id: str, plan: PrintPlan) -> list[JobRecord]:
        """A planned job per document, all in one transaction. ``PlanRefused('already-printing')`` when the
        journal already holds a live or printed job for one of them (a second request for the same documents)."""
        try:
            plan.jobs = self.jobs.plan_citizen(session_id, redemption_id, [
                PlannedDocument(d.id, d.kind.value, PRINTER_FOR[d.medium], d.pages) for d in plan.documents])
        except DuplicateJob as exc:
            raise PlanRefused([N_("There are no documents ready to print for this NIK.")], ["already-printing"]) from exc
        return plan.jobs

    def execute(self, session_id: str, redemption_id: str, plan: PrintPlan,
                progress: Callable[[Progress], None] = lambda p: None,
                ready: Callable[[Document], None] = lambda d: None) -> dict[str, Progress]:
        """Prints every planned document, a lane per printer side by side (kiosk/printing/lanes.py), each lane in
        the plan's order; returns the final progress per document once every lane has ended, and only then
        removes the session's work directory. Every job ends printed or failed here (or stays open only when
        the journal itself cannot be written: recovery's turn).

        ``ready(doc)`` is called in the document's lane right before it is rendered (from the lanes' threads,
        so for two documents at once); it may wait (a download still arriving) and must bound that wait. When
        it raises an ``AdmError`` (``CentralError``: the download failed), or returns with the document still
        without its content, that job fails ``fetch-failed`` before anything is consumed (central is told it
        was not printed; the PIN stays valid for it) and the other lanes go on. ``progress`` sees each change of each
        document, one call at a time."""
        crash_point("planned")
        jobs = plan.jobs or self.journal_plan(session_id, redemption_id, plan)
        crash_point("journaled")
        out = {d.id: Progress(d.id, d.kind) for d in plan.documents}
        told = threading.Lock()

        def tell(p: Progress) -> None:
            with told:
                progress(p)

        for p in out.values():
            tell(p)
        session_dir = self.work_dir / session_id
        session_dir.mkdir(parents=True, exist_ok=True)

        def prepare(item: tuple[Document, JobRecord]) -> None:
            doc, job = item
            ready(doc)
            if not _has_content(doc):
                raise NotDownloaded("the document's content did not arrive")
            if doc.medium is Medium.CARD:  # the face renders while the lane's current card prints
                self._render_ahead(doc, session_dir / f"{job.uuid}.pdf", self.devices.profiles[job.printer])

        def step(item: tuple[Document, JobRecord], not_ready: BaseException | None) -> None:
            doc, job = item
            p = out[doc.id]
            p.state = "printing"
            tell(p)
            if not_ready is not None:
                ok, msg = self._not_fetched(job, not_ready)
            else:
                with self._running(job):
                    ok, msg = self._print_one(job, doc, session_dir)
            p.state, p.message = ("done", "") if ok else ("failed", msg)
            tell(p)

        try:
            items = list(zip(plan.documents, jobs, strict=True))
            lanes.run(lanes.by_printer(items, lambda item: item[1].printer, self.parallel), prepare, step,
                      ahead=self.parallel, name=f"print-{session_id[:6]}")
        finally:
            self._drop_ahead(session_dir)
            shutil.rmtree(session_dir, ignore_errors=True)
        return out

    def _not_fetched(self, job: JobRecord, error: BaseException) -> tuple[bool, str]:
        """A document whose ``ready`` failed: its job fails before it is rendered, no blank or paper taken."""
        if isinstance(error, AdmError):
            log.warning("job %s: document not ready (%s)", job.id, error.code)
            self._fail_safely(job, "fetch-failed", tell_central=True)
            return False, error.citizen_message or NOT_PRINTED
        log.error("job %s: preparing the document failed unexpectedly", job.id, exc_info=error)
        self._fail_safely(job, "error: unexpected")
        return False, NOT_PRINTED

    def _render_ahead(self, doc: Document, path: Path, profile: object) -> None:
        """Renders ``doc`` now for the ``_render`` of its job to take (a render error is raised there)."""
        done: Future[Path] = Future()
        try:
            done.set_result(self._render(doc, path, profile))
        except Exception as exc:  # noqa: BLE001 - handed to the job's own render step, which fails that job
            done.set_exception(exc)
        with self._ahead_lock:
            self._ahead[path] = done

    def _drop_ahead(self, session_dir: Path) -> None:
        with self._ahead_lock:
            for path in [p for p in self._ahead if p.parent == session_dir]:
                del self._ahead[path]

    def _print_one(self, job: JobRecord, doc: Document, session_dir: Path) -> tuple[bool, str]:
        """One citizen's document; never raises for anything a printer or its data can do."""
        try:
            status = self.monitor.fresh(job.printer)
            if not status.ready:
                self.jobs.finish(job.id, False, f"printer not ready: {status.code or status.state.value}")
                return False, NOT_READY
            try:
                path = self._render(doc, session_dir / f"{job.uuid}.pdf", self.devices.profiles[job.printer])
            except TteInvalid as exc:  # nothing reached the printer; central is told why
                log.warning("job %s refused: %s", job.id, exc.reason)
                self.jobs.finish(job.id, False, exc.reason, tell_central=True)
                return False, exc.citizen_message
            except Exception as exc:  # noqa: BLE001 - a bad photo or PDF must fail this job only
                log.exception("render failed for job %s", job.id)
                self.jobs.finish(job.id, False, f"render: {type(exc).__name__}")
                return False, N_("The document data is incomplete. Your PIN is still valid.")
            try:
                with self._station(job, doc.medium):
                    return self._submit_and_print(job, doc, path)
            except ChipRefused as exc:
                return False, exc.citizen_message
        except Exception:  # noqa: BLE001 - whatever broke, this job fails and the next document gets its turn
            log.exception("print job %s failed unexpectedly", job.id)
            self._fail_safely(job, "error: unexpected")
            return False, NOT_PRINTED

    def _station(self, job: JobRecord, medium: Medium) -> AbstractContextManager[None]:
        """A card job holds the card printer's encoder station from its blank to its feed (personalise.py)."""
        if medium is Medium.CARD and self.personaliser is not None:
            return self.personaliser.station(job, self.job_timeout_s)
        return nullcontext()

    def _submit_and_print(self, job: JobRecord, doc: Document, path: Path) -> tuple[bool, str]:
        """Takes the job's blank (a KTP-el's: the one at the encoder, personalised), then prints; raises
        ``ChipRefused`` (journaled) when the chip stops it."""
        chip = self.personaliser if doc.kind is DocumentKind.KTP_EL else None  # KIA: no chip
        kinds = [doc.kind.value] if doc.medium is Medium.CARD else []
        try:
            if chip:  # the blank at the encoder, and no other, is the one taken
                serial: str | None = chip.take_blank(job, lambda s: self.jobs.submit(job.id, kinds, serial=s))
            else:
                if doc.medium is Medium.CARD and self.personaliser is not None:
                    self.personaliser.clear_for_feed(job)  # no written card left where the printer feeds from
                serial = self.jobs.submit(job.id, kinds)
        except SessionEnded:
            self.jobs.finish(job.id, False, "cancelled", reached_printer=False)
            return False, N_("Printing was stopped because the session ended. Your PIN is still valid.")
        except NoBlank:
            self.jobs.finish(job.id, False, "no blank card in stock")
            return False, N_("This kiosk has run out of blank cards. Your PIN is still valid.")
        crash_point("blank-taken")
        if chip and serial:
            chip.personalise(job, doc, serial)  # written, locked and read back, or the blank is spoiled
        ok, _reason_text, msg = self._on_printer(job, path)
        if chip and serial and not ok and self._failed(job):  # unconfirmed: the printer may still feed it
            chip.after_failed_print(job, serial)
        return ok, msg

    def _on_printer(self, job: JobRecord, path: Path, timeout_s: float | None = None) -> tuple[bool, str, str]:
        """A submitted job to its printer and back: (printed, the printer's reason, the citizen's msgid). A KTP-el
        whose chip was written is spoiled on failure whatever the printer says (the blank owner's rule)."""
        printer: CupsPrinter = self.devices.get(job.printer)
        try:
            printer_job = printer.submit(str(path), job.title)
        except DeviceError as exc:
            # "offline": cupsd could not be reached, so nothing was sent; else ask whether it ever got the job
            verdict = "unseen" if exc.code == "offline" else self.ask_printer(job)
            if verdict not in ("unseen", "unfed", "failed"):  # it has the job after all, or cannot say: not known yet
                return self._unconfirmed(job, exc.code)
            self.jobs.finish(job.id, False, exc.code, reached_printer=verdict not in BLANK_UNUSED)
            return False, exc.code, exc.citizen_message or NOT_PRINTED
        crash_point("submitted")
        self.jobs.printer_job(job.id, printer_job)
        crash_point("job-id-written")
        result = printer.wait(printer_job, self.job_timeout_s if timeout_s is None else timeout_s)
        if result.state == "timeout":
            printer.cancel(printer_job)
            result = _after_cancel(printer, printer_job, result)
        crash_point("printer-done")
        if result.state == "timeout":  # cupsd cannot be asked even now: the job may yet come out
            return self._unconfirmed(job, _reason(result))
        reason = "" if result.ok else _reason(result)
        self.jobs.finish(job.id, result.ok, reason, reached_printer=result.fed)
        crash_point("finished")
        return result.ok, reason, "" if result.ok else NOT_PRINTED

    def _unconfirmed(self, job: JobRecord, why: str) -> tuple[bool, str, str]:
        """Leaves a job the printer had, or may have had, open for ``recheck_unconfirmed``: blank consumed, no report."""
        log.warning("job %s not confirmed by %s (%s): it stays open until the printer answers", job.id, job.printer, why)
        self.jobs.unconfirmed(job.id, why)
        return False, f"unconfirmed: {why}", UNCONFIRMED

    def _failed(self, job: JobRecord) -> bool:
        record = self.jobs.get(job.id)
        return record is not None and record.state is JobState.FAILED

    def _fail_safely(self, job: JobRecord, error: str, tell_central: bool = False) -> None:
        try:
            self.jobs.finish(job.id, False, error, tell_central=tell_central)
        except Exception:  # noqa: BLE001 - a journal that cannot be written: the job stays open for recovery
            log.exception("cannot journal the end of job %s; recovery will settle it", job.id)

    def _running(self, job: JobRecord) -> _InFlight:
        return _InFlight(self, job.id)

    def _render(self, doc: Document, path: Path, profile: object) -> Path:
        with self._ahead_lock:
            ahead = self._ahead.pop(path, None)
        if ahead is not None:  # rendered while the lane's previous job printed
            return ahead.result()
        if doc.medium is Medium.A4:
            assert doc.pdf is not None
            self.signatures.check(doc.pdf)  # raises TteInvalid: unsigned, modified, untrusted, expired, revoked
            path.write_bytes(doc.pdf)  # the central's signed PDF, unchanged
            return path
        assert doc.identity is not None
        size = profile.size_px  # type: ignore[attr-defined]
        front = render_front(doc.kind, doc.identity, doc.photo, doc.signature, size)
        back = render_back(doc.kind, size) if profile.duplex else None  # type: ignore[attr-defined]
        path.write_bytes(card_pdf(front, back, profile.dpi))  # type: ignore[attr-defined]
        return path

    # -- test prints (self-tests, ``adm-kiosk print-test``) -------------------------------------------

    def test_print(self, purpose: Purpose, printer_name: str, write_pdf: Callable[[Path, str | None], None],
                   pages: int = 1, blank_kinds: Sequence[str] = BLANK_KINDS, timeout_s: float | None = None) -> TestPrint:
        """A test page as a journaled job: a card test takes a blank (spoiled afterwards, "test print"), and the
        profile's consumables are drawn when it printed. ``write_pdf(path, serial)`` renders the page."""
        printer: CupsPrinter | None = self.devices.get(printer_name)
        if printer is None:
            return TestPrint(False, "not-configured")
        card = self.devices.profiles[printer_name].kind == "card"
        kinds = [k for k in blank_kinds if self.blanks.in_stock(k)] if card else []
        if card and not kinds:
            return TestPrint(False, "no-blank")
        job = self.jobs.plan_test(purpose, printer_name, kinds[0] if card else TEST_PAGE, pages)
        try:
            with self._running(job), self._station(job, Medium.CARD if card else Medium.A4):
                return self._test_print(job, kinds, write_pdf, timeout_s)
        except ChipRefused as exc:  # the station stayed busy with a citizen's card
            return TestPrint(False, "station-busy", str(exc), job=job)

    def _test_print(self, job: JobRecord, kinds: list[str], write_pdf: Callable[[Path, str | None], None],
                    timeout_s: float | None) -> TestPrint:
        work = self.work_dir / f"test-{job.uuid}"
        try:
            if self.personaliser and "ktp-el" in kinds:  # the card the printer feeds is the one at the encoder
                serial = self.personaliser.take_blank(
                    job, lambda s: self.jobs.submit(job.id, ["ktp-el"], serial=s))
            else:
                serial = self.jobs.submit(job.id, kinds)
        except NoBlank:
            self.jobs.finish(job.id, False, "no blank card in stock")
            return TestPrint(False, "no-blank", job=job)
        except ChipRefused as exc:  # no blank of ours reached the encoder, or it did not answer
            self._fail_safely(job, f"encoder: {exc.code}")
            return TestPrint(False, "no-blank", str(exc), job=job)
        crash_point("blank-taken")
        try:
            work.mkdir(parents=True, exist_ok=True)
            path = work / f"{job.uuid}.pdf"
            try:
                write_pdf(path, serial)
            except Exception as exc:  # noqa: BLE001 - a test page that cannot render never left the hopper
                log.exception("test page for job %s did not render", job.id)
                self.jobs.finish(job.id, False, f"render: {type(exc).__name__}", reached_printer=False)
                return TestPrint(False, "error", type(exc).__name__, job, serial)
            ok, reason, _msg = self._on_printer(job, path, timeout_s)
        except Exception:
            self._fail_safely(job, "error: unexpected")
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        final = self.jobs.get(job.id)
        code = "" if ok else "unconfirmed" if final and final.state.value == "submitted" else "not-printed"
        return TestPrint(ok, code, reason, final, serial,
                         int(final.printer_job_id or 0) if final else 0)

    # -- recovery -------------------------------------------------------------------------

    def ask_printer(self, job: JobRecord, wait_s: float = 0.0) -> str:
        """What became of a submitted job: ``printed``, ``failed``, ``unseen`` (the printer never received
        it), ``unfed`` (it aborted the job before its feed: an empty hopper, a printer stopped as it began; as
        with ``unseen``, the blank is still in the hopper: ``BLANK_UNUSED``) or ``unknown`` (unreachable, or
        still at work after ``wait_s``)."""
        printer: CupsPrinter | None = self.devices.get(job.printer)
        if printer is None:
            return "unknown"
        try:
            pjid = job.printer_job_id or printer.find_job(job.title)
            if not pjid:
                return "unseen"
            state, reasons = printer.job_state(int(pjid))
            if state in FINAL:
                return "printed" if state == COMPLETED else "failed" if media_taken(state, reasons, "") else "unfed"
            if wait_s <= 0:
                return "unknown"
            result = printer.wait(int(pjid), wait_s)
            if result.state == "timeout":
                return "unknown"
            return "printed" if result.ok else "failed" if result.fed else "unfed"
        except (RuntimeError, DeviceError) as exc:
            log.warning("cannot ask %s about job %s: %s", job.printer, job.id, exc)
            return "unknown"

    def settle(self, job_id: int, printed: bool, error: str = "", blank_unused: bool = False) -> bool:
        """Ends an open job as printed or failed, with everything that follows (blank, supplies, outbox report);
        False when it had ended already (settled meanwhile by its print, a re-check or a technician).
        ``blank_unused``: the printer never received the job, so its blank goes back to stock, not to spoiled."""
        return self.jobs.finish(job_id, printed, error, reached_printer=not blank_unused)

    def recheck_unconfirmed(self) -> int:
        """Asks the printers again about the jobs they could not confirm (the background tick); settles each
        one they answer for and returns how many. Never waits on a printer: one still at work answers later."""
        settled = 0
        for job in self.jobs.unconfirmed_jobs():
            if job.id in self.in_flight():
                continue
            verdict = self.ask_printer(job)
            if verdict == "unknown":
                continue
            settled += self.settle(job.id, verdict == "printed", {
                "printed": "", "failed": f"{job.error}; then the printer reported it not printed",
                "unseen": f"{job.error}; the printer never received it",
                "unfed": f"{job.error}; then the printer reported it stopped before the feed"}[verdict],
                blank_unused=verdict in BLANK_UNUSED)
        return settled

    def recover(self) -> int:
        """Settles jobs a crash left open (citizens' and test prints alike); returns how many it settled."""
        settled = 0
        for job in self.jobs.open_jobs():
            if job.state.value == "planned":
                self.settle(job.id, False, "interrupted before printing")
                settled += 1
                continue
            verdict = self.ask_printer(job, wait_s=min(self.job_timeout_s, 60))
            if verdict == "unknown":  # the printer cannot answer now: the background re-check asks again
                self.jobs.unconfirmed(job.id, "printer not answering at start-up")
                continue
            self.settle(job.id, verdict == "printed", {"printed": "", "failed": "interrupted: printer reports not printed",
                                                       "unseen": "interrupted before the printer received it",
                                                       "unfed": "interrupted: the printer stopped it before the feed"}[verdict],
                        blank_unused=verdict in BLANK_UNUSED)
            settled += 1
            crash_point("recovery-settled")
        settled += self.blanks.settle_orphans()
        with self.store.tx() as db:
            db.execute("UPDATE sessions SET state='ended', outcome='interrupted', ended_at=? WHERE ended_at IS NULL",
                       (time.time(),))
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if settled:
            self.store.audit("print", "recovered", jobs=settled)
        return settled


class _InFlight:
    """Marks a job as being printed by this process for the ``with`` block (the Faults page leaves it alone)."""

    def __init__(self, service: PrintService, job_id: int) -> None:
        self.service = service
        self.job_id = job_id

    def __enter__(self) -> None:
        with self.service._in_flight_lock:
            self.service._in_flight.add(self.job_id)

    def __exit__(self, *_exc: object) -> None:
        with self.service._in_flight_lock:
            self.service._in_flight.discard(self.job_id)


def _after_cancel(printer: CupsPrinter, printer_job: int, timed_out: JobResult) -> JobResult:
    """The verdict on a job cancelled after its timeout; still "timeout" when cupsd cannot be asked (lost
    mid-job): then nobody knows whether the printer finished it, and the job stays unconfirmed."""
    try:
        state, reasons = printer.job_state(printer_job)
    except (RuntimeError, DeviceError):
        return JobResult("timeout", tuple(dict.fromkeys((*timed_out.reasons, "cupsd-unreachable"))))
    return JobResult(FINAL.get(state, "canceled"), reasons, media_taken(state, reasons, ""))


def _reason(result: JobResult) -> str:
    reasons = [r for r in dict.fromkeys(result.reasons) if r not in ("none", "job-completed-successfully")]
    return f"{result.state}: {', '.join(reasons)}" if reasons else result.state
