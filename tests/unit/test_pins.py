"""The attempt limiter: per-subject and kiosk-wide limits, reserved before the verifier, kept in the journal."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from kiosk.config import PinSection
from kiosk.journal import store as store_mod
from kiosk.journal.attempts import AttemptLimiter, AttemptRefused, Limit, PinPolicy
from kiosk.journal.store import Store
from kiosk.staff.technicians import TechnicianAccounts


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def policy(tmp_path: Path, clock: Clock, **kw: int) -> PinPolicy:
    return PinPolicy(Store(tmp_path / "j.sqlite3"), PinSection(**kw), clock)


def wrong(p: AttemptLimiter, subject: str) -> object:
    return p.failed(p.reserve(subject))


def test_third_wrong_pin_locks_the_nik(tmp_path: Path) -> None:
    clock = Clock()
    p = policy(tmp_path, clock)
    assert wrong(p, "nikA") is None
    assert p.tries_left("nikA") == 2
    assert wrong(p, "nikA") is None
    lock = wrong(p, "nikA")
    assert lock is not None and lock.scope == "nik"  # type: ignore[attr-defined]
    assert p.lockout("nikA") is not None
    with pytest.raises(AttemptRefused) as refused:
        p.reserve("nikA")
    assert refused.value.lockout is not None and refused.value.lockout.scope == "nik"
    assert p.lockout("nikB") is None  # other citizens are not affected
    clock.t += 901
    assert p.lockout("nikA") is None
    assert p.tries_left("nikA") == 3


def test_success_resets_the_nik_counter_and_a_release_counts_nothing(tmp_path: Path) -> None:
    p = policy(tmp_path, Clock())
    wrong(p, "nikA")
    p.released(p.reserve("nikA"))  # central gave no verdict
    assert p.tries_left("nikA") == 2
    wrong(p, "nikA")
    p.succeeded(p.reserve("nikA"))
    assert p.tries_left("nikA") == 3


def test_reservations_in_flight_fill_the_limit(tmp_path: Path) -> None:
    """Reserved + failed reaching the limit refuses the next one before the verifier is asked."""
    p = policy(tmp_path, Clock())
    wrong(p, "nikA")
    held = [p.reserve("nikA"), p.reserve("nikA")]
    assert p.tries_left("nikA") == 0
    with pytest.raises(AttemptRefused) as refused:
        p.reserve("nikA")
    assert refused.value.lockout is None  # not locked (yet): full with attempts in flight
    p.released(held[0])
    p.reserve("nikA")


def test_guessing_across_many_niks_locks_the_kiosk(tmp_path: Path) -> None:
    clock = Clock()
    p = policy(tmp_path, clock, max_failures_per_kiosk=5)
    locks = [wrong(p, f"nik{i}") for i in range(5)]
    assert locks[-1] is not None and locks[-1].scope == "kiosk"  # type: ignore[attr-defined]
    lock = p.lockout("a-fresh-nik")
    assert lock is not None and lock.scope == "kiosk"
    clock.t += 301
    assert p.lockout("a-fresh-nik") is None


def test_lockout_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    p = policy(tmp_path, clock)
    for _ in range(3):
        wrong(p, "nikA")
    p.store.close()
    again = policy(tmp_path, clock)
    assert again.lockout("nikA") is not None


def test_a_reservation_never_settled_lapses_into_a_failure(tmp_path: Path) -> None:
    """The process died between asking central and settling: the attempt may have been a wrong PIN."""
    clock = Clock()
    p = policy(tmp_path, clock)
    p.reserve("nikA")
    p.reserve("nikA")
    p.store.close()
    clock.t += 121
    again = policy(tmp_path, clock)
    again.released(again.reserve("nikA"))
    assert again.tries_left("nikA") == 1


def test_two_processes_reserving_at_once_never_exceed_the_limit(tmp_path: Path) -> None:
    """Two journal connections (as two kiosk processes would have), 16 threads released together."""
    stores = [Store(tmp_path / "j.sqlite3"), Store(tmp_path / "j.sqlite3")]
    limiters = [PinPolicy(s, PinSection()) for s in stores]
    barrier = threading.Barrier(16)
    got: list[bool] = []

    def one(i: int) -> None:
        barrier.wait()
        try:
            limiters[i % 2].reserve("nikA")
            got.append(True)
        except AttemptRefused:
            got.append(False)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got.count(True) == 3 and len(got) == 16


def test_a_slow_limit_delays_and_never_refuses(tmp_path: Path) -> None:
    waits: list[float] = []
    limiter = AttemptLimiter(Store(tmp_path / "j.sqlite3"), "t",
                             [Limit("kiosk", 3, 600, per_subject=False, base_delay_s=1, max_delay_s=4)],
                             Clock(), waits.append)
    for i in range(7):
        limiter.failed(limiter.reserve(f"x{i}"))
    assert waits == [1, 2, 4, 4]


def test_a_full_journal_counts_in_memory(tmp_path: Path) -> None:
    store = Store(tmp_path / "j.sqlite3")
    p = PinPolicy(store, PinSection(), Clock())
    wrong(p, "nikA")
    with store._lock:
        store._db.execute(f"PRAGMA max_page_count={store._db.execute('PRAGMA page_count').fetchone()[0]}")
    filler = 0
    with pytest.raises(sqlite3.DatabaseError):
        while True:
            with store.tx() as db:
                db.execute("INSERT INTO settings(key, value) VALUES (?, ?)", (f"f{filler}", "x" * 2000))
            filler += 1
    assert wrong(p, "nikA") is None
    assert p.tries_left("nikA") == 1  # one in the journal, one in memory
    lock = wrong(p, "nikA")
    assert lock is not None and p.lockout("nikA") is not None


def test_no_pin_or_nik_is_stored(tmp_path: Path) -> None:
    p = policy(tmp_path, Clock())
    wrong(p, "a1b2c3")
    p.store.close()
    raw = (tmp_path / "j.sqlite3").read_bytes() + b"".join(f.read_bytes() for f in tmp_path.glob("j.sqlite3-*"))
    assert b"3201" not in raw


def test_counts_in_a_journal_from_before_the_limiter_carry_over(tmp_path: Path) -> None:
    """A kiosk updated in the field keeps its lockouts: the two old tables move into the limiter's."""
    path = tmp_path / "j.sqlite3"
    old = sqlite3.connect(str(path), isolation_level=None)
    for version, sql in enumerate(store_mod.MIGRATIONS[:4], start=1):
        old.executescript(sql)
        old.execute(f"PRAGMA user_version={version}")
    now = 1_000_000.0
    old.execute("INSERT INTO pin_attempts VALUES ('nik', 'nikA', 0, ?, ?)", (now, now + 600))
    old.execute("INSERT INTO technician_attempts VALUES ('id:T01', 0, ?, ?)", (now, now + 600))
    old.close()
    clock = Clock()
    store = Store(path)
    assert store.version == len(store_mod.MIGRATIONS)
    lock = PinPolicy(store, PinSection(), clock).lockout("nikA")
    assert lock is not None and lock.scope == "nik"
    assert TechnicianAccounts(store, clock=clock).attempts.lockout("T01") is not None
