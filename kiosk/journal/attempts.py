"""PIN attempt policy: lockout per NIK and per kiosk, kept in the journal.

The kiosk never sees a stored PIN: central verifies it (in constant time, against a hash).
This module only counts failures, so a brute force through one NIK, or across many NIKs
from this kiosk, is stopped even when central is lenient. NIKs are keyed hashes here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kiosk.config import PinSection
from kiosk.journal.store import Store

KIOSK_KEY = "kiosk"


@dataclass(frozen=True)
class Lockout:
    scope: str  # "nik" | "kiosk"
    until: float

    @property
    def seconds_left(self) -> int:
        return max(0, int(self.until - time.time() + 0.999))


class PinPolicy:
    def __init__(self, store: Store, cfg: PinSection, clock: type[time] | None = None) -> None:
        self.store = store
        self.cfg = cfg
        self._now = (clock or time).time

    def lockout(self, nik_hash: str) -> Lockout | None:
        """The lockout in force for this NIK on this kiosk, if any (kiosk-wide first)."""
        now = self._now()
        for scope, key in (("kiosk", KIOSK_KEY), ("nik", nik_hash)):
            row = self.store.query_one("SELECT locked_until FROM pin_attempts WHERE scope=? AND key=?", (scope, key))
            if row and row[0] > now:
                return Lockout(scope, row[0])
        return None

    def tries_left(self, nik_hash: str) -> int:
        row = self.store.query_one("SELECT failures, window_start FROM pin_attempts WHERE scope='nik' AND key=?",
                                   (nik_hash,))
        if not row or self._now() - row[1] > self.cfg.nik_lockout_s:
            return self.cfg.max_failures_per_nik
        return max(0, self.cfg.max_failures_per_nik - row[0])

    def record_failure(self, nik_hash: str) -> Lockout | None:
        """Counts one wrong PIN; returns the lockout it caused, if any."""
        now = self._now()
        caused: Lockout | None = None
        with self.store.tx() as db:
            for scope, key, limit, window, lock_s in (
                ("nik", nik_hash, self.cfg.max_failures_per_nik, self.cfg.nik_lockout_s, self.cfg.nik_lockout_s),
                ("kiosk", KIOSK_KEY, self.cfg.max_failures_per_kiosk, self.cfg.kiosk_window_s, self.cfg.kiosk_lockout_s),
            ):
                row = db.execute("SELECT failures, window_start FROM pin_attempts WHERE scope=? AND key=?",
                                 (scope, key)).fetchone()
                failures, start = (row[0], row[1]) if row and now - row[1] <= window else (0, now)
                failures += 1
                locked_until = now + lock_s if failures >= limit else 0.0
                if locked_until:
                    failures = 0
                    start = now
                    caused = caused or Lockout(scope, locked_until)
                db.execute("INSERT INTO pin_attempts(scope, key, failures, window_start, locked_until) VALUES (?,?,?,?,?) "
                           "ON CONFLICT(scope, key) DO UPDATE SET failures=excluded.failures, "
                           "window_start=excluded.window_start, locked_until=MAX(locked_until, excluded.locked_until)",
                           (scope, key, failures, start, locked_until))
            if caused:
                self.store.audit("security", "pin-lockout", db=db, scope=caused.scope)
        return caused

    def record_success(self, nik_hash: str) -> None:
        with self.store.tx() as db:
            db.execute("DELETE FROM pin_attempts WHERE scope='nik' AND key=?", (nik_hash,))
