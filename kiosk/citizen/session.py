"""The citizen session: identify -> PIN -> choose -> print -> done, with an idle timeout.

The journal row records each step (masked NIK and a keyed hash only). The personal data a
session needs (documents, photo, the NIK itself) lives in this object in memory and is
dropped when the session ends; its downloaded files go with it (``Downloads.close``), its
rendered files are deleted by the print service. After the PIN the documents download in
the background (kiosk/citizen/downloads.py). The citizen may choose and print at once (the
plan needs only what the redemption said: kind, pages); each print lane waits for its own
document's download. Until "Cetak" the screens poll ``downloaded()``, and a failed download
returns the session to the PIN step with central's "server unavailable"; after it, a failed
download fails that document's job only (``fetch-failed``: no blank, no paper, central told).

Concurrency (two taps, two browser tabs, a citizen who cancels while a printer is slow):
- authenticated -> printing is a check-and-set on the journal row inside one transaction
  (and on the in-memory step under the lock): of two print requests exactly one prints;
- a NIK has at most one live session: a new one ends the old one, and is refused while the
  old one prints;
- a session ends (cancel, timeout, new session) by setting ``ended_at`` on its row; the
  print service submits a job only while that is unset, so documents not yet at a printer
  when the citizen leaves are never printed (their jobs end ``failed``, the PIN stays valid).
"""

from __future__ import annotations

import enum
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from drivers.base import N_, AdmError
from kiosk.citizen.central import CentralClient, CentralError, CentralUnavailable, NoDocuments, WrongPin
from kiosk.citizen.downloads import DownloadProgress, Downloads
from kiosk.journal.attempts import AttemptRefused, Lockout, PinPolicy
from kiosk.journal.outbox import queue_data_rejected
from kiosk.journal.store import Store
from kiosk.model import Document, Medium, Nik, PrintOutcome, Progress
from kiosk.opening_hours import OpeningHours
from kiosk.printing.service import PlanRefused, PrintService

log = logging.getLogger(__name__)
MSG_CLOSED = N_("This kiosk is closed now. Please come back during the opening hours.")
MSG_STILL_PRINTING = N_("Your documents are being printed. Please wait until they are finished.")


class Step(enum.StrEnum):
    IDENTIFIED = "identified"
    AUTHENTICATED = "authenticated"
    PRINTING = "printing"
    DONE = "done"


class SessionError(AdmError):
    """A step refused; ``citizen_message`` is a translation msgid, ``code`` a stable reason."""

    code = "session-refused"

    def __init__(self, code: str, message: str, **info: object) -> None:
        super().__init__(code)
        self.code = code
        self.citizen_message = message
        self.info = info


@dataclass
class ActiveSession:
    id: str
    nik: Nik
    nik_hash: str
    method: str
    step: Step = Step.IDENTIFIED
    started: float = field(default_factory=time.time)
    last_activity: float = field(default_factory=time.monotonic)
    redemption_id: str = ""
    documents: list[Document] = field(default_factory=list)
    downloads: Downloads | None = None
    progress: dict[str, Progress] = field(default_factory=dict)
    reference: str = ""
    outcome: PrintOutcome | None = None
    receipt_error: str = ""
    lang: str = "id"

    def __repr__(self) -> str:
        return f"ActiveSession(id={self.id!r}, nik={self.nik.masked!r}, step={self.step.value})"


@dataclass(frozen=True)
class PinResult:
    ok: bool
    tries_left: int = 0
    lockout: Lockout | None = None


