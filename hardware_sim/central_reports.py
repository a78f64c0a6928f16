"""The simulated central's daily blank reports: received, checked, stored once per key, every delivery kept.

``POST /v1/blank-reports`` (docs/central-api.yaml): one report per kiosk and local day,
acknowledged like a print report (``ReportAck``): ``accepted`` the first time, ``duplicate``
for the same report again, ``rejected`` (409) for a key reused with different numbers. A
report whose numbers do not balance (``opening + loaded - printed - spoiled != remaining``)
is refused with 422: an office cannot publish it. It is a witness the kiosk does not own:
``reports()`` and ``deliveries()`` say what reached central, repeats included.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS blank_reports (idem_key TEXT PRIMARY KEY, kiosk TEXT NOT NULL, day TEXT NOT NULL,
    payload TEXT NOT NULL, received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS blank_report_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, idem_key TEXT NOT NULL,
    kiosk TEXT NOT NULL, day TEXT NOT NULL, status TEXT NOT NULL, received_at REAL NOT NULL);
"""
DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
COUNTS = ("opening", "loaded", "printed", "spoiled", "remaining")


@dataclass(frozen=True)
class KindCounts:
    kind: str
    opening: int
    loaded: int
    printed: int
    spoiled: int
    remaining: int


@dataclass(frozen=True)
class ReceivedReport:
    kiosk: str
    day: str
    kinds: dict[str, KindCounts]


class CentralBlankReports:
    """Central's side of the daily blank report, in the simulated central's database."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock
        with lock:
            db.executescript(SCHEMA)

    def receive(self, kiosk: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key, day = payload.get("idempotency_key"), payload.get("day")
        if not isinstance(key, str) or not isinstance(day, str) or not DAY_RE.fullmatch(day) \
                or payload.get("kiosk") != kiosk or _kinds(payload) is None:
            return 422, {"error": "bad-blank-report"}
        if not all(k.opening + k.loaded - k.printed - k.spoiled == k.remaining for k in _kinds(payload) or []):
            return 422, {"error": "blank-report-unbalanced"}
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT payload FROM blank_reports WHERE idem_key=?", (key,)).fetchone()
            if row is None:
                status = "accepted"
                self._db.execute("INSERT INTO blank_reports VALUES (?,?,?,?,?)",
                                 (key, kiosk, day, json.dumps(payload, sort_keys=True), now))
            else:
                status = "duplicate" if json.loads(row[0]) == payload else "rejected"
            self._db.execute("INSERT INTO blank_report_deliveries(idem_key, kiosk, day, status, received_at) "
                             "VALUES (?,?,?,?,?)", (key, kiosk, day, status, now))
            self._db.execute("COMMIT")
        if status == "rejected":
            return 409, {"idempotency_key": key, "status": status, "reason": "key-reused"}
        return 200, {"idempotency_key": key, "status": status}

    def reports(self, kiosk: str | None = None) -> list[ReceivedReport]:
        """Every report central recorded (one per key), oldest day first."""
        with self._lock:
            rows = self._db.execute("SELECT payload FROM blank_reports WHERE kiosk=? OR ? IS NULL ORDER BY day, rowid",
                                    (kiosk, kiosk)).fetchall()
        out = []
        for (raw,) in rows:
            data = json.loads(raw)
            out.append(ReceivedReport(data["kiosk"], data["day"], {k.kind: k for k in _kinds(data) or []}))
        return out

    def deliveries(self) -> list[tuple[str, str]]:
        """(day, status) of every delivery received, repeats included."""
        with self._lock:
            return [(r[0], r[1]) for r in self._db.execute(
                "SELECT day, status FROM blank_report_deliveries ORDER BY id")]


def _kinds(payload: dict[str, Any]) -> list[KindCounts] | None:
    kinds = payload.get("kinds")
    if not isinstance(kinds, list) or not kinds:
        return None
    out = []
    for k in kinds:
        if not isinstance(k, dict) or not isinstance(k.get("kind"), str) or not all(
                isinstance(k.get(c), int) and not isinstance(k.get(c), bool) and k[c] >= 0 for c in COUNTS):
            return None
        out.append(KindCounts(k["kind"], *(int(k[c]) for c in COUNTS)))
    return out


def add_blank_report_routes(app: Flask, reports: CentralBlankReports) -> None:
    """``POST /v1/blank-reports`` on the simulated central's app (authenticated by its ``before_request``)."""

    @app.post("/v1/blank-reports")
    def blank_report() -> Any:
        data = request.get_json(silent=True)
        status, out = reports.receive(request.environ["adm.kiosk"], data if isinstance(data, dict) else {})
        return jsonify(out), status
