"""Calls for staff ("Panggil petugas"): the only writer of ``staff_calls``.

State machine per call: ``open -> cancelled`` (the citizen cancels) | ``ended`` (the session
it belongs to ended, an operator came and signed in, it expired, or the kiosk restarted).
Invariant: at most one open call per kiosk (the kiosk has one screen), enforced by the
journal (``staff_calls_one_open``), so two taps, two tabs or two processes make one call.
Every change is a check-and-set on the open row in one transaction, and queues central's
notice in the outbox in that same transaction (kind ``staff-call``): central is told of
every call and of how it ended, exactly once per change, even across a crash.

Central's notice and the metric hold no personal data: the kiosk id, its location, the
screen, a random call id and the time. The call's citizen session id stays in the journal
(to end the call with the session) and is never sent: it maps to a masked NIK.
What can go wrong: a full journal refuses the call (``sqlite3.DatabaseError``, the UI says so);
a session that ends while its call is being made is swept on the next ``sweep``.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.journal.store import Store

SCREEN_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}", re.ASCII)
CALL_MAX_AGE_S = 30 * 60  # a call nobody answered or cancelled stops paging staff after this


@dataclass(frozen=True)
class StaffCall:
    id: str
    screen: str
    called_at: float
    session_id: str | None


class StaffCalls:
    def __init__(self, store: Store, kiosk_id: str, location: str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.kiosk_id = kiosk_id
        self.location = location
        self._now = clock

    def current(self) -> StaffCall | None:
        row = self.store.query_one("SELECT id, screen, called_at, session_id FROM staff_calls WHERE state='open'")
        return StaffCall(row[0], row[1], row[2], row[3]) if row else None

    def total(self) -> int:
        """Every call ever made on this kiosk (the fleet's counter)."""
        return int(self.store.query_one("SELECT COUNT(*) FROM staff_calls")[0])

    def call(self, screen: str, session_id: str | None) -> StaffCall:
        """Opens a call, or returns the one already open (a second tap: no second call, no second notice)."""
        if not SCREEN_RE.fullmatch(screen):
            screen = "unknown"
        now = self._now()
        call = StaffCall(secrets.token_hex(16), screen, now, session_id)
        with self.store.tx() as db:
            row = db.execute("SELECT id, screen, called_at, session_id FROM staff_calls WHERE state='open'").fetchone()
            if row:
                return StaffCall(row[0], row[1], row[2], row[3])
            if session_id and not db.execute("SELECT 1 FROM sessions WHERE id=? AND ended_at IS NULL",
                                             (session_id,)).fetchone():
                session_id = None  # the session ended meanwhile: the call is the kiosk's, not that session's
                call = StaffCall(call.id, screen, now, None)
            db.execute("INSERT INTO staff_calls(id, session_id, screen, state, called_at) VALUES (?,?,?,?,?)",
                       (call.id, session_id, screen, "open", now))
            self._notify(db, call, "called", now)
            self.store.audit("citizen", "staff-called", db=db, call=call.id[:8], screen=screen)
        return call

    def cancel(self) -> bool:
        """The citizen cancels the open call; False when none was open (a second tap)."""
        return self._close("cancelled", "cancelled")

    def answered(self) -> bool:
        """An operator signed in to help: the call is over."""
        return self._close("ended", "answered")

    def sweep(self, is_live: Callable[[str], bool]) -> bool:
        """Ends the open call whose session is no longer live, or that is older than ``CALL_MAX_AGE_S``;
        called from the kiosk's background loop (a call ends with its session within a second). Liveness is
        asked after the call is read, so a call made meanwhile for a new session is not taken for an old one."""
        call = self.current()
        if call is None:
            return False
        if call.session_id is not None and not is_live(call.session_id):
            reason = "session-ended"
        elif self._now() - call.called_at > CALL_MAX_AGE_S:
            reason = "expired"
        else:
            return False
        return self._close("ended", reason, call.id)

    def restarted(self) -> bool:
        """At start-up: no citizen session survives a restart, so a call left open belongs to nobody on screen."""
        return self._close("ended", "restart")

    def _close(self, state: str, reason: str, call_id: str | None = None) -> bool:
        with self.store.tx() as db:
            if call_id is None:
                return self._close_where(db, state, reason, "1=1", ())
            return self._close_where(db, state, reason, "id=?", (call_id,))

    def _close_where(self, db: sqlite3.Connection, state: str, reason: str, where: str, args: tuple[str, ...]) -> bool:
        row = db.execute(f"SELECT id, screen, called_at, session_id FROM staff_calls WHERE state='open' AND {where}",
                         args).fetchone()
        if row is None:
            return False
        now = self._now()
        db.execute("UPDATE staff_calls SET state=?, closed_at=?, close_reason=? WHERE id=? AND state='open'",
                   (state, now, reason, row[0]))
        call = StaffCall(row[0], row[1], row[2], row[3])
        self._notify(db, call, state, now, reason)
        self.store.audit("citizen", f"staff-call-{state}", db=db, call=call.id[:8], reason=reason)
        return True

    def _notify(self, db: sqlite3.Connection, call: StaffCall, event: str, now: float, reason: str = "") -> None:
        """Central's notice (docs/central-api.yaml ``StaffCall``), in the transaction of the change it reports."""
        key = f"{self.kiosk_id}:staff-call:{call.id}:{event}"
        self.store.enqueue(db, "staff-call", key, {
            "idempotency_key": key, "kiosk_id": self.kiosk_id, "location": self.location, "call_id": call.id,
            "event": event, "screen": call.screen, "reason": reason, "at": now})
