"""Technician accounts, login lockout and the short-lived technician session.

Passwords are hashed with argon2id (memory-hard: a stolen journal cannot be brute-forced
cheaply) and never stored or logged in clear. Failed logins are counted per technician ID
and for the whole kiosk, in the journal, so a guesser is stopped across restarts and an
unknown ID is treated exactly like a known one (no way to probe which IDs exist).

The session is server-side: the browser holds only a random token (its SHA-256 is kept in
memory); it dies after ``idle_s`` without activity or ``max_age_s`` in all, and with the
process. One technician session at a time: the kiosk has one screen.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kiosk.journal.store import Store

ID_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]{1,31}", re.ASCII)
# Characters the on-screen keyboard offers: a password must be typeable on the touchscreen.
KEYBOARD_CHARS = frozenset(string.ascii_letters + string.digits + "-_.@#!?*+=/")
MIN_PASSWORD = 10
KIOSK_KEY = "kiosk"


class AccountError(ValueError):
    """A refused account operation; the message is for the technician's administrator."""


@dataclass(frozen=True)
class LoginPolicy:
    max_failures_per_id: int = 5
    id_lockout_s: int = 900
    max_failures_per_kiosk: int = 20
    kiosk_window_s: int = 600
    kiosk_lockout_s: int = 300


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


def normalize_id(raw: str) -> str:
    return raw.strip().upper()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    bad = sorted(set(password) - KEYBOARD_CHARS)
    if bad:
        raise AccountError("the password has characters the on-screen keyboard cannot type: "
                           + " ".join(repr(c) for c in bad))


