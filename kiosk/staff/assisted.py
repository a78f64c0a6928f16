"""Assisted mode: an operator signs in on the citizen screens to help one citizen; the only writer of
``assisted_sessions``.

The kiosk stays in citizen service (nothing here touches the service mode). State machine:
``active -> suspended`` (the citizen reached the PIN screen) ``-> active`` (the PIN step is
over) ... ``-> ended`` (the citizen's session ended, the operator finished, idle, restart).
Invariants: at most one live assisted session (the kiosk has one screen; a journal
constraint); every change is a check-and-set on the row's state in one transaction; while
``suspended`` no helper action is accepted (``helper_allowed``) and the session cannot be
resumed until the citizen's PIN step is over, so the helper's sign-in gives no power on
the PIN screen. The PIN itself never passes here.

The audit holds no personal data: the operator's ID, start and end, the screens passed (names
like ``pin``, ``documents``) and the outcome (how the citizen's session ended, documents
printed and failed). The citizen's session id is held in memory only, to end with it.
What can go wrong: a restart ends the assisted session ("restart"); a full journal refuses
the sign-in (the UI says so), never a half-written row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.citizen.staff_calls import SCREEN_RE, StaffCalls
from kiosk.journal.store import Store
from kiosk.staff.technicians import LoginResult, TechnicianAccounts

IDLE_S = 10 * 60  # an assisted session that has helped no citizen this long after the sign-in ends by itself
MAX_SCREENS = 64


@dataclass(frozen=True)
class Assisted:
    id: str
    operator: str
    state: str  # active | suspended
    started_at: float


class AssistedMode:
    def __init__(self, store: Store, accounts: TechnicianAccounts, calls: StaffCalls,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.accounts = accounts
        self.calls = calls
        self._now = clock
        self._lock = threading.Lock()
        self._token_hash = ""
        self._citizen: str | None = None  # the citizen session being helped (memory only)
        self._signed_in = clock()

    def live(self) -> Assisted | None:
        row = self.store.query_one("SELECT id, operator, state, started_at FROM assisted_sessions WHERE state != 'ended'")
        return Assisted(row[0], row[1], row[2], row[3]) if row else None

    def sign_in(self, operator_id: str, password: str) -> tuple[LoginResult, str | None, str]:
        """An operator's login (role ``operator`` only); returns the result, the cookie token and a refusal code
        (``busy`` while another operator assists)."""
        result = self.accounts.login(operator_id, password, role="operator")
        if not result.ok:
            return result, None, ""
        now = self._now()
        token = secrets.token_urlsafe(32)
        with self.store.tx() as db:
            if db.execute("SELECT 1 FROM assisted_sessions WHERE state != 'ended'").fetchone():
                return result, None, "busy"
            aid = secrets.token_hex(8)
            db.execute("INSERT INTO assisted_sessions(id, operator, state, started_at) VALUES (?,?,?,?)",
                       (aid, result.technician, "active", now))
            self.store.audit("assisted", "assisted-started", actor=result.technician, db=db, assisted=aid)
        with self._lock:
            self._token_hash = _digest(token)
            self._citizen = None
            self._signed_in = now
        self.calls.answered()
        return result, token, ""

    def is_helper(self, token: str | None) -> bool:
        """True when ``token`` is the live assisted session's (the operator's browser cookie)."""
        with self._lock:
            return bool(token and self._token_hash and hmac.compare_digest(self._token_hash, _digest(token)))

    def helper_allowed(self, token: str | None) -> bool:
        """A helper action counts only from the live session's own token and never while suspended."""
        live = self.live()
        return live is not None and live.state == "active" and self.is_helper(token)

    def seen(self, screen: str, citizen_session: str | None, on_pin_step: bool) -> None:
        """A citizen screen was shown while assisted: recorded among the screens passed; the PIN screen suspends."""
        live = self.live()
        if live is None or not SCREEN_RE.fullmatch(screen):
            return
        with self._lock:
            helped = self._citizen
            if citizen_session and helped is None:
                self._citizen = citizen_session
        if citizen_session and helped is not None and citizen_session != helped:
            self._end(self._outcome(helped))  # one citizen per assisted session: the next one is not helped
            return
        with self.store.tx() as db:
            row = db.execute("SELECT screens, state FROM assisted_sessions WHERE id=? AND state != 'ended'",
                             (live.id,)).fetchone()
            if row is None:
                return
            screens = json.loads(row[0])
            if (not screens or screens[-1] != screen) and len(screens) < MAX_SCREENS:
                screens.append(screen)
                db.execute("UPDATE assisted_sessions SET screens=? WHERE id=? AND state != 'ended'",
                           (json.dumps(screens), live.id))
            if on_pin_step and row[1] == "active":
                db.execute("UPDATE assisted_sessions SET state='suspended' WHERE id=? AND state='active'", (live.id,))
                self.store.audit("assisted", "assisted-suspended", actor=live.operator, db=db, assisted=live.id,
                                 screen=screen)

    def resume(self, token: str | None, on_pin_step: bool) -> bool:
        """The helper takes over again: only their own session, only once the citizen's PIN step is over."""
        live = self.live()
        if live is None or not self.is_helper(token) or on_pin_step:
            return False
        with self.store.tx() as db:
            ok = db.execute("UPDATE assisted_sessions SET state='active' WHERE id=? AND state='suspended'",
                            (live.id,)).rowcount == 1
            if ok:
                self.store.audit("assisted", "assisted-resumed", actor=live.operator, db=db, assisted=live.id)
        return ok

    def finish(self, token: str | None) -> bool:
        """The operator ends assisting (a helper action: refused while suspended)."""
        if not self.helper_allowed(token):
            return False
        return self._end("operator-finished")

    def sweep(self, is_live: Callable[[str], bool]) -> bool:
        """Ends the assisted session with the citizen session it helped, or ``IDLE_S`` after the sign-in with none."""
        if self.live() is None:
            return False
        with self._lock:
            citizen, signed_in = self._citizen, self._signed_in
        if citizen is not None:
            return self._end(self._outcome(citizen)) if not is_live(citizen) else False
        if self._now() - signed_in > IDLE_S:
            return self._end("idle")
        return False

    def restarted(self) -> bool:
        return self._end("restart")

    def _outcome(self, citizen_session: str) -> str:
        """How the helped session ended, and what printed: no personal data."""
        row = self.store.query_one("SELECT outcome FROM sessions WHERE id=?", (citizen_session,))
        counts = dict(self.store.query("SELECT state, COUNT(*) FROM print_jobs WHERE session_id=? GROUP BY state",
                                       (citizen_session,)))
        return f"{row[0] or 'ended' if row else 'ended'} ({counts.get('printed', 0)} printed, {counts.get('failed', 0)} failed)"

    def _end(self, outcome: str) -> bool:
        now = self._now()
        with self.store.tx() as db:
            row = db.execute("SELECT id, operator, started_at, screens FROM assisted_sessions WHERE state != 'ended'"
                             ).fetchone()
            if row is None:
                return False
            db.execute("UPDATE assisted_sessions SET state='ended', ended_at=?, outcome=? WHERE id=? AND state != 'ended'",
                       (now, outcome[:120], row[0]))
            self.store.audit("assisted", "assisted-ended", actor=row[1], db=db, assisted=row[0], started_at=row[2],
                             ended_at=now, screens=json.loads(row[3]), outcome=outcome[:120])
        with self._lock:
            self._token_hash = ""
            self._citizen = None
        return True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
