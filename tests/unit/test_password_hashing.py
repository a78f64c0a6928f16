"""Technician password hashes use the OWASP argon2id parameters, and hashes made with the old
ones (argon2-cffi's 64 MiB default) still let the technician in and are rehashed at that login.

The witness is argon2's own reading of the stored hash (``extract_parameters``), not the
kiosk's hasher object, and whether the technician gets in.
"""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher, Type, extract_parameters

from kiosk.journal.store import Store
from kiosk.staff.technicians import TechnicianAccounts

PASSWORD = "correct-horse-9"
# The OWASP Password Storage Cheat Sheet's argon2id settings (memory KiB, iterations), p=1, all equivalent.
OWASP = {(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)}
CHOSEN = (12288, 3)


def stored_hash(acc: TechnicianAccounts, tid: str) -> str:
    row = acc.store.query_one("SELECT password_hash FROM technicians WHERE id=?", (tid,))
    assert row is not None
    return str(row[0])


def owasp_pair(digest: str) -> tuple[int, int]:
    p = extract_parameters(digest)
    assert (p.type, p.parallelism) == (Type.ID, 1), digest
    return p.memory_cost, p.time_cost


def test_new_hashes_and_the_dummy_use_the_owasp_parameters(tmp_path: Path) -> None:
    """Issue 16: the default 64 MiB hash took the kiosk's peak RSS at a login from ~115 to ~190 MB."""
    acc = TechnicianAccounts(Store(tmp_path / "j.sqlite3"))
    acc.add("T01", PASSWORD)
    assert owasp_pair(stored_hash(acc, "T01")) == CHOSEN and CHOSEN in OWASP
    assert not acc.login("NOBODY", PASSWORD).ok  # an unknown ID is checked against the dummy hash
    assert owasp_pair(acc._dummy_hash) == CHOSEN  # the same work as a known ID


def test_an_old_default_hash_still_logs_in_and_is_rehashed(tmp_path: Path) -> None:
    acc = TechnicianAccounts(Store(tmp_path / "j.sqlite3"))
    acc.add("T01", PASSWORD)
    old = PasswordHasher().hash(PASSWORD)  # what accounts made before issue 16 hold
    assert extract_parameters(old).memory_cost == 65536
    with acc.store.tx() as db:
        db.execute("UPDATE technicians SET password_hash=? WHERE id='T01'", (old,))
    assert not acc.login("T01", "wrong-password").ok
    assert stored_hash(acc, "T01") == old  # a wrong password rehashes nothing
    assert acc.login("T01", PASSWORD).ok
    new = stored_hash(acc, "T01")
    assert new != old and owasp_pair(new) == CHOSEN
    assert PasswordHasher().verify(new, PASSWORD)  # the new hash is of the same password
    assert acc.login("T01", PASSWORD).ok and stored_hash(acc, "T01") == new  # rehashed once, not at every login
