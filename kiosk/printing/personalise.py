"""Personalisation of a KTP-el chip at the card printer's encoder station, between the plan and the face.

For each KTP-el job (``PrintService._print_one``): read the serial of the blank at the
station (``blank_serial``): that blank, and no other, is the one the job takes from the
blank owner; write central's chip image, lock it and verify the read-back as any reader
would (``personalise``). Only a verified chip gets its face printed. KIA cards carry no chip.

What can go wrong, and what the journal says then (each refusal raises ``ChipRefused``
after journaling, with the citizen's message; the PIN stays valid because the job fails):
- the station is absent, hangs or its chip is dead before a serial is read: the job fails
  with nothing taken; a chip that answers nothing is ejected to the reject bin and reported
  (``chip-unreadable``) so a technician records it damaged;
- the serial is not a KTP-el blank in stock (outside the loaded batches, printed, spoiled; the job
  owner refuses it): nothing is taken, the card is ejected, audited ``blank-set-aside`` (the
  events API shows it), and the next blank is tried (``take_blank``; after three, the job fails);
- once the chip is written the card has left the hopper for good: a print that then fails, even
  before the printer fed it, spoils that blank (a chip holding one citizen's data never goes
  back to stock). The journal knows it (``BlankCards.chip_written``, journaled before the
  write), so the rule holds for whoever settles the job: the print, a re-check, a technician,
  start-up recovery after a crash. A crash after that mark and before the write spoils a
  blank whose chip is still empty: the safe side;
- a write that fails or stops halfway, a lock refused, a read-back that differs or fails
  passive authentication, or the station past its deadline: the blank is spoiled with its
  serial (and central told the job failed), the card ejected, no face printed.
Every encoder call runs on one long-lived worker with a deadline (pyscard keeps a PC/SC
context per thread); while a call hangs, the next job is refused at once.

The station holds one card at a time, from the moment a job reads its serial until the printer
has fed it or the station ejected it (``station``): every card job of the printer (KTP-el, KIA,
test cards) holds it for that long, in this process and in any other of this kiosk (an
``adm-kiosk print-test card`` beside it: an ``flock`` on ``card-station.lock`` beside the
journal). Without it, a second session's job (the first citizen cancelled while her card
printed) read the serial of *her* card still at the station, was refused it and ejected it:
her card in the reject bin, and a card gone that the journal never heard of. A card at the
station that an open job consumed (a print the printer has not confirmed) is never ejected
either: the next job fails with nothing taken.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

from drivers.base import N_, AdmError, DeviceError
from kiosk.journal.blanks import BlankNotInStock
from kiosk.journal.jobs import JobRecord, PrintJobs
from kiosk.journal.store import Store
from kiosk.model import Document

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_SET_ASIDE = 3  # blanks set aside for one job before it gives up (a hopper loaded with another batch)
ENCODER_DOWN = N_("The card printer cannot write the KTP-el chip right now. Your PIN is still valid.")
ENCODE_FAILED = N_("The chip of your KTP-el could not be written, so the card was not printed. "
                   "Your PIN is still valid.")
BLANK_SET_ASIDE = N_("The blank card in the printer is not one this kiosk was loaded with. It was set aside; "
                     "your PIN is still valid. Please ask the staff.")
NO_CHIP_DATA = N_("The document data is incomplete. Your PIN is still valid.")
STATION_BUSY = N_("The card printer is still busy with an earlier card. Your PIN is still valid; "
                  "please try again in a few minutes.")


class Encoder(Protocol):
    def blank_serial(self) -> str: ...
    def personalise(self, files: Mapping[int, bytes], serial: str) -> Any: ...
    def reject(self) -> bool: ...


class ChipRefused(AdmError):
    """A KTP-el job that stops before its face is printed; already journaled. ``citizen_message`` says why."""

    code = "chip-refused"

    def __init__(self, detail: str, citizen_message: str) -> None:
        super().__init__(detail)
        self.citizen_message = citizen_message


@dataclass
class _Call:
    fn: Callable[[], Any]
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Any = None


class StationLock:
    """One holder of the card station at a time: threads of this process, and other processes of this kiosk (an
    ``adm-kiosk print-test card`` beside the running kiosk) through an ``flock`` on a file beside the journal.
    The lock goes with the process that held it, so a killed holder never leaves the station locked."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._thread = threading.Lock()
        self._fd: int | None = None

    def acquire(self, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        if not self._thread.acquire(timeout=max(0.0, wait_s)):
            return False
        if self.path is None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    self._thread.release()
                    return False
                time.sleep(0.05)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock
        self._thread.release()


class Personaliser:
    def __init__(self, encoder: Encoder, jobs: PrintJobs, store: Store, deadline_s: float = 30.0) -> None:
        self.encoder = encoder
        self.jobs = jobs
        self.store = store
        self.deadline_s = deadline_s
        self._lock = threading.Lock()
        self._station = StationLock(store.path.parent / "card-station.lock" if store.path.name != ":memory:" else None)
        self._current: _Call | None = None
        self._queue: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="card-encoder", daemon=True).start()

    @contextmanager
    def station(self, job: JobRecord, wait_s: float) -> Iterator[None]:
        """The station for ``job``'s card until the block ends (its print confirmed, failed or unconfirmed).
        Waits at most ``wait_s`` for the card before it (it is printing); then the job fails with nothing taken."""
        if not self._station.acquire(wait_s):
            self.jobs.finish(job.id, False, "encoder: station-busy", reached_printer=False)
            raise ChipRefused(f"another card held the station for {wait_s:g} s", STATION_BUSY)
        try:
            yield
        finally:
            self._station.release()

    def clear_for_feed(self, job: JobRecord) -> None:
        """Before a card job without a chip (KIA) takes its blank: the printer feeds whatever card is at the station.
        A written card left there (its blank journaled printed or spoiled: a print stopped before its feed) is
        ejected first; one an open job consumed (a print not confirmed) may yet be fed for that job, so this job
        fails with nothing taken (``ChipRefused``). Nothing at the station, or no answer: nothing to clear."""
        try:
            serial = self._bounded(self.encoder.blank_serial)
        except DeviceError:
            return
        state = self.jobs.blanks.state_of(serial)
        if state == "consumed":
            self._open_jobs_card(job, serial)
        if state in ("printed", "spoiled"):
            ejected = self._reject()
            self.store.audit("print", "written-card-ejected", job=job.id, serial=serial, ejected=ejected)

    def _open_jobs_card(self, job: JobRecord, serial: str) -> NoReturn:
        """The card at the station is one an open job consumed: ``job`` fails with nothing taken."""
        self.store.audit("print", "station-busy", job=job.id, serial=serial)
        self.jobs.finish(job.id, False, "encoder: card of an open job at the station", reached_printer=False)
        raise ChipRefused(f"blank {serial} of an open job is at the station", STATION_BUSY)

    def blank_serial(self, job: JobRecord) -> str:
        """The serial of the blank at the station; on failure the job fails with nothing taken."""
        try:
            return self._bounded(self.encoder.blank_serial)
        except DeviceError as exc:
            self.jobs.finish(job.id, False, f"encoder: {exc.code}", reached_printer=False)
            if exc.code in ("card-mute", "bad-answer", "unknown-card"):
                ejected = self._reject()
                self.store.audit("print", "chip-unreadable", job=job.id, code=exc.code, ejected=ejected)
            raise ChipRefused(exc.detail, ENCODER_DOWN) from exc

    def take_blank(self, job: JobRecord, submit: Callable[[str], str | None]) -> str:
        """The serial of the blank at the station, once ``submit(serial)`` (the job owner's submit) took it.

        A blank the journal does not hold in stock (``BlankNotInStock``) is ejected and audited
        ``blank-set-aside``, and the next blank the printer brings is tried, up to ``MAX_SET_ASIDE``
        times; then the job fails with nothing taken. Other refusals raise ``ChipRefused``."""
        for _ in range(MAX_SET_ASIDE):
            serial = self.blank_serial(job)
            try:
                submit(serial)
                return serial
            except BlankNotInStock as exc:
                if exc.state == "consumed":  # an open job's card, its print not confirmed: it may yet feed
                    self._open_jobs_card(job, exc.serial)
                ejected = self._reject()
                self.store.audit("print", "blank-set-aside", job=job.id, serial=exc.serial, reason=exc.why,
                                 ejected=ejected)
                log.warning("job %s: %s, set aside", job.id, exc)
                if not ejected:
                    break  # the same card would come back: a technician must take it out
        self.jobs.finish(job.id, False, "blanks at the encoder set aside", reached_printer=False)
        raise ChipRefused("no blank in stock reached the encoder", BLANK_SET_ASIDE)

    def personalise(self, job: JobRecord, doc: Document, serial: str) -> None:
        """Writes, locks and verifies the chip of the blank ``serial`` the job took; spoils it on any failure."""
        files = doc.chip
        try:
            if not files:
                raise DeviceError("no-chip-data", "central sent no chip image for this KTP-el")
            self.jobs.blanks.chip_written(serial, job.id)  # before the write: a crash mid-write never restocks it
            done = self._bounded(lambda: self.encoder.personalise(files, serial))
        except DeviceError as exc:
            ejected = self._reject()
            self.jobs.finish(job.id, False, f"encode: {exc.code}", reached_printer=True)
            self.store.audit("print", "chip-encode-failed", job=job.id, serial=serial, code=exc.code,
                             detail=exc.detail[:200], ejected=ejected)
            raise ChipRefused(exc.detail, NO_CHIP_DATA if exc.code == "no-chip-data" else ENCODE_FAILED) from exc
        log.info("job %s: chip of blank %s personalised (%s)", job.id, serial, done)

    def after_failed_print(self, job: JobRecord, serial: str) -> None:
        """A print that failed after the chip was written: a card still at the station (the printer stopped before
        feeding it) is ejected to the reject bin, as its blank is journaled spoiled."""
        try:
            at_station = self._bounded(self.encoder.blank_serial)
        except DeviceError:
            return
        if at_station == serial:
            ejected = self._reject()
            self.store.audit("print", "personalised-card-ejected", job=job.id, serial=serial, ejected=ejected)

    def _reject(self) -> bool:
        try:
            return bool(self._bounded(self.encoder.reject))
        except DeviceError:
            return False

    def _bounded(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._current is not None and not self._current.done.is_set():
                raise DeviceError("encoder-busy", "an earlier encoder call has not returned")
            call = self._current = _Call(fn)
        self._queue.put(call)
        if not call.done.wait(self.deadline_s):
            raise DeviceError("encoder-not-answering", f"the encoder station did not answer within {self.deadline_s:g} s")
        if isinstance(call.outcome, Exception):
            raise call.outcome
        return call.outcome  # type: ignore[no-any-return]

    def _serve(self) -> None:
        while True:
            call = self._queue.get()
            try:
                call.outcome = call.fn()
            except Exception as exc:  # noqa: BLE001 - handed to the waiting job, raised there
                call.outcome = exc
            call.done.set()
