"""A full, busy or read-only journal: a clear out-of-service state, nothing consumed, no corruption.

Four ways to break the disk under the journal:
- ``disk-full``: ``PRAGMA max_page_count`` pinned at the current size, so SQLite answers
  SQLITE_FULL exactly as on a full disk (portable, no root);
- ``disk-full-tmpfs``: the data directory on a 4 MB tmpfs filled up with a file (a real
  ENOSPC; needs root and mount, skipped otherwise);
- ``busy``: another process holds the write lock (SQLITE_BUSY after the busy timeout);
- ``read-only``: the connection may only read (SQLITE_READONLY, as after a remount ro).

In each case a citizen who arrives is told the kiosk is out of service, the welcome screen
says so (503) with a reason for the technician, an authenticated citizen's print consumes
nothing, the journal passes ``integrity_check``, and once the disk is back the kiosk
returns to service by itself and prints.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hardware_sim import citizens
from kiosk.citizen.session import SessionError
from kiosk.journal import store as store_mod
from kiosk.services import Kiosk
from kiosk.staff.technicians import TechnicianAccounts
from tests.reliability.results import record
from ui import create_app

FAULTS = ["disk-full", "disk-full-tmpfs", "busy", "read-only"]
REASON = {"disk-full": ("disk-full",), "disk-full-tmpfs": ("disk-full", "io-error"), "busy": ("busy",),
          "read-only": ("read-only",)}
_seen: dict[str, dict[str, object]] = {}


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real full disk needs root to mount a small tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_sessions_table(k: Kiosk) -> int:
    """A nearly full disk still takes writes that fit in pages SQLite already has; ended,
    anonymous session rows use up that slack until the next session cannot be journaled."""
    for i in range(200_000):
        try:
            with k.store.tx() as db:
                db.execute("INSERT INTO sessions(id, started_at, state) VALUES (?, 0, 'ended')", (f"filler-{i:06d}",))
        except sqlite3.DatabaseError:
            return i
    raise AssertionError("the journal never filled up")


def break_journal(k: Kiosk, fault: str, tmp_path: Path) -> Callable[[], None]:
    """Breaks the journal's disk; returns what puts it right."""
    db = k.store._db
    if fault == "disk-full":
        with k.store._lock:
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count={pages}")
        fill_sessions_table(k)
        return lambda: db.execute("PRAGMA max_page_count=1073741823")
    if fault == "disk-full-tmpfs":
        filler = k.cfg.data_dir / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        fill_sessions_table(k)
        return lambda: filler.unlink()
    if fault == "busy":
        db.execute("PRAGMA busy_timeout=100")
        other = sqlite3.connect(str(k.store.path), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        return lambda: (other.execute("ROLLBACK"), other.close(), db.execute("PRAGMA busy_timeout=10000"))
    if fault == "read-only":
        db.execute("PRAGMA query_only=ON")
        return lambda: db.execute("PRAGMA query_only=OFF")
    raise ValueError(fault)


@pytest.mark.parametrize("fault", FAULTS)
def test_broken_journal_means_out_of_service_not_corruption(
        fault: str, make_kiosk: Callable[..., Kiosk], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "PROBE_INTERVAL_S", 0.0)
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(tmpfs(tmp_path / "disk")) if fault == "disk-full-tmpfs" else tmp_path
        k = make_kiosk(base, **({"kiosk.data_dir": str(base / "data"), "sim.state_dir": str(tmp_path / "sim"),
                                 "sim.output_dir": str(tmp_path / "sim" / "output")} if fault == "disk-full-tmpfs" else {}))
        for q in k.sim.cups.queues.values():
            q.seconds_per_job = 0.0
        client = create_app(k).test_client()
        issued = k.issue_demo_pins()[0]
        # a citizen already past the PIN when the disk breaks
        s = k.sessions.start(issued.nik, "nik")
        assert k.sessions.submit_pin(s.id, issued.pin).ok
        blanks = dict(k.store.query("SELECT state, COUNT(*) FROM blank_cards GROUP BY state"))

        repair = break_journal(k, fault, tmp_path)
        try:  # refused at once, or the print thread meets the fault: the citizen's screen reaches its end either way
            k.sessions.start_printing(s.id, [d.id for d in s.documents])
        except (SessionError, sqlite3.DatabaseError):
            pass
        else:
            k.sessions.wait_printed(s.id)
            assert s.outcome is not None and s.step.value == "done"
        # whatever got written is whole: no blank taken without its job settled; a job whose end the full journal
        # could not record (an A4 job's submit is an update in place and fits, its report does not) stays open
        # for recovery, which settles it once the journal can be written again (below)
        states = dict(k.store.query("SELECT state, COUNT(*) FROM blank_cards GROUP BY state"))
        assert "consumed" not in states, states
        left_open = k.store.query_one("SELECT COUNT(*) FROM print_jobs WHERE state IN ('planned','submitted')")[0]
        assert left_open == 0 or fault.startswith("disk-full"), left_open
        # the next citizen: told plainly, no crash
        with pytest.raises(SessionError) as exc:
            k.sessions.start(citizens.DEMO[1][0].nik, "nik")
        assert exc.value.code == "out-of-service"
        assert k.store.fault in REASON[fault]
        avail = k.availability()
        assert not avail.available and avail.reasons == [f"journal: {k.store.fault}"]
        page = client.get("/")
        assert page.status_code == 503
        if fault in ("busy", "read-only"):  # nothing could be written: nothing consumed, the PIN untouched
            assert dict(k.store.query("SELECT state, COUNT(*) FROM blank_cards GROUP BY state")) == blanks
            assert k.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 0
            assert k.central_server.sim.request_state(issued.request_id) == "ready"

        repair()
        check = sqlite3.connect(str(k.store.path))
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
        assert k.printing.recover() == left_open  # what a restart runs: every open job asked of its printer
        assert k.store.query_one("SELECT COUNT(*) FROM print_jobs WHERE state IN ('planned','submitted')")[0] == 0
        assert k.availability().available, k.availability().reasons
        k.sessions.end(s.id, "abandoned")
        issued = k.issue_demo_pins()[0]
        s = k.sessions.start(issued.nik, "nik")
        assert k.sessions.submit_pin(s.id, issued.pin).ok
        k.sessions.start_printing(s.id, [d.id for d in s.documents])
        k.sessions.wait_printed(s.id)
        assert s.outcome is not None and not s.outcome.failed
        k.stop()
    _seen[fault] = {"reason": avail.reasons[0], "welcome_status": page.status_code}
    record("journal_faults", {"faults": dict(sorted(_seen.items()))})


@pytest.mark.parametrize("fault", ["disk-full", "disk-full-tmpfs"])
def test_a_technician_logs_in_while_the_journal_disk_is_full(fault: str, make_kiosk: Callable[..., Kiosk],
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13 defect 14: exactly when a technician is needed, the full journal refused the login.

    Attempts are counted in memory meanwhile (a guesser is still stopped), the audit lines go to
    the log, and the dashboard shows the technician why the kiosk is out of service."""
    monkeypatch.setattr(store_mod, "PROBE_INTERVAL_S", 0.0)
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(tmpfs(tmp_path / "disk")) if fault == "disk-full-tmpfs" else tmp_path
        k = make_kiosk(base, **({"kiosk.data_dir": str(base / "data"), "sim.state_dir": str(tmp_path / "sim"),
                                 "sim.output_dir": str(tmp_path / "sim" / "output")} if fault == "disk-full-tmpfs" else {}))
        technician_in_a_full_journal(k, fault, tmp_path)
        k.stop()


def technician_in_a_full_journal(k: Kiosk, fault: str, tmp_path: Path) -> None:
    TechnicianAccounts(k.store).add("T01", "correct-horse-9")
    client = create_app(k).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/maintenance/login").text).group(1)  # type: ignore[union-attr]

    def login(tech_id: str, password: str) -> int:
        return client.post("/maintenance/login", data={"csrf_token": token, "tech_id": tech_id,
                                                       "password": password}).status_code

    repair = break_journal(k, fault, tmp_path)
    for i in range(100_000):  # the audit table's last page has room too: used up, as on a really full disk
        try:
            k.store.audit("filler", "filler", n=i)
        except sqlite3.DatabaseError:
            break
    try:
        assert [login("GUESSER", "wrong-password") for _ in range(6)] == [401] * 4 + [429] * 2  # still counted
        assert login("T01", "wrong-password") == 401
        assert login("T01", "correct-horse-9") == 302
        page = client.get("/maintenance/")
        assert page.status_code == 200
        if fault == "disk-full-tmpfs":  # (a pinned page count still takes small in-place writes, which clear the fault)
            assert k.store.fault in REASON[fault] and f"journal: {k.store.fault}" in page.text
    finally:
        repair()
