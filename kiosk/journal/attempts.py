"""The attempt limiter: the one owner of login and PIN attempt counts (citizen PINs, technician passwords).

Why: a guess is cheap for the guesser and costly for the citizen (a one-time PIN) or the
regency (a technician account). Every guess is counted per subject (a NIK's keyed hash, a
technician ID) and kiosk-wide, in the journal, so a guesser is stopped across restarts.
No PIN, password or NIK is ever held here: subjects are keyed hashes or technician IDs.

An attempt is *reserved* before the verifier (central, or the argon2 hash) is asked, in
one ``BEGIN IMMEDIATE`` transaction that checks and sets together, then *settled*:

    free --reserve--> reserved --succeeded--> the subject's counters cleared (kiosk-wide ones kept)
                         |------failed------> one failure counted (the limit reached: locked)
                         |-----released-----> nothing counted (the verifier gave no verdict)
                         '---ttl lapses-----> counted as a failure (the process died mid-attempt)

A ``lock`` limit refuses a reservation while it is locked, or when its failures in the
window plus its live reservations already reach ``max_failures``. A ``slow`` limit never
refuses: past ``max_failures`` each attempt waits a delay that doubles per failure, up to
``max_delay_s`` (so guessing across made-up technician IDs slows down without ever locking
the real accounts out).

Invariant: for each ``lock`` limit and key, failures in the window + live reservations
<= ``max_failures``; so between two lockouts the verifier never sees more than
``max_failures`` attempts for one subject, however many requests arrive at once.

Tables (journal migration 6): ``attempt_counters`` (scope ``<kind>:<limit>``, key, failures
in the window, lockout) and ``attempt_reservations`` (one row per limit of each attempt in
flight); stale counters are pruned at each settlement. Two processes on one journal are
ordered by ``BEGIN IMMEDIATE``, threads of one process also by a lock.

What can go wrong: a journal that cannot be written (full disk, read-only, busy). Then the
same check-and-set runs on an in-memory overlay added to what the journal still reads
(this process only, under a lock), and lockouts are logged instead of audited: counting
degrades, but a technician can still log in to see the fault. The overlay is not written
back: a restart during the fault forgets it. A settlement the journal refuses leaves the
journal's reservation to lapse into a failure: the safe direction.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.base import AdmError
from kiosk.config import PinSection
from kiosk.journal.store import Store

log = logging.getLogger(__name__)

KIOSK_KEY = "kiosk"
Reader = Callable[[str, tuple[Any, ...]], list[Any]]  # runs a SELECT: inside a transaction, or Store.query
RESERVATION_TTL_S = 120.0  # longer than any central redeem with its retries, or a hash plus the longest delay


@dataclass(frozen=True)
class Limit:
    """One counter. ``per_subject``: keyed by the subject, else one kiosk-wide counter.
    ``lockout_s`` > 0 makes it a ``lock`` limit; otherwise it is ``slow`` (``base_delay_s`` doubling)."""

    name: str  # "nik", "id", "kiosk": what a lockout names to the UI
    max_failures: int
    window_s: float
    per_subject: bool = True
    lockout_s: float = 0.0
    base_delay_s: float = 0.0
    max_delay_s: float = 0.0

    def delay(self, counted: int) -> float:
        """The wait for an attempt when ``counted`` failures and reservations are already in."""
        if self.lockout_s or counted < self.max_failures:
            return 0.0
        return min(self.max_delay_s, self.base_delay_s * 2.0 ** min(counted - self.max_failures, 30))


@dataclass(frozen=True)
class Lockout:
    scope: str  # the limit's name: "nik" | "kiosk" for PINs, "id" for technicians
    until: float

    @property
    def seconds_left(self) -> int:
        return max(0, int(self.until - time.time() + 0.999))


class AttemptRefused(AdmError):
    """No reservation: ``lockout`` when a limit is locked, None when attempts in flight already fill it."""

    code = "attempts-refused"

    def __init__(self, lockout: Lockout | None) -> None:
        super().__init__(lockout.scope if lockout else "pending")
        self.lockout = lockout


@dataclass(frozen=True)
class Reservation:
    id: str
    subject: str
    journaled: bool  # False: held in the in-memory overlay (the journal could not be written)
    delay_s: float = 0.0


@dataclass
class _Count:
    failures: int = 0
    window_start: float = 0.0
    locked_until: float = 0.0
    reserved: dict[str, float] = field(default_factory=dict)  # live reservation id -> expires at


class AttemptLimiter:
    """Attempts of one ``kind`` ("pin", "technician") against its limits; the only writer of the attempt tables."""

    def __init__(self, store: Store, kind: str, limits: list[Limit], clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, ttl_s: float = RESERVATION_TTL_S) -> None:
        self.store = store
        self.kind = kind
        self.limits = limits
        self._now = clock
        self._sleep = sleep
        self.ttl_s = ttl_s
        self._lock = threading.Lock()  # orders reservations in this process, journal and overlay alike
        self._memory: dict[tuple[str, str], _Count] = {}

    def _scope(self, limit: Limit) -> str:
        return f"{self.kind}:{limit.name}"

    def _keys(self, subject: str) -> list[tuple[Limit, str]]:
        """Each limit with the key it counts under, kiosk-wide limits first (their lockout is named first)."""
        return sorted(((limit, subject if limit.per_subject else KIOSK_KEY) for limit in self.limits),
                      key=lambda lk: lk[0].per_subject)

    # -- counters --------------------------------------------------------------------------

    def _journal(self, read: Reader, limit: Limit, key: str, now: float) -> _Count:
        """The journal's own counter (empty when the journal cannot be read)."""
        c = _Count()
        try:
            rows = read("SELECT failures, window_start, locked_until FROM attempt_counters WHERE scope=? AND key=?",
                        (self._scope(limit), key))
            live = read("SELECT id, expires_at FROM attempt_reservations WHERE scope=? AND key=? AND expires_at > ?",
                        (self._scope(limit), key, now))
        except sqlite3.DatabaseError:
            return c
        if rows:
            c.failures, c.window_start, c.locked_until = rows[0][0], rows[0][1], rows[0][2]
            if now - c.window_start > limit.window_s:
                c.failures = 0
        c.reserved = {r[0]: r[1] for r in live}
        return c

    def _mem(self, limit: Limit, key: str, now: float) -> _Count:
        c = self._memory.setdefault((self._scope(limit), key), _Count(window_start=now))
        if now - c.window_start > limit.window_s:
            c.failures, c.window_start = 0, now
        c.reserved = {r: e for r, e in c.reserved.items() if e > now}
        return c

    def _view(self, read: Reader, limit: Limit, key: str, now: float) -> _Count:
        """Journal and in-memory overlay together: what the limit is judged on."""
        j, m = self._journal(read, limit, key, now), self._mem(limit, key, now)
        return _Count(j.failures + m.failures, max(j.window_start, m.window_start), max(j.locked_until, m.locked_until),
                      {**j.reserved, **m.reserved})

    def lockout(self, subject: str) -> Lockout | None:
        """The lockout in force for this subject, if any (kiosk-wide first)."""
        now = self._now()
        with self._lock:
            for limit, key in self._keys(subject):
                c = self._view(self.store.query, limit, key, now)
                if limit.lockout_s and c.locked_until > now:
                    return Lockout(limit.name, c.locked_until)
        return None

    def tries_left(self, subject: str) -> int:
        """Attempts this subject may still make before its own limit locks it."""
        now = self._now()
        with self._lock:
            left = [0 if c.locked_until > now else max(0, limit.max_failures - c.failures - len(c.reserved))
                    for limit, key in self._keys(subject) if limit.per_subject and limit.lockout_s
                    for c in [self._view(self.store.query, limit, key, now)]]
        return min(left, default=0)

    # -- reserve ---------------------------------------------------------------------------

    def reserve(self, subject: str) -> Reservation:
        """Reserves one attempt for ``subject`` or raises ``AttemptRefused``; waits a ``slow`` limit's delay."""
        rid = secrets.token_hex(12)
        now = self._now()
        with self._lock:
            try:
                with self.store.tx() as db:
                    lapsed = [self._lapse(db, limit, key, now) for limit, key in self._keys(subject)]
                    lock, full, delay = self._decide(_reader(db), subject, now)
                    if not full:
                        for limit, key in self._keys(subject):
                            db.execute("INSERT INTO attempt_reservations(id, scope, key, expires_at) VALUES (?,?,?,?)",
                                       (rid, self._scope(limit), key, now + self.ttl_s))
                    self._audit(db, next((c for c in lapsed if c), None))
                journaled = True
            except sqlite3.DatabaseError as exc:
                log.warning("%s attempts: the journal cannot be written (%s); counting in memory", self.kind,
                            getattr(exc, "sqlite_errorname", type(exc).__name__))
                lock, full, delay = self._decide(self.store.query, subject, now)
                if not full:
                    for limit, key in self._keys(subject):
                        self._mem(limit, key, now).reserved[rid] = now + self.ttl_s
                journaled = False
        if full:
            raise AttemptRefused(lock)
        if delay:
            self._sleep(delay)
        return Reservation(rid, subject, journaled, delay)

    def _decide(self, read: Reader, subject: str, now: float) -> tuple[Lockout | None, bool, float]:
        """(the lockout in force, whether a reservation is refused, the delay) for one more attempt."""
        full = False
        delay = 0.0
        for limit, key in self._keys(subject):
            c = self._view(read, limit, key, now)
            counted = c.failures + len(c.reserved)
            if limit.lockout_s:
                if c.locked_until > now:
                    return Lockout(limit.name, c.locked_until), True, 0.0
                full = full or counted >= limit.max_failures
            else:
                delay = max(delay, limit.delay(counted))
        return None, full, delay

    def _lapse(self, db: sqlite3.Connection, limit: Limit, key: str, now: float) -> Lockout | None:
        """Reservations whose process died before settling count as failures: the verifier may have been asked."""
        n = db.execute("DELETE FROM attempt_reservations WHERE scope=? AND key=? AND expires_at <= ?",
                       (self._scope(limit), key, now)).rowcount
        return self._count_failures(db, limit, key, now, n) if n else None

    # -- settle ----------------------------------------------------------------------------

    def succeeded(self, r: Reservation) -> None:
        """The verifier said yes: the subject's counters start again; kiosk-wide counts stay."""
        self._settle(r, "succeeded")

    def failed(self, r: Reservation) -> Lockout | None:
        """The verifier said no: one failure; returns the lockout it caused, if any."""
        return self._settle(r, "failed")

    def released(self, r: Reservation) -> None:
        """The verifier gave no verdict (central unreachable, garbage): the attempt does not count."""
        self._settle(r, "released")

    def _settle(self, r: Reservation, outcome: str) -> Lockout | None:
        now = self._now()
        with self._lock:
            for limit, key in self._keys(r.subject):
                self._mem(limit, key, now).reserved.pop(r.id, None)
            reset: list[tuple[str, str]] = []  # overlay counters the journal row now stands for
            try:
                with self.store.tx() as db:
                    caused = None
                    for limit, key in self._keys(r.subject):
                        scope = self._scope(limit)
                        live = db.execute("DELETE FROM attempt_reservations WHERE id=? AND scope=? AND key=?",
                                          (r.id, scope, key)).rowcount
                        lock = self._lapse(db, limit, key, now)
                        if outcome == "succeeded" and limit.per_subject:
                            db.execute("DELETE FROM attempt_counters WHERE scope=? AND key=?", (scope, key))
                            reset.append((scope, key))
                        elif outcome == "failed" and (live or not r.journaled):  # a lapsed one counted already
                            lock = self._count_failures(db, limit, key, now, 1) or lock
                        if lock:
                            reset.append((scope, key))
                        caused = caused or lock
                    self._audit(db, caused)
                    self._prune(db, now)
            except sqlite3.DatabaseError:
                return self._settle_in_memory(r, outcome, now)
            for scope_key in reset:  # only once committed: a rolled-back settlement must leave the overlay whole
                mem = self._memory.get(scope_key)
                if mem:
                    mem.failures = 0
            return caused

    def _count_failures(self, db: sqlite3.Connection, limit: Limit, key: str, now: float, n: int) -> Lockout | None:
        j, m = self._journal(_reader(db), limit, key, now), self._mem(limit, key, now)
        if not j.failures:
            j.window_start = now
        j.failures += n
        caused = None
        if limit.lockout_s and j.failures + m.failures >= limit.max_failures:
            j.failures, j.window_start, j.locked_until = 0, now, now + limit.lockout_s
            caused = Lockout(limit.name, j.locked_until)
        db.execute("INSERT INTO attempt_counters(scope, key, failures, window_start, locked_until) VALUES (?,?,?,?,?) "
                   "ON CONFLICT(scope, key) DO UPDATE SET failures=excluded.failures, window_start=excluded.window_start, "
                   "locked_until=MAX(locked_until, excluded.locked_until)",
                   (self._scope(limit), key, j.failures, j.window_start, j.locked_until))
        return caused

    def _settle_in_memory(self, r: Reservation, outcome: str, now: float) -> Lockout | None:
        caused = None
        for limit, key in self._keys(r.subject):
            m = self._mem(limit, key, now)
            if outcome == "succeeded" and limit.per_subject:
                m.failures = 0
            elif outcome == "failed":
                m.failures += 1
                if limit.lockout_s and self._view(self.store.query, limit, key, now).failures >= limit.max_failures:
                    m.failures, m.locked_until = 0, now + limit.lockout_s
                    caused = caused or Lockout(limit.name, m.locked_until)
        if caused:
            log.warning("security %s-lockout scope=%s (not journaled: the journal cannot be written)",
                        self.kind, caused.scope)
        return caused

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        """Retention: counters neither locked nor inside a window any more hold nothing worth keeping."""
        oldest = max(limit.window_s for limit in self.limits)
        db.execute("DELETE FROM attempt_counters WHERE scope LIKE ? AND locked_until < ? AND window_start < ?",
                   (f"{self.kind}:%", now, now - oldest))

    def _audit(self, db: sqlite3.Connection, caused: Lockout | None) -> None:
        if caused:
            self.store.audit("security", f"{self.kind}-lockout", db=db, scope=caused.scope)

    # -- administration --------------------------------------------------------------------

    def clear(self, db: sqlite3.Connection, subject: str, kiosk_wide: bool = False) -> None:
        """Forgets a subject's counts in the caller's transaction (a technician unlocked, removed, re-keyed)."""
        with self._lock:
            for limit, key in self._keys(subject):
                if limit.per_subject or kiosk_wide:
                    self._memory.pop((self._scope(limit), key), None)
                    db.execute("DELETE FROM attempt_counters WHERE scope=? AND key=?", (self._scope(limit), key))

    def lift_kiosk_wide(self, actor: str) -> bool:
        """Forgets the kiosk-wide counts (central staff lifted the lockout); per-subject ones stay untouched.

        Returns whether a kiosk-wide lockout was in force. A NIK or technician locked on its
        own stays locked: lifting it remotely would hand a guesser new tries at one person.
        """
        now = self._now()
        with self._lock, self.store.tx() as db:
            scopes = [self._scope(limit) for limit in self.limits if not limit.per_subject]
            locked = False
            for scope in scopes:
                self._memory.pop((scope, KIOSK_KEY), None)
                locked |= db.execute("DELETE FROM attempt_counters WHERE scope=? AND key=? AND locked_until > ?",
                                     (scope, KIOSK_KEY, now)).rowcount > 0
                db.execute("DELETE FROM attempt_counters WHERE scope=? AND key=?", (scope, KIOSK_KEY))
            self.store.audit("security", f"{self.kind}-kiosk-lockout-lifted", actor=actor, db=db, was_locked=locked)
        return locked


def _reader(db: sqlite3.Connection) -> Reader:
    return lambda sql, args: db.execute(sql, args).fetchall()


class PinPolicy(AttemptLimiter):
    """Citizen PINs: per NIK (its keyed hash) and per kiosk, both locking, from ``[pins]``."""

    def __init__(self, store: Store, cfg: PinSection, clock: Callable[[], float] = time.time) -> None:
        super().__init__(store, "pin", [
            Limit("nik", cfg.max_failures_per_nik, cfg.nik_lockout_s, lockout_s=cfg.nik_lockout_s),
            Limit("kiosk", cfg.max_failures_per_kiosk, cfg.kiosk_window_s, per_subject=False,
                  lockout_s=cfg.kiosk_lockout_s),
        ], clock)
