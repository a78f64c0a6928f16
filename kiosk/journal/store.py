"""The SQLite journal: everything that must survive a power cut is written here first.

WAL with ``synchronous=FULL`` so a committed row survives a power cut; one connection
shared behind a lock (the kiosk has a handful of threads and small transactions);
migrations by ``PRAGMA user_version``. No personal data is stored: NIKs appear only
masked or as keyed hashes.

Each scarce thing's table has one owner module that alone writes it: ``blank_cards``
(kiosk/journal/blanks.py), ``supplies`` and ``duty_cycle`` (supplies.py), ``print_jobs``
(jobs.py), ``staff_calls`` (kiosk/citizen/staff_calls.py), ``assisted_sessions``
(kiosk/staff/assisted.py); the outbox's delivery is outbox.py's. This module holds the schema, the
transaction and the few shared writers (audit, enqueue, settings, retention).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MIGRATIONS: list[str] = [
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        started_at REAL NOT NULL,
        ended_at REAL,
        method TEXT NOT NULL DEFAULT '',
        nik_masked TEXT NOT NULL DEFAULT '',
        nik_hash TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        reference TEXT NOT NULL DEFAULT '',
        outcome TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE print_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        redemption_id TEXT NOT NULL DEFAULT '',
        document_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        printer TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('planned','submitted','printed','failed')),
        blank_serial TEXT,
        printer_job_id INTEGER,
        pages INTEGER NOT NULL DEFAULT 1,
        error TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX print_jobs_state ON print_jobs(state);
    CREATE TABLE blank_cards (
        serial TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        batch TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('stock','consumed','printed','spoiled')),
        job_id INTEGER REFERENCES print_jobs(id),
        loaded_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX blank_cards_state ON blank_cards(kind, state);
    CREATE TABLE supplies (
        device TEXT NOT NULL,
        name TEXT NOT NULL,
        remaining INTEGER NOT NULL,
        capacity INTEGER NOT NULL,
        low_at INTEGER NOT NULL,
        unit TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (device, name)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        category TEXT NOT NULL,
        event TEXT NOT NULL,
        actor TEXT NOT NULL DEFAULT 'kiosk',
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_ts ON audit(ts);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        idem_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        sent_at REAL,
        last_error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX outbox_pending ON outbox(sent_at, next_attempt_at);
    CREATE TABLE pin_attempts (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        window_start REAL NOT NULL,
        locked_until REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (scope, key)
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE duty_cycle (device TEXT NOT NULL, day TEXT NOT NULL, prints INTEGER NOT NULL,
                             PRIMARY KEY (device, day));
    """,
    # 2: remote-status API tokens (kiosk/staff/tokens.py): only a SHA-256 of each token is kept
    """
    CREATE TABLE api_tokens (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at REAL NOT NULL,
        revoked_at REAL,
        last_used_at REAL
    );
    """,
    # 3: technician accounts (kiosk/staff/technicians.py): argon2id hashes only; login failures for the lockout
    """
    CREATE TABLE technicians (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        password_hash TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        last_login_at REAL
    );
    CREATE TABLE technician_attempts (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL DEFAULT 0,
        window_start REAL NOT NULL,
        locked_until REAL NOT NULL DEFAULT 0
    );
    """,
    # 4: indexes for the status snapshot and /metrics (kiosk/staff/telemetry.py): today's counters, recent use and
    # all-time outcomes stay index lookups on a year-old journal instead of full scans on every scrape
    """
    CREATE INDEX print_jobs_created ON print_jobs(created_at, kind, state);
    CREATE INDEX print_jobs_state_updated ON print_jobs(state, updated_at, printer, kind, pages);
    CREATE INDEX sessions_started ON sessions(started_at);
    CREATE INDEX blank_cards_state_updated ON blank_cards(state, updated_at, kind);
    CREATE INDEX outbox_kind_sent ON outbox(kind, sent_at);
    """,
    # 5: print jobs owned by kiosk/journal/jobs.py. A job may exist without a citizen session (a self-test or a
    # technician's test print, ``purpose``); each job has a random ``uuid`` (its printer title and its reports'
    # idempotency keys, unique across journals: job numbers restart at 1 on a re-created journal); and the journal
    # itself refuses a second live or printed job for one document (a failed job does not count). ``copy`` is 0 for
    # every job from now on; an older journal's extra copies of a document (the double-print defect) are numbered
    # 1, 2, ... so the index holds without rewriting their history. SQLite cannot change a table's constraints in
    # place: create, copy, drop, rename (foreign keys are off around every migration, checked before its commit).
    # The journal also gets its own random id, made once, for keys that do not belong to a job (heartbeats).
    """
    CREATE TABLE print_jobs_v5 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))) CHECK (length(uuid) = 32),
        purpose TEXT NOT NULL DEFAULT 'citizen' CHECK (purpose IN ('citizen','self-test','test-print')),
        session_id TEXT REFERENCES sessions(id),
        redemption_id TEXT NOT NULL DEFAULT '',
        document_id TEXT,
        copy INTEGER NOT NULL DEFAULT 0,
        kind TEXT NOT NULL,
        printer TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('planned','submitted','printed','failed')),
        blank_serial TEXT,
        printer_job_id INTEGER,
        pages INTEGER NOT NULL DEFAULT 1,
        error TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        CHECK ((purpose = 'citizen') = (session_id IS NOT NULL AND document_id IS NOT NULL))
    );
    INSERT INTO print_jobs_v5(id, uuid, purpose, session_id, redemption_id, document_id, copy, kind, printer, state,
                              blank_serial, printer_job_id, pages, error, created_at, updated_at)
        SELECT j.id, lower(hex(randomblob(16))), 'citizen', j.session_id, j.redemption_id, j.document_id,
               CASE WHEN j.state = 'failed' THEN 0 ELSE (SELECT COUNT(*) FROM print_jobs e WHERE e.document_id =
                   j.document_id AND e.state != 'failed' AND e.id < j.id) END,
               j.kind, j.printer, j.state, j.blank_serial, j.printer_job_id, j.pages, j.error, j.created_at, j.updated_at
        FROM print_jobs j;
    DROP TABLE print_jobs;
    ALTER TABLE print_jobs_v5 RENAME TO print_jobs;
    CREATE INDEX print_jobs_state ON print_jobs(state);
    CREATE INDEX print_jobs_created ON print_jobs(created_at, kind, state);
    CREATE INDEX print_jobs_state_updated ON print_jobs(state, updated_at, printer, kind, pages);
    CREATE INDEX print_jobs_session ON print_jobs(session_id);
    CREATE UNIQUE INDEX print_jobs_one_live_per_document ON print_jobs(document_id, copy)
        WHERE document_id IS NOT NULL AND state != 'failed';
    INSERT OR IGNORE INTO settings(key, value) VALUES ('journal_id', lower(hex(randomblob(16))));
    """,
    # 6: one attempt limiter (kiosk/journal/attempts.py) for PINs and technician passwords: counters per
    # scope and key, and the attempts reserved before the verifier is asked; the two old tables move in
    """
    CREATE TABLE attempt_counters (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        window_start REAL NOT NULL,
        locked_until REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (scope, key)
    );
    CREATE TABLE attempt_reservations (
        id TEXT NOT NULL,
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (id, scope)
    );
    CREATE INDEX attempt_reservations_key ON attempt_reservations(scope, key, expires_at);
    INSERT INTO attempt_counters(scope, key, failures, window_start, locked_until)
        SELECT 'pin:' || scope, key, failures, window_start, locked_until FROM pin_attempts;
    INSERT INTO attempt_counters(scope, key, failures, window_start, locked_until)
        SELECT CASE WHEN key = 'kiosk' THEN 'technician:kiosk' ELSE 'technician:id' END,
               CASE WHEN key = 'kiosk' THEN 'kiosk' ELSE substr(key, 4) END, failures, window_start, locked_until
        FROM technician_attempts;
    DROP TABLE pin_attempts;
    DROP TABLE technician_attempts;
    """,
    # 7: scoped status-API tokens (kiosk/staff/tokens.py): 'read' looks, 'operate' also sends commands;
    # every token made before scopes existed stays read-only
    """
    ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'read' CHECK (scope IN ('read', 'operate'));
    """,
    # 8: help for the citizen. Staff calls (kiosk/citizen/staff_calls.py): at most one open call per kiosk (one
    # screen), a journal constraint, so two taps make one call; the session it belongs to ends it. Assisted sessions
    # (kiosk/staff/assisted.py): an operator helping one citizen, audited without personal data (operator, times,
    # screens, outcome), at most one live at a time. Accounts get a role: an operator helps citizens and never
    # enters maintenance; every account made before roles existed is a technician.
    """
    CREATE TABLE staff_calls (
        id TEXT PRIMARY KEY,
        session_id TEXT REFERENCES sessions(id),
        screen TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open', 'cancelled', 'ended')),
        called_at REAL NOT NULL,
        closed_at REAL,
        close_reason TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX staff_calls_one_open ON staff_calls(state) WHERE state = 'open';
    CREATE TABLE assisted_sessions (
        id TEXT PRIMARY KEY,
        operator TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'ended')),
        started_at REAL NOT NULL,
        ended_at REAL,
        screens TEXT NOT NULL DEFAULT '[]',
        outcome TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX assisted_sessions_one_live ON assisted_sessions((state != 'ended')) WHERE state != 'ended';
    ALTER TABLE technicians ADD COLUMN role TEXT NOT NULL DEFAULT 'technician'
        CHECK (role IN ('technician', 'operator'));
    """,
    # 9: when a KTP-el blank's chip began to be written (kiosk/journal/blanks.py ``chip_written``): such a
    # blank holds a citizen's data and never goes back to stock, whoever settles its job (recovery included)
    """
    ALTER TABLE blank_cards ADD COLUMN chip_written_at REAL;
    """,
]


