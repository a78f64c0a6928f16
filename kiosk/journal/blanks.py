"""The blank-card owner: the only code that writes ``blank_cards``.

Blanks are allocated centrally and scarce; the regency accounts for every one, spoiled
ones included. Each blank is one row, and moves only along this machine:

    (loaded) -> stock -> consumed -> printed            a citizen's card came out
                              |  -> spoiled             jammed, failed, or a test card
                              '-> stock                 returned: its job never reached the printer
                stock -> spoiled                        damaged, removed from the hopper by a technician

Invariant: every serial loaded is journaled once, in exactly one state; a ``consumed``
blank names the job that took it, and it is taken in the same transaction that marks
that job ``submitted`` (``take`` runs inside the job owner's transaction); so journal
stock equals the cards in the hopper whenever no job is in flight. Every transition is
a check-and-set (``UPDATE ... WHERE state = <expected>``): a blank settled twice, or a
blank that is not where the caller thinks, raises ``BlankStateError`` and the
caller's transaction rolls back.

What can go wrong: a batch overlapping known serials is refused whole (``SerialsKnown``);
no blank of the wanted kinds in stock gives ``None`` from ``take`` (the caller fails its
job without consuming anything). A KTP-el job takes the blank whose chip serial the card
printer's encoder read (``take_serial``), not the next in stock order; a serial the
journal does not hold in stock raises ``BlankNotInStock`` and nothing changes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from drivers.base import AdmError
from kiosk.journal.store import Store
from kiosk.model import BlankState

NOTE_MAX = 200
BLANK_KINDS = ("ktp-el", "kia")  # the card documents a blank can become (a test card may use either)


class BlankStateError(AdmError):
    """A transition asked of a blank that is not in the state it requires."""

    code = "blank-state"


class SerialsKnown(AdmError, ValueError):
    """A batch names serials the journal already has: ``known`` lists them (sorted)."""

    code = "serials-known"

    def __init__(self, known: list[str]) -> None:
        super().__init__(f"{len(known)} serials already journaled, e.g. {known[0]}")
        self.known = known


class BlankNotInStock(AdmError):
    """The blank at the printer is not one the journal holds in stock: it is set aside, never printed."""

    code = "blank-not-in-stock"

    def __init__(self, serial: str, why: str, state: str | None = None) -> None:
        super().__init__(f"blank {serial}: {why}")
        self.serial = serial
        self.why = why
        self.state = state  # the journal's state of that blank (``consumed``: an open job's card); None: unknown serial


@dataclass(frozen=True)
class TakenBlank:
    serial: str
    kind: str


class BlankCards:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reads -----------------------------------------------------------------------------

    def in_stock(self, kind: str) -> int:
        return int(self.store.query_one("SELECT COUNT(*) FROM blank_cards WHERE kind=? AND state='stock'", (kind,))[0])

    def state_of(self, serial: str) -> str | None:
        """The journal's state of the blank ``serial`` (None: no such blank was ever loaded)."""
        row = self.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (serial,))
        return None if row is None else str(row[0])

    def any_loaded(self) -> bool:
        """Whether this journal ever had a blank (a simulated kiosk's first start seeds one batch per kind)."""
        return self.store.query_one("SELECT 1 FROM blank_cards LIMIT 1") is not None

    # -- transitions -------------------------------------------------------------------------

    def load(self, kind: str, batch: str, serials: Sequence[str], actor: str = "kiosk") -> int:
        """Journals a batch into stock, with the count declared (the reconciliation's other record)."""
        now = time.time()
        with self.store.tx() as db:
            known = sorted(r[0] for r in db.execute(
                f"SELECT serial FROM blank_cards WHERE serial IN ({','.join('?' * len(serials))})", tuple(serials)))
            if known:
                raise SerialsKnown(known)
            db.executemany("INSERT INTO blank_cards(serial, kind, batch, state, loaded_at, updated_at) "
                           "VALUES (?,?,?,'stock',?,?)", [(s, kind, batch, now, now) for s in serials])
            self.store.audit("supplies", "blanks-loaded", actor=actor, db=db, kind=kind, batch=batch,
                             count=len(serials), first=serials[0] if serials else "", last=serials[-1] if serials else "")
        return len(serials)

    def take(self, db: sqlite3.Connection, job_id: int, kinds: Sequence[str]) -> TakenBlank | None:
        """The next blank of the first kind in ``kinds`` that has one, now ``consumed`` by ``job_id``.

        Runs inside the caller's transaction (the one that marks the job submitted)."""
        for kind in kinds:
            row = db.execute("SELECT serial FROM blank_cards WHERE kind=? AND state='stock' ORDER BY serial LIMIT 1",
                             (kind,)).fetchone()
            if row is None:
                continue
            self._move(db, row[0], BlankState.STOCK, BlankState.CONSUMED, "", job_id=job_id)
            return TakenBlank(str(row[0]), kind)
        return None

    def take_serial(self, db: sqlite3.Connection, job_id: int, serial: str, kind: str) -> TakenBlank:
        """The blank ``serial`` (the one a KTP-el's encoder station read from the chip), now ``consumed`` by
        ``job_id``. ``BlankNotInStock`` when the journal has no such blank of ``kind`` in stock: a serial outside
        the loaded batches, one already printed or spoiled, or another kind's. Runs inside the caller's transaction."""
        row = db.execute("SELECT kind, state FROM blank_cards WHERE serial=?", (serial,)).fetchone()
        if row is None or row[0] != kind or row[1] != BlankState.STOCK.value:
            raise BlankNotInStock(serial, "not in any loaded batch" if row is None else
                                  f"a {row[0]} blank" if row[0] != kind else f"already {row[1]}",
                                  None if row is None else row[1])
        self._move(db, serial, BlankState.STOCK, BlankState.CONSUMED, "", job_id=job_id)
        return TakenBlank(serial, kind)

    def printed(self, db: sqlite3.Connection, serial: str, job_id: int) -> None:
        self._move(db, serial, BlankState.CONSUMED, BlankState.PRINTED, "", job_id=job_id)

    def spoiled(self, db: sqlite3.Connection, serial: str, job_id: int, note: str) -> None:
        """A blank its job consumed without a citizen's card to show: jammed, failed, or a test card."""
        self._move(db, serial, BlankState.CONSUMED, BlankState.SPOILED, note, job_id=job_id)

    def returned(self, db: sqlite3.Connection, serial: str, job_id: int) -> BlankState:
        """Back to stock: the job never reached the printer, so the card is still in the hopper; unless its chip
        was written (``chip_written``): that card holds a citizen's data and is spoiled. Returns the new state."""
        row = db.execute("SELECT chip_written_at FROM blank_cards WHERE serial=?", (serial,)).fetchone()
        if row is not None and row[0] is not None:
            self._move(db, serial, BlankState.CONSUMED, BlankState.SPOILED,
                       f"chip written for job {job_id}, never printed: not back to stock", job_id=job_id)
            return BlankState.SPOILED
        self._move(db, serial, BlankState.CONSUMED, BlankState.STOCK,
                   f"back to stock: job {job_id} never reached the printer", job_id=job_id, release=True)
        return BlankState.STOCK

    def chip_written(self, serial: str, job_id: int) -> None:
        """Written down *before* the encoder writes the chip of the blank ``job_id`` consumed: from then on the
        blank never goes back to stock (a crash mid-write, recovery, a re-check, a technician's settle)."""
        with self.store.tx() as db:
            cur = db.execute("UPDATE blank_cards SET chip_written_at=?, updated_at=? WHERE serial=? AND state=? "
                             "AND job_id=?", (time.time(), time.time(), serial, BlankState.CONSUMED.value, job_id))
            if cur.rowcount != 1:
                raise BlankStateError(f"blank {serial} is not consumed by job {job_id}")

    def damaged(self, serial: str, actor: str, reason: str) -> None:
        """A blank found damaged in the hopper, taken out by a technician: spoiled, with why."""
        with self.store.tx() as db:
            self._move(db, serial, BlankState.STOCK, BlankState.SPOILED, f"removed by {actor}: {reason}")
            self.store.audit("supplies", "blank-spoiled", actor=actor, db=db, serial=serial, reason=reason)

    def settle_orphans(self) -> int:
        """Blanks left ``consumed`` by no job: a journal from before migration 5 let a self-test take a blank
        without a job, and a kill -9 mid-test left it so for good. Nobody can say if the card came out: a test
        card is spoiled either way. Returns how many were settled (start-up recovery)."""
        with self.store.tx() as db:
            orphans = [r[0] for r in db.execute("SELECT serial FROM blank_cards WHERE state='consumed' AND job_id IS NULL")]
            for serial in orphans:
                self._move(db, serial, BlankState.CONSUMED, BlankState.SPOILED,
                           "taken by a self-test that never finished (journal before jobs for self-tests)")
            if orphans:
                self.store.audit("supplies", "orphan-blanks-spoiled", db=db, count=len(orphans), serials=orphans[:20])
        return len(orphans)

    def _move(self, db: sqlite3.Connection, serial: str, old: BlankState, new: BlankState, note: str,
              job_id: int | None = None, release: bool = False) -> None:
        """One check-and-set transition; ``job_id`` (when given) must own the blank unless it is taken from stock."""
        now = time.time()
        owner = "" if old is BlankState.STOCK or job_id is None else " AND job_id IS ?"
        args: tuple[object, ...] = (new.value, now, note[:NOTE_MAX])
        sets = "state=?, updated_at=?, note=?"
        if release:
            sets += ", job_id=NULL"
        elif old is BlankState.STOCK and job_id is not None:
            sets += ", job_id=?"
            args += (job_id,)
        where: tuple[object, ...] = (serial, old.value) + ((job_id,) if owner else ())
        cur = db.execute(f"UPDATE blank_cards SET {sets} WHERE serial=? AND state=?{owner}", args + where)
        if cur.rowcount != 1:
            raise BlankStateError(f"blank {serial} is not {old.value}{f' for job {job_id}' if owner else ''}")


