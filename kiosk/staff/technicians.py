"""Technician accounts, login attempts and the short-lived technician session.

Passwords are hashed with argon2id (memory-hard: a stolen journal cannot be brute-forced
cheaply) and never stored or logged in clear. Login attempts go through the attempt limiter
(kiosk/journal/attempts.py): reserved before the hash is checked, so a burst of parallel
guesses gets no more tries than one guess after another. Per technician ID a few failures
lock that ID; kiosk-wide, failures only slow every further login (a growing delay), so
guesses under made-up IDs never lock the real accounts out. An unknown ID costs the same
argon2 work and counts the same as a known one (no way to probe which IDs exist): the dummy
hash it is checked against is made with the same hasher.

The argon2id parameters are one of the OWASP Password Storage Cheat Sheet's settings,
m=12 MiB (12288 KiB), t=3, p=1 (``password_hasher``; the sheet lists it as equivalent to its
m=19 MiB, t=2, p=1). argon2-cffi's default (RFC 9106's low-memory profile, 64 MiB, t=3) took
the kiosk's peak RSS from about 115 to 190 MB at the first login, past its 150 MB budget;
19 MiB left it at 147 MB, 12 MiB at 140 MB (bench/bench_memory.py). Hashes made with other
parameters (the old default) still verify, since each hash carries its own, and are rehashed
with these at the next successful login; that one login still peaks as the old parameters did.
What can go wrong: raising ``memory_cost`` raises the kiosk's peak by as much at every login.

A technician must get in exactly when the journal is broken (a full disk): then attempts
are counted in memory and the audit lines go to the log (what can go wrong: a restart
during the fault forgets those counts).

The session is server-side: the browser holds only a random token (its SHA-256 is kept in
memory); it dies after ``idle_s`` without activity or ``max_age_s`` in all, and with the
process. One technician session at a time: the kiosk has one screen.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from drivers.base import AdmError
from kiosk.journal.attempts import AttemptLimiter, AttemptRefused, Limit, Lockout
from kiosk.journal.store import Store

log = logging.getLogger(__name__)
ID_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]{1,31}", re.ASCII)
# Characters the on-screen keyboard offers: a password must be typeable on the touchscreen.
KEYBOARD_CHARS = frozenset(string.ascii_letters + string.digits + "-_.@#!?*+=/")
MIN_PASSWORD = 10
# An operator (front-desk staff) signs in on the citizen screens to help one citizen (kiosk/staff/assisted.py); only a
# technician enters maintenance. A login names the role it is for: an account of the other role is refused exactly
# like an unknown ID (the same argon2 work, the same count).
ROLES = ("technician", "operator")


class AccountError(AdmError, ValueError):
    """A refused account operation; the message is for the technician's administrator."""

    code = "account-refused"


@dataclass(frozen=True)
class LoginPolicy:
    max_failures_per_id: int = 5
    id_lockout_s: int = 900
    max_failures_per_kiosk: int = 20  # kiosk-wide, in the window: past it every login waits, none is locked
    kiosk_window_s: int = 600
    kiosk_delay_s: float = 1.0  # the first delay, doubled per further failure
    kiosk_max_delay_s: float = 8.0

    def limits(self) -> list[Limit]:
        return [Limit("id", self.max_failures_per_id, self.id_lockout_s, lockout_s=self.id_lockout_s),
                Limit("kiosk", self.max_failures_per_kiosk, self.kiosk_window_s, per_subject=False,
                      base_delay_s=self.kiosk_delay_s, max_delay_s=self.kiosk_max_delay_s)]


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    technician: str = ""
    locked_s: int = 0  # > 0: refused because of a lockout, this long still
    tries_left: int = 0


@dataclass(frozen=True)
class Technician:
    id: str
    name: str
    created_at: float
    last_login_at: float | None
    role: str = "technician"


def normalize_id(raw: str) -> str:
    return raw.strip().upper()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    bad = sorted(set(password) - KEYBOARD_CHARS)
    if bad:
        raise AccountError("the password has characters the on-screen keyboard cannot type: "
                           + " ".join(repr(c) for c in bad))


