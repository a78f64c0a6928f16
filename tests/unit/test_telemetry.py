"""The status snapshot's estimates and the heartbeat's outbox behaviour during a central outage."""

from __future__ import annotations

import json
import time
from typing import Any

from kiosk.services import Kiosk

DAY = 86400.0


def _use_blanks(kiosk: Kiosk, kind: str, count: int, at: float) -> None:
    """Marks ``count`` blanks printed at ``at`` (as if over the past days), and backdates the journal."""
    with kiosk.store.tx() as db:
        serials = [r[0] for r in db.execute("SELECT serial FROM blank_cards WHERE kind=? AND state='stock' "
                                            "ORDER BY serial LIMIT ?", (kind, count))]
        db.executemany("UPDATE blank_cards SET state='printed', updated_at=? WHERE serial=?", [(at, s) for s in serials])
        db.execute("UPDATE audit SET ts=MIN(ts, ?)", (at - 10 * DAY,))


def test_days_left_from_the_last_week_of_use(kiosk: Kiosk) -> None:
    now = time.time()
    _use_blanks(kiosk, "ktp-el", 21, now - 3 * DAY)  # 21 in the window of 7 days: 3 a day
    _use_blanks(kiosk, "kia", 5, now - 30 * DAY)  # long ago: no recent use
    b = kiosk.telemetry.snapshot(now)["blanks"]
    assert b["ktp-el"] == {"in_stock": 59, "used_per_day": 3.0, "days_left": 19.67, "low_at": 10,
                         "level": "ok"}
    assert b["kia"] == {"in_stock": 15, "used_per_day": 0.0, "days_left": None, "low_at": 10, "level": "ok"}


def test_a_young_journal_averages_over_its_own_age(kiosk: Kiosk) -> None:
    """Two days old with 40 cards printed: 20 a day, not 40/7 (which would hide a shortage)."""
    now = time.time()
    _use_blanks(kiosk, "ktp-el", 40, now - DAY)
    with kiosk.store.tx() as db:
        db.execute("UPDATE audit SET ts=?", (now - 2 * DAY,))
    s = kiosk.telemetry.snapshot(now)
    assert s["usage_window_days"] == 2.0 and s["blanks"]["ktp-el"]["used_per_day"] == 20.0
    assert s["blanks"]["ktp-el"]["days_left"] == 2.0


def test_heartbeats_coalesce_while_central_is_down(make_kiosk: Any) -> None:
    kiosk = make_kiosk(start=False, **{"status.heartbeat_interval_s": 60, "central.retries": 0})
    sim = kiosk.central_server.sim
    sim.faults.down = True
    t = time.time()
    for i in range(120):  # two hours of outage
        assert kiosk.telemetry.heartbeat_tick(t + 60 * i)
        kiosk.outbox.flush()
        with kiosk.store.tx() as db:  # skip the backoff so every tick tries again
            db.execute("UPDATE outbox SET next_attempt_at=0")
        if i == 0:
            snap = kiosk.telemetry.snapshot()
            assert snap["central"]["reachable"] is False and snap["central"]["last_error"]
    assert kiosk.outbox.backlog() == 1
    pending = json.loads(kiosk.store.query_one("SELECT payload FROM outbox WHERE kind='heartbeat' AND sent_at IS NULL")[0])
    assert pending["generated_at"] == round(t + 60 * 119, 3)  # the newest snapshot, not the first
    sim.faults.down = False
    kiosk.outbox.flush()
    assert kiosk.outbox.backlog() == 0 and len(sim.heartbeats()) == 1
    assert kiosk.telemetry.snapshot()["central"]["reachable"] is True


def test_heartbeat_interval_and_off_switch(make_kiosk: Any, tmp_path: Any) -> None:
    kiosk = make_kiosk(start=False, **{"status.heartbeat_interval_s": 30})
    t = time.time()
    assert kiosk.telemetry.heartbeat_tick(t) and not kiosk.telemetry.heartbeat_tick(t + 10)
    assert kiosk.telemetry.heartbeat_tick(t + 31)
    off = make_kiosk(tmp_path / "off", start=False, **{"status.heartbeat_interval_s": 0})
    assert not off.telemetry.heartbeat_tick(t)


def test_failed_components_list_a_failing_loop(kiosk: Kiosk) -> None:
    assert kiosk.telemetry.snapshot()["failed_components"] == []
    kiosk.monitor.loop.failures, kiosk.monitor.loop.last_error = 3, "RuntimeError: reader 3201010508900001 gone"
    (failed,) = kiosk.telemetry.snapshot()["failed_components"]
    assert failed["name"] == "device-monitor" and failed["state"] == "failing" and failed["failures"] == 3
    assert "3201010508900001" not in failed["error"] and "3201********0001" in failed["error"]
    kiosk.monitor.loop.failures = 0
    kiosk.background.stop()
    assert [c["name"] for c in kiosk.telemetry.snapshot()["failed_components"]] == ["kiosk-background"]


def test_snapshot_is_cheap(kiosk: Kiosk) -> None:
    """A status request reads only the journal and the cache (the bench measures it properly)."""
    t0 = time.perf_counter()
    for _ in range(20):
        kiosk.telemetry.snapshot()
    assert (time.perf_counter() - t0) / 20 < 0.25


def test_job_outcome_counters_are_incremental_and_exact(kiosk: Kiosk) -> None:
    """A job still open holds the watermark; once it finishes it is counted exactly once."""
    now = time.time()

    def job(state: str, kind: str = "ktp-el") -> int:
        with kiosk.store.tx() as db:
            db.execute("INSERT OR IGNORE INTO sessions(id, started_at, state) VALUES ('s', ?, 'ended')", (now,))
            cur = db.execute("INSERT INTO print_jobs(session_id, document_id, kind, printer, state, created_at, updated_at) "
                             "VALUES ('s', 'd' || (SELECT COUNT(*) FROM print_jobs), ?, 'card_printer', ?, ?, ?)",
                                 (kind, state, now, now))  # one job per document (the journal refuses a second)
            return int(cur.lastrowid or 0)

    job("printed")
    open_id = job("submitted")
    job("failed", "kk")
    assert kiosk.telemetry.job_outcomes() == {("ktp-el", "printed"): 1, ("kk", "failed"): 1}
    with kiosk.store.tx() as db:
        db.execute("UPDATE print_jobs SET state='printed' WHERE id=?", (open_id,))
    job("printed")
    assert kiosk.telemetry.job_outcomes() == {("ktp-el", "printed"): 3, ("kk", "failed"): 1}
    assert kiosk.telemetry.job_outcomes() == {("ktp-el", "printed"): 3, ("kk", "failed"): 1}
    assert 'adm_print_jobs_total{kind="ktp-el",kiosk="ADM-SIM-0001",outcome="printed"} 3.0' in \
        kiosk.telemetry.metrics().decode()