class TechnicianAccounts:
    def _dummy(self) -> str:
        """A hash to verify against for unknown IDs: the same work as for a known one."""
        if not self._dummy_hash:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    def __init__(self, store: Store, policy: LoginPolicy | None = None, hasher: PasswordHasher | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.policy = policy or LoginPolicy()
        self.hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile (64 MiB, t=3)
        self._now = clock
        self._dummy_hash = ""  # made at the first login: argon2id takes 64 MiB, citizen service need not carry it

    # -- administration (adm-kiosk technician ...) ---------------------------------------

    def add(self, tech_id: str, password: str, name: str = "", actor: str = "cli") -> str:
        tid = normalize_id(tech_id)
        if not ID_RE.fullmatch(tid):
            raise AccountError("a technician ID has 2-32 letters, digits, '.', '_' or '-'")
        check_password(password)
        now = self._now()
        digest = self.hasher.hash(password)
        with self.store.tx() as db:
            if db.execute("SELECT 1 FROM technicians WHERE id=?", (tid,)).fetchone():
                raise AccountError(f"technician {tid} exists already")
            db.execute("INSERT INTO technicians(id, name, password_hash, created_at, updated_at) VALUES (?,?,?,?,?)",
                       (tid, name.strip(), digest, now, now))
            self.store.audit("maintenance", "technician-added", actor=actor, db=db, technician=tid)
        return tid

    def set_password(self, tech_id: str, password: str, actor: str = "cli") -> None:
        tid = normalize_id(tech_id)
        check_password(password)
        digest = self.hasher.hash(password)
        with self.store.tx() as db:
            cur = db.execute("UPDATE technicians SET password_hash=?, updated_at=? WHERE id=?", (digest, self._now(), tid))
            if cur.rowcount == 0:
                raise AccountError(f"no technician {tid}")
            db.execute("DELETE FROM technician_attempts WHERE key=?", (f"id:{tid}",))
            self.store.audit("maintenance", "technician-password-set", actor=actor, db=db, technician=tid)

    def remove(self, tech_id: str, actor: str = "cli") -> None:
        tid = normalize_id(tech_id)
        with self.store.tx() as db:
            if db.execute("DELETE FROM technicians WHERE id=?", (tid,)).rowcount == 0:
                raise AccountError(f"no technician {tid}")
            db.execute("DELETE FROM technician_attempts WHERE key=?", (f"id:{tid}",))
            self.store.audit("maintenance", "technician-removed", actor=actor, db=db, technician=tid)

    def unlock(self, tech_id: str, actor: str = "cli") -> None:
        tid = normalize_id(tech_id)
        with self.store.tx() as db:
            db.execute("DELETE FROM technician_attempts WHERE key IN (?, ?)", (f"id:{tid}", KIOSK_KEY))
            self.store.audit("maintenance", "technician-unlocked", actor=actor, db=db, technician=tid)

    def list(self) -> list[Technician]:
        return [Technician(r[0], r[1], r[2], r[3]) for r in
                self.store.query("SELECT id, name, created_at, last_login_at FROM technicians ORDER BY id")]

    # -- login ---------------------------------------------------------------------------

    def locked_for(self, tech_id: str) -> int:
        """Seconds of lockout left for this ID (or the whole kiosk); 0 when a login may be tried."""
        now = self._now()
        row = self.store.query_one("SELECT MAX(locked_until) FROM technician_attempts WHERE key IN (?, ?)",
                                   (f"id:{normalize_id(tech_id)}", KIOSK_KEY))
        until = row[0] if row and row[0] else 0.0
        return max(0, int(until - now + 0.999))

    def login(self, tech_id: str, password: str) -> LoginResult:
        """Checks a password; a wrong one counts towards the ID's and the kiosk's lockout."""
        tid = normalize_id(tech_id)
        locked = self.locked_for(tid)
        if locked:
            self.store.audit("security", "technician-login-refused", actor=_safe_actor(tid), reason="locked")
            return LoginResult(False, locked_s=locked)
        row = self.store.query_one("SELECT password_hash FROM technicians WHERE id=?", (tid,)) if ID_RE.fullmatch(tid) else None
        ok = False
        try:
            ok = self.hasher.verify(row[0] if row else self._dummy(), password) and row is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if ok:
            with self.store.tx() as db:
                db.execute("DELETE FROM technician_attempts WHERE key=?", (f"id:{tid}",))
                db.execute("UPDATE technicians SET last_login_at=? WHERE id=?", (self._now(), tid))
                if row and self.hasher.check_needs_rehash(row[0]):
                    db.execute("UPDATE technicians SET password_hash=? WHERE id=?", (self.hasher.hash(password), tid))
                self.store.audit("security", "technician-login", actor=tid, db=db)
            return LoginResult(True, tid)
        return self._failure(tid)

    def _failure(self, tid: str) -> LoginResult:
        now = self._now()
        p = self.policy
        tries_left = 0
        locked = 0
        with self.store.tx() as db:
            for key, limit, window, lock_s in ((f"id:{tid}", p.max_failures_per_id, p.id_lockout_s, p.id_lockout_s),
                                               (KIOSK_KEY, p.max_failures_per_kiosk, p.kiosk_window_s, p.kiosk_lockout_s)):
                row = db.execute("SELECT failures, window_start FROM technician_attempts WHERE key=?", (key,)).fetchone()
                failures, start = (row[0], row[1]) if row and now - row[1] <= window else (0, now)
                failures += 1
                until = now + lock_s if failures >= limit else 0.0
                if key != KIOSK_KEY:
                    tries_left = max(0, limit - failures)
                if until:
                    locked = max(locked, lock_s)
                    failures, start = 0, now
                db.execute("INSERT INTO technician_attempts(key, failures, window_start, locked_until) VALUES (?,?,?,?) "
                           "ON CONFLICT(key) DO UPDATE SET failures=excluded.failures, window_start=excluded.window_start, "
                           "locked_until=MAX(locked_until, excluded.locked_until)", (key, failures, start, until))
            self.store.audit("security", "technician-login-failed", actor=_safe_actor(tid), db=db,
                             lockout=bool(locked))
        return LoginResult(False, locked_s=locked, tries_left=tries_left)


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
