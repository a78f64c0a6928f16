"""PIN attempt policy: per-NIK and per-kiosk lockouts, kept in the journal across restarts."""

from pathlib import Path

from kiosk.config import PinSection
from kiosk.journal.attempts import PinPolicy
from kiosk.journal.store import Store


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def time(self) -> float:
        return self.t


def policy(tmp_path: Path, clock: Clock, **kw: int) -> PinPolicy:
    return PinPolicy(Store(tmp_path / "j.sqlite3"), PinSection(**kw), clock)  # type: ignore[arg-type]


def test_third_wrong_pin_locks_the_nik(tmp_path: Path) -> None:
    clock = Clock()
    p = policy(tmp_path, clock)
    assert p.record_failure("nikA") is None
    assert p.tries_left("nikA") == 2
    assert p.record_failure("nikA") is None
    lock = p.record_failure("nikA")
    assert lock is not None and lock.scope == "nik"
    assert p.lockout("nikA") is not None
    assert p.lockout("nikB") is None  # other citizens are not affected
    clock.t += 901
    assert p.lockout("nikA") is None


def test_success_resets_the_nik_counter(tmp_path: Path) -> None:
    p = policy(tmp_path, Clock())
    p.record_failure("nikA")
    p.record_failure("nikA")
    p.record_success("nikA")
    assert p.tries_left("nikA") == 3


def test_guessing_across_many_niks_locks_the_kiosk(tmp_path: Path) -> None:
    clock = Clock()
    p = policy(tmp_path, clock, max_failures_per_kiosk=5)
    locks = [p.record_failure(f"nik{i}") for i in range(5)]
    assert locks[-1] is not None and locks[-1].scope == "kiosk"
    lock = p.lockout("a-fresh-nik")
    assert lock is not None and lock.scope == "kiosk"
    clock.t += 301
    assert p.lockout("a-fresh-nik") is None


def test_lockout_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    p = policy(tmp_path, clock)
    for _ in range(3):
        p.record_failure("nikA")
    p.store.close()
    again = policy(tmp_path, clock)
    assert again.lockout("nikA") is not None


def test_no_pin_or_nik_is_stored(tmp_path: Path) -> None:
    p = policy(tmp_path, Clock())
    p.record_failure("a1b2c3")
    p.store.close()
    raw = (tmp_path / "j.sqlite3").read_bytes() + b"".join(f.read_bytes() for f in tmp_path.glob("j.sqlite3-*"))
    assert b"3201" not in raw