def password_hasher() -> PasswordHasher:
    """argon2id with OWASP's m=12 MiB, t=3, p=1 (the module docstring says why)."""
    return PasswordHasher(time_cost=3, memory_cost=12 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


class TechnicianAccounts:
    def _dummy(self) -> str:
        """A hash to verify against for unknown IDs: the same work as for a known one."""
        if not self._dummy_hash:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    def __init__(self, store: Store, policy: LoginPolicy | None = None, hasher: PasswordHasher | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.policy = policy or LoginPolicy()
        self.hasher = hasher or password_hasher()
        self._now = clock
        self.attempts = AttemptLimiter(store, "technician", self.policy.limits(), clock, sleep)
        self._dummy_hash = ""  # made at the first login with self.hasher: the same parameters as real accounts

    # -- administration (adm-kiosk technician ...) ---------------------------------------

    def add(self, tech_id: str, password: str, name: str = "", actor: str = "cli", role: str = "technician") -> str:
        tid = normalize_id(tech_id)
        if role not in ROLES:
            raise AccountError(f"a role is one of {', '.join(ROLES)}")
        if not ID_RE.fullmatch(tid):
            raise AccountError("a technician ID has 2-32 letters, digits, '.', '_' or '-'")
        check_password(password)
        now = self._now()
        digest = self.hasher.hash(password)
        with self.store.tx() as db:
            if db.execute("SELECT 1 FROM technicians WHERE id=?", (tid,)).fetchone():
                raise AccountError(f"technician {tid} exists already")
            db.execute("INSERT INTO technicians(id, name, password_hash, created_at, updated_at, role) "
                       "VALUES (?,?,?,?,?,?)", (tid, name.strip(), digest, now, now, role))
            self.store.audit("maintenance", f"{role}-added", actor=actor, db=db, technician=tid)
        return tid

    def set_password(self, tech_id: str, password: str, actor: str = "cli") -> None:
        tid = normalize_id(tech_id)
        check_password(password)
        digest = self.hasher.hash(password)
        with self.store.tx() as db:
            cur = db.execute("UPDATE technicians SET password_hash=?, updated_at=? WHERE id=?", (digest, self._now(), tid))
            if cur.rowcount == 0:
                raise AccountError(f"no technician {tid}")
            self.attempts.clear(db, tid)
            self.store.audit("maintenance", "technician-password-set", actor=actor, db=db, technician=tid)

    def remove(self, tech_id: str, actor: str = "cli") -> None:
        tid = normalize_id(tech_id)
        with self.store.tx() as db:
            if db.execute("DELETE FROM technicians WHERE id=?", (tid,)).rowcount == 0:
                raise AccountError(f"no technician {tid}")
            self.attempts.clear(db, tid)
            self.store.audit("maintenance", "technician-removed", actor=actor, db=db, technician=tid)

    def unlock(self, tech_id: str, actor: str = "cli") -> None:
        tid = normalize_id(tech_id)
        with self.store.tx() as db:
            self.attempts.clear(db, tid, kiosk_wide=True)
            self.store.audit("maintenance", "technician-unlocked", actor=actor, db=db, technician=tid)

    def list(self) -> list[Technician]:
        return [Technician(r[0], r[1], r[2], r[3], r[4]) for r in
                self.store.query("SELECT id, name, created_at, last_login_at, role FROM technicians ORDER BY id")]

    # -- login ---------------------------------------------------------------------------

    def login(self, tech_id: str, password: str, role: str = "technician") -> LoginResult:
        """Checks a password for an account of ``role``; the attempt is reserved first (refused while the ID is
        locked), then settled."""
        tid = normalize_id(tech_id)
        dummy = self._dummy()  # made before the first lookup: known and unknown IDs pay the same work, from the first
        try:
            attempt = self.attempts.reserve(tid)
        except AttemptRefused as exc:
            self._audit("technician-login-refused", _safe_actor(tid), reason="locked" if exc.lockout else "pending")
            return LoginResult(False, locked_s=max(1, self._seconds_left(exc.lockout)) if exc.lockout else 1)
        try:
            row = self._account(tid, role)
            try:
                ok = self.hasher.verify(row[0] if row else dummy, password) and row is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
        except BaseException:
            self.attempts.released(attempt)
            raise
        if ok:
            self.attempts.succeeded(attempt)
            self._logged_in(tid, row[0] if row else "", password, role)
            return LoginResult(True, tid)
        lock = self.attempts.failed(attempt)
        self._audit("technician-login-failed", _safe_actor(tid), lockout=bool(lock))
        return LoginResult(False, locked_s=self._seconds_left(lock) if lock else 0,
                           tries_left=self.attempts.tries_left(tid))

    def _seconds_left(self, lock: Lockout) -> int:
        return max(0, int(lock.until - self._now() + 0.999))

    def _account(self, tid: str, role: str) -> sqlite3.Row | None:
        if not ID_RE.fullmatch(tid):
            return None
        return self.store.query_one("SELECT password_hash FROM technicians WHERE id=? AND role=?", (tid, role))

    def _logged_in(self, tid: str, digest: str, password: str, role: str) -> None:
        try:
            with self.store.tx() as db:
                db.execute("UPDATE technicians SET last_login_at=? WHERE id=?", (self._now(), tid))
                if self.hasher.check_needs_rehash(digest):
                    db.execute("UPDATE technicians SET password_hash=? WHERE id=?", (self.hasher.hash(password), tid))
                self.store.audit("security", f"{role}-login", actor=tid, db=db)
        except sqlite3.DatabaseError:
            log.warning("audit (not journaled): security %s-login actor=%s", role, tid)

    def _audit(self, event: str, actor: str, **detail: object) -> None:
        """An audit line in the journal, or in the log while the journal cannot be written."""
        try:
            self.store.audit("security", event, actor=actor, **detail)
        except sqlite3.DatabaseError:
            log.warning("audit (not journaled): security %s actor=%s %s", event, actor,
                        " ".join(f"{k}={v}" for k, v in sorted(detail.items())))


def _safe_actor(tid: str) -> str:
    """What a failed login is audited under: the typed ID if it looks like one (never a password typed in the ID field)."""
    return tid if ID_RE.fullmatch(tid) else "?"


@dataclass
class TechSession:
    technician: str
    token_hash: str
    started: float
    last_seen: float


class TechnicianSessions:
    """The one technician session, server-side. ``expired`` names why it ended, for the audit."""

    def __init__(self, idle_s: float = 300.0, max_age_s: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self._now = clock
        self._lock = threading.Lock()
        self._current: TechSession | None = None

    def open(self, technician: str) -> str:
        """A new session (replacing any other); returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._lock:
            self._current = TechSession(technician, _digest(token), now, now)
        return token

    def check(self, token: str | None, touch: bool = True) -> str | None:
        """The technician ID for a live token, else None."""
        if not token:
            return None
        with self._lock:
            s = self._current
            if s is None or not hmac.compare_digest(s.token_hash, _digest(token)):
                return None
            now = self._now()
            if now - s.last_seen > self.idle_s or now - s.started > self.max_age_s:
                return None
            if touch:
                s.last_seen = now
            return s.technician

    def expired(self) -> tuple[str, str] | None:
        """(technician, reason) when the current session timed out; the session is then dropped."""
        with self._lock:
            s = self._current
            if s is None:
                return None
            now = self._now()
            reason = "idle" if now - s.last_seen > self.idle_s else "max-age" if now - s.started > self.max_age_s else ""
            if not reason:
                return None
            self._current = None
            return s.technician, reason

    def close(self, token: str | None = None) -> str | None:
        """Ends the session (only the token's own, when a token is given); returns whose it was."""
        with self._lock:
            s = self._current
            if s is None or (token is not None and not hmac.compare_digest(s.token_hash, _digest(token))):
                return None
            self._current = None
            return s.technician

    @property
    def active(self) -> str | None:
        with self._lock:
            return self._current.technician if self._current else None

    def seconds_left(self) -> int:
        with self._lock:
            s = self._current
            if s is None:
                return 0
            now = self._now()
            return max(0, int(min(self.idle_s - (now - s.last_seen), self.max_age_s - (now - s.started))))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