# -- the daily blank report's numbers (kiosk/staff/blank_report.py): a read, never a write --------------------

@dataclass(frozen=True)
class BlankMovement:
    """One kind's blanks over ``[start, end)``: ``opening + loaded - printed - spoiled == remaining``.

    ``remaining`` counts every blank loaded before ``end`` and not yet printed or spoiled then (one a job
    had in flight at that moment included: it is still the kiosk's). Printed and spoiled are final states,
    so a closed period's numbers never change afterwards."""

    kind: str
    opening: int
    loaded: int
    printed: int
    spoiled: int
    remaining: int

    @property
    def balanced(self) -> bool:
        return self.opening + self.loaded - self.printed - self.spoiled == self.remaining


def blank_movements(store: Store, start: float, end: float, kinds: Sequence[str] = BLANK_KINDS) -> list[BlankMovement]:
    """Per kind (``kinds`` first, then any other the journal holds), the blanks that moved in ``[start, end)``."""
    rows = store.query(
        "SELECT kind,"
        " SUM(loaded_at < :s AND NOT (state IN ('printed','spoiled') AND updated_at < :s)),"
        " SUM(loaded_at >= :s AND loaded_at < :e),"
        " SUM(state = 'printed' AND updated_at >= :s AND updated_at < :e),"
        " SUM(state = 'spoiled' AND updated_at >= :s AND updated_at < :e),"
        " SUM(loaded_at < :e AND NOT (state IN ('printed','spoiled') AND updated_at < :e))"
        " FROM blank_cards GROUP BY kind", {"s": start, "e": end})
    counts = {r[0]: tuple(int(v or 0) for v in tuple(r)[1:]) for r in rows}
    order = [*kinds, *sorted(set(counts) - set(kinds))]
    return [BlankMovement(kind, *counts.get(kind, (0, 0, 0, 0, 0))) for kind in order]
