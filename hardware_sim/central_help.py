"""Central's side of help for citizens: staff calls, and the owner's confirmation of each printed document.

Staff calls (``POST /v1/staff-calls``, docs/central-api.yaml): central records each notice
once per idempotency key and acknowledges it like a report (``accepted`` | ``duplicate``,
``rejected`` for a key reused with another notice); ``calls()`` is central's record of each
call (kiosk, location, screen, how it ended), a witness the kiosk does not own. The notice
must hold no personal data; ``notices()`` keeps each one as received so a test can check that.

The owner's confirmation: when a ``printed`` report is recorded (once per key, in the same
transaction, so a repeated report never sends a second message), the document's owner gets
the WhatsApp message "Dokumen Anda telah dicetak di ADM <lokasi> pada <waktu>": someone who
used their PIN is noticed at once. The location is the kiosk's own, from its latest heartbeat
(``kiosk.location`` in the status snapshot); the time is the report's ``at`` (the kiosk's clock).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

from kiosk.model import mask_nik

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_call_notices (idem_key TEXT PRIMARY KEY, kiosk TEXT NOT NULL, payload TEXT NOT NULL,
    received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS central_staff_calls (call_id TEXT PRIMARY KEY, kiosk TEXT NOT NULL, location TEXT NOT NULL,
    screen TEXT NOT NULL, state TEXT NOT NULL, called_at REAL NOT NULL, closed_at REAL, reason TEXT NOT NULL DEFAULT '');
"""
EVENTS = ("called", "cancelled", "ended")
CONFIRMATION = "Dokumen Anda telah dicetak di ADM {location} pada {when}"


class CentralHelp:
    """Central's record of staff calls, in central's database file (its own connection)."""

    def __init__(self, db_path: str | Path) -> None:
        self._db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def receive(self, kiosk: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key, call_id, event = payload.get("idempotency_key"), payload.get("call_id"), payload.get("event")
        if not isinstance(key, str) or not isinstance(call_id, str) or event not in EVENTS:
            return 422, {"error": "bad-staff-call"}
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT payload FROM staff_call_notices WHERE idem_key=?", (key,)).fetchone()
            if row is None:
                status = "accepted"
                self._db.execute("INSERT INTO staff_call_notices VALUES (?,?,?,?)",
                                 (key, kiosk, json.dumps(payload, sort_keys=True), now))
                self._apply(kiosk, payload)
            else:
                status = "duplicate" if json.loads(row[0]) == payload else "rejected"
            self._db.execute("COMMIT")
        if status == "rejected":
            return 409, {"idempotency_key": key, "status": status, "reason": "key-reused"}
        return 200, {"idempotency_key": key, "status": status}

    def _apply(self, kiosk: str, p: dict[str, Any]) -> None:
        at = float(p.get("at") or time.time())
        if p["event"] == "called":
            self._db.execute("INSERT OR IGNORE INTO central_staff_calls(call_id, kiosk, location, screen, state, called_at) "
                             "VALUES (?,?,?,?,?,?)", (p["call_id"], kiosk, str(p.get("location", "")),
                                                      str(p.get("screen", "")), "open", at))
        else:
            self._db.execute("UPDATE central_staff_calls SET state=?, closed_at=?, reason=? WHERE call_id=? AND kiosk=? "
                             "AND state='open'", (p["event"], at, str(p.get("reason", "")), p["call_id"], kiosk))

    def calls(self) -> list[dict[str, Any]]:
        """Central's record of every call, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT call_id, kiosk, location, screen, state, called_at, closed_at, reason "
                                    "FROM central_staff_calls ORDER BY called_at").fetchall()
        keys = ("call_id", "kiosk", "location", "screen", "state", "called_at", "closed_at", "reason")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def notices(self) -> list[dict[str, Any]]:
        """Every staff-call notice as the kiosk sent it (once per key)."""
        with self._lock:
            return [json.loads(r[0]) for r in self._db.execute("SELECT payload FROM staff_call_notices ORDER BY rowid")]


def queue_print_confirmation(db: sqlite3.Connection, kiosk: str, document_id: str, at: Any) -> None:
    """Queues the owner's WhatsApp confirmation of a printed document; called inside the transaction that records
    the report for the first time (so exactly once per printed document, whatever the kiosk repeats)."""
    owner = db.execute("SELECT r.nik FROM documents d JOIN requests r ON r.id=d.request_id WHERE d.id=?",
                       (document_id,)).fetchone()
    if owner is None:
        return
    when = float(at) if isinstance(at, int | float) else time.time()
    message = CONFIRMATION.format(location=kiosk_location(db, kiosk),
                                  when=time.strftime("%d-%m-%Y %H.%M", time.localtime(when)))
    db.execute("INSERT INTO whatsapp_outbox(to_nik, message, created_at) VALUES (?,?,?)",
               (mask_nik(owner[0]), message, time.time()))


def kiosk_location(db: sqlite3.Connection, kiosk: str) -> str:
    """The location the kiosk last reported in its heartbeat; its id when it has sent none yet."""
    row = db.execute("SELECT snapshot FROM heartbeats WHERE kiosk=? ORDER BY rowid DESC LIMIT 1", (kiosk,)).fetchone()
    if row:
        try:
            location = json.loads(row[0]).get("kiosk", {}).get("location")
        except (ValueError, AttributeError):
            location = None
        if isinstance(location, str) and location.strip():
            return location.strip()[:120]
    return kiosk


def add_routes(app: Flask, help_desk: CentralHelp) -> None:
    """``POST /v1/staff-calls`` on central's app (behind its kiosk authentication)."""

    @app.post("/v1/staff-calls")
    def staff_call() -> Any:
        data = request.get_json(silent=True)
        status, out = help_desk.receive(request.environ["adm.kiosk"], data if isinstance(data, dict) else {})
        return jsonify(out), status