# SQLite result codes that mean "the journal cannot be written now" -> the availability reason
JOURNAL_FAULTS = {"SQLITE_FULL": "disk-full", "SQLITE_BUSY": "busy", "SQLITE_LOCKED": "busy",
                  "SQLITE_READONLY": "read-only", "SQLITE_IOERR": "io-error", "SQLITE_CANTOPEN": "io-error",
                  "SQLITE_CORRUPT": "corrupt", "SQLITE_NOTADB": "corrupt"}
PROBE_INTERVAL_S = 5.0


class Store:
    fault: str = ""  # set when a write failed for a reason in JOURNAL_FAULTS; cleared by the next commit

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._probed = 0.0
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        """Each migration in one transaction. Foreign keys are off meanwhile (a table rebuilt by create-copy-drop-
        rename would otherwise cascade or fail on its drop; ``PRAGMA foreign_keys`` is ignored inside a
        transaction) and checked before each commit, so a migration that would break a reference is rolled back."""
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(MIGRATIONS):
                return
            self._db.execute("PRAGMA foreign_keys=OFF")
            try:
                for i, sql in enumerate(MIGRATIONS[version:], start=version + 1):
                    self._db.execute("BEGIN IMMEDIATE")
                    try:
                        for stmt in sql.split(";"):
                            if stmt.strip():
                                self._db.execute(stmt)
                        broken = self._db.execute("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            raise sqlite3.IntegrityError(f"migration {i} breaks {len(broken)} references, "
                                                         f"e.g. {tuple(broken[0])}")
                        self._db.execute(f"PRAGMA user_version={i}")
                        self._db.execute("COMMIT")
                    except BaseException:
                        self._db.execute("ROLLBACK")
                        raise
            finally:
                self._db.execute("PRAGMA foreign_keys=ON")

    @property
    def version(self) -> int:
        return int(self.query_one("PRAGMA user_version")[0])

    @property
    def journal_id(self) -> str:
        """A random id made when this journal was created (migration 5): with the kiosk id it makes idempotency
        keys that a re-created journal (new disk, restored kiosk) never repeats."""
        return self.get_setting("journal_id")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction: every row in it is on disk together, or none is."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:  # SQLite rolls back by itself after some errors (SQLITE_FULL)
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                self._note(exc)
                raise
            self.fault = ""

    def _note(self, exc: sqlite3.DatabaseError) -> None:
        """A full, busy, read-only or broken journal puts the kiosk out of service (a clear reason), not in a crash loop."""
        fault = JOURNAL_FAULTS.get(getattr(exc, "sqlite_errorname", ""), "")
        if fault:
            self.fault = fault
            self._probed = time.monotonic()

    def healthy(self) -> bool:
        """False while the journal cannot be written. After a failure, a small write every few seconds
        (64 KB, so a nearly full disk does not read as healthy) notices when space is back."""
        if not self.fault:
            return True
        if time.monotonic() - self._probed < PROBE_INTERVAL_S:
            return False
        try:
            with self.tx() as db:
                db.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('journal-probe', ?)", ("x" * 65536,))
                db.execute("DELETE FROM settings WHERE key='journal-probe'")
        except sqlite3.DatabaseError:
            return False
        return True

    def query(self, sql: str, args: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def query_one(self, sql: str, args: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- small shared writers ------------------------------------------------------------

    def audit(self, category: str, event: str, actor: str = "kiosk", db: sqlite3.Connection | None = None,
              **detail: Any) -> None:
        """An audit row. ``detail`` must hold no personal data (masked NIKs at most)."""
        sql = "INSERT INTO audit(ts, category, event, actor, detail) VALUES (?,?,?,?,?)"
        args = (time.time(), category, event, actor, json.dumps(detail, sort_keys=True, default=str))
        if db is not None:
            db.execute(sql, args)
        else:
            with self.tx() as d:
                d.execute(sql, args)

    def enqueue(self, db: sqlite3.Connection, kind: str, idem_key: str, payload: dict[str, Any]) -> None:
        """An outbox message; the idempotency key makes a retried write a no-op."""
        now = time.time()
        db.execute("INSERT OR IGNORE INTO outbox(idem_key, kind, payload, created_at, next_attempt_at) "
                   "VALUES (?,?,?,?,?)", (idem_key, kind, json.dumps(payload, sort_keys=True), now, now))

    def forget(self, personal_before: float, delivered_before: float) -> int:
        """Retention: erases masked NIKs and NIK hashes of old sessions and delivered outbox
        messages (the attempt limiter drops its own expired counters). Jobs, blanks and audit
        stay: they hold no personal data and the regency must account for every blank."""
        with self.tx() as db:
            n = db.execute("UPDATE sessions SET nik_masked='', nik_hash='' WHERE ended_at IS NOT NULL AND ended_at < ? "
                           "AND nik_hash != ''", (personal_before,)).rowcount
            db.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (delivered_before,))
        return n

    def get_setting(self, key: str, default: str = "") -> str:
        row = self.query_one("SELECT value FROM settings WHERE key=?", (key,))
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO settings(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (key, value))