class Sessions:
    def __init__(self, store: Store, central: CentralClient, pins: PinPolicy, printing: PrintService,
                 nik_key: bytes, idle_timeout_s: float, receipt: Callable[[ActiveSession], str] | None = None,
                 admit: Callable[[], str] | None = None, hours: OpeningHours | None = None,
                 parallel_fetch: int = 3, fetch_bound_s: float = 30.0) -> None:
        self.store = store
        self._admit = admit  # applies a pending mode change; '' when a new session may start, else the msgid why not
        self.central = central
        self.pins = pins
        self.printing = printing
        self._nik_key = nik_key
        self.idle_timeout_s = idle_timeout_s
        self._receipt = receipt
        self.hours = hours or OpeningHours()
        self.parallel_fetch = parallel_fetch
        self.fetch_bound_s = fetch_bound_s
        # download workers for all sessions: a fixed few threads, not new ones per citizen (one citizen at a time,
        # an abandoned session's downloads stop between chunks)
        self._download_pool = ThreadPoolExecutor(max(4, 2 * parallel_fetch), thread_name_prefix="download")
        self._active: dict[str, ActiveSession] = {}
        self._lock = threading.RLock()
        self.threads: dict[str, threading.Thread] = {}

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, nik_text: str, method: str, lang: str = "id") -> ActiveSession:
        """Raises ``InvalidNik`` for a bad NIK, ``SessionError('locked')`` for a locked one and
        ``SessionError('printing')`` while another session of the same NIK prints, and
        ``SessionError('out-of-service')`` when a mode change that waited for the last citizen's
        print (a pending remote out-of-service) takes effect now: it does before anyone new starts."""
        nik = Nik.parse(nik_text)
        nik_hash = nik.digest(self._nik_key)
        with self._lock:
            # the start time is the one the opening hours are checked at: a session is in or out of the hours by
            # its own start, one started before closing may finish, and a refused start ends no other session
            started = self.hours.clock()
            if not self.hours.is_open(started):
                raise SessionError("closed", MSG_CLOSED)
            try:
                for other in list(self._active.values()):
                    if other.step is not Step.PRINTING:
                        self.end(other.id, "abandoned")
                refusal = self._admit() if self._admit else ""  # after the last citizen's session has ended
                if refusal:
                    raise SessionError("out-of-service", refusal)
                lock = self.pins.lockout(nik_hash)
                if lock:
                    raise SessionError("locked", N_("Too many wrong PINs. Please wait before trying again."),
                                       seconds=lock.seconds_left, scope=lock.scope)
                s = ActiveSession(secrets.token_urlsafe(16), nik, nik_hash, method, lang=lang, started=started)
                with self.store.tx() as db:
                    if db.execute("SELECT 1 FROM sessions WHERE nik_hash=? AND state='printing' AND ended_at IS NULL",
                                  (nik_hash,)).fetchone():
                        raise SessionError("printing", MSG_STILL_PRINTING)
                    db.execute("INSERT INTO sessions(id, started_at, method, nik_masked, nik_hash, state) "
                               "VALUES (?,?,?,?,?,?)", (s.id, s.started, method, nik.masked, nik_hash, s.step.value))
            except sqlite3.DatabaseError as exc:  # a full or locked journal (Store.fault): out of service, said so
                raise SessionError("out-of-service", N_("This kiosk is temporarily out of service.")) from exc
            self._active[s.id] = s
        log.info("session %s started by %s for %s", s.id[:6], method, nik.masked)
        return s

    def get(self, sid: str | None) -> ActiveSession | None:
        if not sid:
            return None
        with self._lock:
            return self._active.get(sid)

    def touch(self, sid: str) -> None:
        s = self.get(sid)
        if s:
            s.last_activity = time.monotonic()

    def _set_step(self, s: ActiveSession, step: Step) -> None:
        """Records a step; a session that ended meanwhile (cancel during a slow central) stays ended."""
        s.step = step
        with self.store.tx() as db:
            db.execute("UPDATE sessions SET state=? WHERE id=? AND ended_at IS NULL", (step.value, s.id))

    def end(self, sid: str, outcome: str = "done") -> None:
        """Ends a session and drops its personal data (documents, photos, NIK) from memory.

        A session that is printing may end too (the citizen cancelled, the kiosk stops): the
        journal row's ``ended_at`` tells the print worker to submit nothing more; the job at
        a printer already finishes and is reported.
        """
        with self._lock:
            s = self._active.pop(sid, None)
            self.threads.pop(sid, None)  # one per printing session: kept, they would pile up for the kiosk's life
        if s is None:
            return
        with self.store.tx() as db:
            db.execute("UPDATE sessions SET state='ended', ended_at=?, outcome=CASE WHEN outcome='' THEN ? "
                       "ELSE outcome END, reference=? WHERE id=?", (time.time(), outcome, s.reference, sid))
        if s.downloads is not None:
            s.downloads.close()
        s.documents.clear()
        s.progress.clear()
        log.info("session %s ended (%s)", sid[:6], outcome)

    def reap_idle(self) -> list[str]:
        """Ends sessions idle past the timeout (never one that is printing)."""
        now = time.monotonic()
        ended = []
        with self._lock:
            for s in list(self._active.values()):
                if s.step is not Step.PRINTING and now - s.last_activity > self.idle_timeout_s:
                    self.end(s.id, "timeout")
                    ended.append(s.id)
        return ended

    def active(self) -> list[ActiveSession]:
        with self._lock:
            return list(self._active.values())

    # -- steps ----------------------------------------------------------------------------

    def submit_pin(self, sid: str, pin: str, wait_s: float | None = None) -> PinResult:
        """Reserves a PIN attempt (per NIK and per kiosk) before central is asked, then settles it.

        A NIK with nothing ready looks and counts exactly like a wrong PIN (the screen must not
        tell a passer-by whether someone has documents waiting); central giving no verdict
        (unreachable, garbage) releases the attempt: the citizen's tries are not spent on it.
        Then the documents download: this waits ``wait_s`` for them (None: until they are all
        here, within the download's bound), raising ``SessionError('fetch-failed')`` when one
        failed; the touchscreen waits for none (its documents screen lists them while they download).
        """
        s = self._require(sid, Step.IDENTIFIED)
        lock = self.pins.lockout(s.nik_hash)
        if lock:
            return PinResult(False, 0, lock)
        if not (len(pin) == 6 and pin.isascii() and pin.isdigit()):
            raise SessionError("pin-format", N_("The PIN has 6 digits."))
        try:
            attempt = self.pins.reserve(s.nik_hash)
        except AttemptRefused as exc:
            if exc.lockout:
                return PinResult(False, 0, exc.lockout)
            raise SessionError("attempts-pending", N_("Too many wrong PINs. Please wait before trying again.")) from exc
        self.central.preconnect(self.parallel_fetch - 1)  # warm while central checks the PIN: the fetches follow
        try:
            redemption = self.central.redeem(s.nik.value, pin)
        except (WrongPin, NoDocuments):
            lock = self.pins.failed(attempt)
            self.store.audit("security", "pin-wrong", session=s.id[:6])
            return PinResult(False, self.pins.tries_left(s.nik_hash), lock)
        except CentralError as exc:
            self.pins.released(attempt)
            self.store.audit("central", "redeem-failed", error=exc.code)
            raise SessionError(exc.code, exc.citizen_message) from exc
        except BaseException:
            self.pins.released(attempt)
            raise
        self.pins.succeeded(attempt)
        printed = self.printing.printed_here([d.id for d in redemption.documents])  # central may not know yet
        if len(printed) == len(redemption.documents):
            raise SessionError(NoDocuments.code, NoDocuments.citizen_message)
        documents = [d for d in redemption.documents if d.id not in printed]
        downloads = Downloads(self.central, redemption.id, documents,
                              self.printing.work_dir / s.id / f"downloads-{secrets.token_hex(4)}",
                              self.parallel_fetch, self.fetch_bound_s, self._download_pool)
        with self._lock:  # two PIN submits at once: the later redemption's downloads replace the earlier's
            if s.downloads is not None:
                s.downloads.close()
            s.redemption_id, s.documents, s.downloads = redemption.id, documents, downloads.start()
            self._set_step(s, Step.AUTHENTICATED)
        self.downloaded(sid, self.fetch_bound_s + 1 if wait_s is None else wait_s)
        return PinResult(True)

    def downloaded(self, sid: str, wait_s: float = 0.0, doc_ids: Collection[str] | None = None) -> DownloadProgress:
        """How far the session's documents have come (waiting up to ``wait_s``, bounded by the caller, for all of
        them or only ``doc_ids``: the data check waits for the cards alone).

        A failed download sends the session back to the PIN step with ``SessionError('fetch-failed')``
        (central's "server unavailable"): the attempt was settled as a success, so no try is spent,
        and central's PIN stays valid until the documents print."""
        s = self._require(sid, Step.AUTHENTICATED)
        downloads = s.downloads  # a concurrent call may hand the session back meanwhile: this one reads its own
        if downloads is None:  # documents handed over whole (nothing to download)
            return DownloadProgress(len(s.documents), len(s.documents), False, 0.0, frozenset(d.id for d in s.documents))
        state = downloads.wait_all(wait_s, doc_ids) if wait_s > 0 else downloads.progress()
        if state.failed:
            err = downloads.error()
            with self._lock:
                if self._active.get(sid) is s and s.downloads is downloads and s.step is Step.AUTHENTICATED:
                    downloads.close()
                    s.downloads = None
                    s.documents = []
                    s.redemption_id = ""
                    self._set_step(s, Step.IDENTIFIED)
            self.store.audit("central", "fetch-failed", error=err.code if err else "")
            raise SessionError("fetch-failed", CentralUnavailable.citizen_message)
        return state

    def start_printing(self, sid: str, doc_ids: list[str]) -> None:
        """Moves the session to printing (check-and-set: one print per session, whatever the taps),
        plans from the devices' cached status (raising ``SessionError`` with every reason when the
        plan cannot complete, and the session back at choosing), then prints in a worker thread.
        The plan is made from what the redemption said; documents still downloading are waited for in their
        print lane (the ``ready`` hook), at most until the download's bound. A download failed already (before
        the tap) raises ``SessionError('fetch-failed')`` like the documents screen's poll."""
        self.downloaded(sid)  # never waits: a request thread does not hold on the link
        with self._lock:
            s = self._require(sid, Step.AUTHENTICATED)
            with self.store.tx() as db:
                moved = db.execute("UPDATE sessions SET state='printing' WHERE id=? AND state='authenticated' "
                                   "AND ended_at IS NULL", (sid,)).rowcount
            if not moved:
                raise SessionError("wrong-step", N_("Please start again."), step=s.step.value)
            s.step = Step.PRINTING
        chosen = [d for d in s.documents if d.id in set(doc_ids)]
        try:
            plan = self.printing.plan(chosen, content_follows=s.downloads is not None)
        except PlanRefused as exc:
            self._back_to_choosing(s)
            self.store.audit("print", "plan-refused", codes=exc.codes)
            raise SessionError("plan-refused", exc.reasons[0], reasons=exc.reasons, codes=exc.codes) from exc
        except BaseException:
            self._back_to_choosing(s)
            raise
        s.reference = "ADM-" + secrets.token_hex(4).upper()
        s.progress = {d.id: Progress(d.id, d.kind) for d in plan.documents}

        ready = {"ready": s.downloads.wait} if s.downloads else {}

        def run() -> None:
            try:
                final = self.printing.execute(s.id, s.redemption_id, plan,
                                              lambda p: s.progress.__setitem__(p.document_id, p), **ready)
                s.outcome = PrintOutcome(s.reference, [k for k, p in final.items() if p.state == "done"],
                                         [k for k, p in final.items() if p.state != "done"])
                if self._receipt and self.get(s.id) is s:  # a citizen who left gets no receipt for the next one
                    s.receipt_error = self._receipt(s)
            except Exception:
                log.exception("printing failed for session %s", s.id[:6])
                s.outcome = PrintOutcome(s.reference, [], [d.id for d in plan.documents])
            finally:
                s.last_activity = time.monotonic()
                try:
                    with self.store.tx() as db:
                        db.execute("UPDATE sessions SET state='done', reference=?, outcome=? WHERE id=? "
                                   "AND ended_at IS NULL",
                                   (s.reference, "printed" if s.outcome and not s.outcome.failed else "partial", s.id))
                except sqlite3.DatabaseError:  # the journal broke mid-session: the citizen must still see the end
                    log.exception("cannot record the end of printing for session %s", s.id[:6])
                s.step = Step.DONE

        t = threading.Thread(target=run, name=f"print-{s.id[:6]}", daemon=True)
        with self._lock:
            if self._active.get(s.id) is not s:  # cancelled while planning: nothing was journaled, nothing prints
                return
            self.threads[s.id] = t
        t.start()

    def reject_data(self, sid: str, doc_ids: list[str]) -> int:
        """The citizen saw their card as it would print and said the data is wrong: nothing prints, the PIN stays
        valid, central gets a ``data-rejected`` report per chosen card (through the outbox), and the session ends.
        Check-and-set on the journal row, like ``start_printing``: a session that began printing meanwhile (a tap
        on "Data benar, cetak" first) is refused. Returns how many reports were queued."""
        with self._lock:
            s = self._require(sid, Step.AUTHENTICATED)
            cards = [d for d in s.documents if d.id in set(doc_ids) and d.medium is Medium.CARD]
            if not cards:
                raise SessionError("nothing-to-check", N_("Please choose at least one document."))
            with self.store.tx() as db:
                moved = db.execute("UPDATE sessions SET state='ended', ended_at=?, outcome='data-rejected' "
                                   "WHERE id=? AND state='authenticated' AND ended_at IS NULL",
                                   (time.time(), sid)).rowcount
                if not moved:
                    raise SessionError("wrong-step", N_("Please start again."), step=s.step.value)
                for d in cards:
                    queue_data_rejected(self.store, db, self.printing.kiosk_id, s.redemption_id, d.id, d.kind.value)
                self.store.audit("citizen", "data-rejected", db=db, session=s.id[:6], kinds=[d.kind.value for d in cards])
            self.end(sid, "data-rejected")
        return len(cards)

    def _back_to_choosing(self, s: ActiveSession) -> None:
        """A refused plan printed nothing: the session returns to choosing (unless it ended meanwhile)."""
        with self._lock:
            with self.store.tx() as db:
                db.execute("UPDATE sessions SET state='authenticated' WHERE id=? AND state='printing' "
                           "AND ended_at IS NULL", (s.id,))
            if s.step is Step.PRINTING:
                s.step = Step.AUTHENTICATED

    def wait_printed(self, sid: str, timeout_s: float = 60) -> None:
        t = self.threads.get(sid)
        if t:
            t.join(timeout_s)

    def _require(self, sid: str, step: Step) -> ActiveSession:
        s = self.get(sid)
        if s is None:
            raise SessionError("no-session", N_("Your session has ended. Please start again."))
        if s.step is not step:
            raise SessionError("wrong-step", N_("Please start again."), step=s.step.value)
        s.last_activity = time.monotonic()
        return s
