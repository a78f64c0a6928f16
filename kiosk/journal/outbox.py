"""Delivers journaled reports to central: idempotent, retried with backoff, survives restarts.

A message counts as delivered (``sent_at``) only on central's acknowledgement of its own
idempotency key (``CentralClient.report``: ``accepted``, or ``duplicate`` when central had it
already). An HTTP 200 alone is not one: a proxy's HTML page, garbage, another report's key
or ``accepted: false`` leave the message pending, retried with a growing backoff, counted in
``backlog()`` and explained by ``last_error()``, so the document is not left "ready" at
central (where the same PIN would print it again elsewhere).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from typing import Any, Protocol

from drivers.base import AdmError
from kiosk.faultpoints import crash_point
from kiosk.journal.store import Store

log = logging.getLogger(__name__)


def queue_data_rejected(store: Store, db: sqlite3.Connection, kiosk_id: str, redemption_id: str, document_id: str,
                        kind: str) -> str:
    """Queues, in the caller's transaction, central's ``data-rejected`` report: the citizen saw the card as it
    would print and said the data is wrong. Nothing printed, the PIN stays valid; one report per redemption and
    document (a second tap queues nothing more). Returns the idempotency key."""
    key = f"{kiosk_id}:data-rejected:{redemption_id}:{document_id}"
    store.enqueue(db, "report", key, {
        "idempotency_key": key, "kiosk_id": kiosk_id, "redemption_id": redemption_id, "document_id": document_id,
        "kind": kind, "outcome": "data-rejected", "card_serial": None, "reason": "citizen: data wrong",
        "at": time.time()})
    return key


class Receiver(Protocol):
    """Where the outbox delivers (the central client): ``report`` returns central's acknowledgement
    (``accepted`` | ``duplicate``) and raises an ``AdmError`` for anything that is not one."""

    def report(self, payload: dict[str, Any]) -> str: ...
    def blank_report(self, payload: dict[str, Any]) -> str: ...
    def staff_call(self, payload: dict[str, Any]) -> str: ...
    def heartbeat(self, payload: dict[str, Any]) -> Any: ...


class OutboxSender:
    def __init__(self, store: Store, central: Receiver, max_backoff_s: float = 300.0) -> None:
        self.store = store
        self.central = central
        self.max_backoff_s = max_backoff_s
        self._flushing = threading.Lock()  # one sender at a time: the background tick, a test or the CLI

    def backlog(self) -> int:
        return int(self.store.query_one("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")[0])

    def oldest_pending_age_s(self) -> float:
        row = self.store.query_one("SELECT MIN(created_at) FROM outbox WHERE sent_at IS NULL")
        return time.time() - row[0] if row and row[0] else 0.0

    def last_error(self) -> str:
        """Why the most recently tried pending message is still pending ('' when none failed)."""
        row = self.store.query_one("SELECT last_error FROM outbox WHERE sent_at IS NULL AND last_error != '' "
                                   "ORDER BY next_attempt_at DESC LIMIT 1")
        return str(row[0]) if row else ""

    def flush(self, limit: int = 50) -> int:
        """Sends what is due; returns how many were delivered. Stops at the first network failure.

        Two flushes at once would both send the same messages (central dedupes reports by key, but
        heartbeats would arrive out of order): a second caller waits for the first to finish."""
        with self._flushing:
            return self._flush(limit)

    def _flush(self, limit: int) -> int:
        sent = 0
        now = time.time()
        for row in self.store.query("SELECT id, kind, payload, attempts FROM outbox WHERE sent_at IS NULL "
                                    "AND next_attempt_at <= ? ORDER BY id LIMIT ?", (now, limit)):
            msg_id, kind, payload, attempts = row
            try:
                data = json.loads(payload)
                if kind == "report":
                    if self.central.report(data) == "duplicate":
                        log.info("outbox: central had report %s already", msg_id)
                elif kind == "blank-report":  # kiosk/staff/blank_report.py: one per local day
                    if self.central.blank_report(data) == "duplicate":
                        log.info("outbox: central had blank report %s already", msg_id)
                elif kind == "staff-call":
                    self.central.staff_call(data)
                elif kind == "heartbeat":
                    self.central.heartbeat(data)
                else:
                    raise ValueError(f"unknown outbox kind {kind!r}")
            except (AdmError, ValueError) as exc:
                delay = min(self.max_backoff_s, 2.0 ** min(attempts + 1, 12))
                with self.store.tx() as db:
                    db.execute("UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=? WHERE id=?",
                               (time.time() + delay, f"{type(exc).__name__}: {exc}"[:300], msg_id))
                if attempts == 0:
                    log.warning("outbox: %s not delivered yet (%s); will retry", kind, type(exc).__name__)
                break
            crash_point(f"{kind}-delivered")
            with self.store.tx() as db:
                db.execute("UPDATE outbox SET sent_at=?, attempts=attempts+1 WHERE id=?", (time.time(), msg_id))
            sent += 1
        return sent
