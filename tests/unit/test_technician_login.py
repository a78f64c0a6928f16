"""Technician login attempts: per-ID lockout, a kiosk-wide limit that slows and never locks out,
unknown IDs costing the same as known ones, and a burst of parallel guesses getting no extra tries.

The witness is the password hasher the test hands in (it counts every argon2 verification the
kiosk asks for) and what the technician sees: logged in, or refused.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from flask.testing import FlaskClient

from kiosk.journal.store import Store
from kiosk.services import Kiosk
from kiosk.staff.maintenance import Maintenance
from kiosk.staff.technicians import LoginPolicy, TechnicianAccounts
from ui import create_app

PASSWORD = "correct-horse-9"


class CountingHasher(PasswordHasher):
    """argon2id, cheap for tests, counting (and optionally slowing) every verification."""

    def __init__(self, verify_s: float = 0.0) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verify_s = verify_s
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's own name
        with self._lock:
            self.verified += 1
        time.sleep(self.verify_s)
        return super().verify(hash, password)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def accounts(tmp_path: Path, hasher: PasswordHasher, clock: Callable[[], float] = time.time,
             sleep: Callable[[float], None] = time.sleep, **policy: Any) -> TechnicianAccounts:
    acc = TechnicianAccounts(Store(tmp_path / "j.sqlite3"), LoginPolicy(**policy), hasher, clock, sleep)
    acc.add("T01", PASSWORD)
    return acc


def login_form_token(client: FlaskClient) -> str:
    html = client.get("/maintenance/login").text
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_wrong_passwords_lock_that_id_only(tmp_path: Path) -> None:
    clock = Clock()
    acc = accounts(tmp_path, CountingHasher(), clock, max_failures_per_id=3, id_lockout_s=600)
    acc.add("T02", PASSWORD)
    assert [acc.login("T01", "wrong-password").tries_left for _ in range(2)] == [2, 1]
    third = acc.login("T01", "wrong-password")
    assert not third.ok and third.locked_s == 600
    locked = acc.login("T01", PASSWORD)  # the right password is refused while locked
    assert not locked.ok and locked.locked_s > 0
    assert acc.login("T02", PASSWORD).ok  # another technician is not affected
    clock.t += 601
    assert acc.login("T01", PASSWORD).ok
    events = [r[0] for r in acc.store.query("SELECT event FROM audit WHERE category='security'")]
    assert events.count("technician-login-failed") == 3 and "technician-login-refused" in events
    assert "technician-lockout" in events


def test_unknown_ids_cost_and_count_like_known_ones(tmp_path: Path) -> None:
    hasher = CountingHasher()
    acc = accounts(tmp_path, hasher, max_failures_per_id=2)
    for tid in ("T01", "NOBODY", "not an id!"):
        before = hasher.verified
        first, second = acc.login(tid, "wrong-password"), acc.login(tid, "wrong-password")
        assert hasher.verified - before == 2, tid  # one argon2 verification per attempt, known or not
        assert (first.tries_left, second.locked_s > 0) == (1, True), tid


def test_guesses_under_made_up_ids_slow_logins_and_never_lock_the_real_one(kiosk: Kiosk) -> None:
    """Issue 13 defect 10: twenty wrong logins under made-up IDs locked every technician out, renewable."""
    TechnicianAccounts(kiosk.store).add("T01", PASSWORD)
    client = create_app(kiosk).test_client()
    token = login_form_token(client)
    for i in range(20):
        r = client.post("/maintenance/login", data={"csrf_token": token, "tech_id": f"GUESS{i:02d}",
                                                    "password": "guess-password"})
        assert r.status_code == 401, (i, r.status_code)
    started = time.monotonic()
    r = client.post("/maintenance/login", data={"csrf_token": token, "tech_id": "T01", "password": PASSWORD})
    took = time.monotonic() - started
    assert r.status_code == 302 and r.location.endswith("/maintenance/"), r.status_code
    assert 1.0 <= took < 5.0  # slowed (the first delay past the kiosk-wide limit), not refused


def test_the_kiosk_wide_delay_grows_and_is_capped(tmp_path: Path) -> None:
    waits: list[float] = []
    acc = accounts(tmp_path, CountingHasher(), Clock(), waits.append, max_failures_per_kiosk=4,
                   kiosk_delay_s=1.0, kiosk_max_delay_s=8.0)
    for i in range(9):
        assert not acc.login(f"GUESS{i}", "wrong-password").ok
    assert waits == [1, 2, 4, 8, 8]
    assert acc.login("T01", PASSWORD).ok and waits[-1] == 8


def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(kiosk: Kiosk) -> None:
    """Issue 13 defect 7 (technicians): seven wrong passwords at once, then the right one while they are checked."""
    hasher = CountingHasher(verify_s=0.8)
    acc = TechnicianAccounts(kiosk.store, hasher=hasher)
    acc.add("T01", PASSWORD)
    maint = Maintenance(kiosk, accounts=acc)
    barrier = threading.Barrier(7)
    results: list[bool] = []

    def guess() -> None:
        barrier.wait()
        results.append(maint.login("T01", "wrong-password")[0].ok)

    threads = [threading.Thread(target=guess) for _ in range(7)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # the guesses are with the hasher now
    right, token = maint.login("T01", PASSWORD)
    for t in threads:
        t.join()
    assert results == [False] * 7
    assert not right.ok and token is None and right.locked_s > 0
    assert hasher.verified == LoginPolicy().max_failures_per_id  # the rest never reached the hash
    assert maint.sessions.active is None and kiosk.mode != "maintenance"
