"""The daily blank report: it balances, matches the hopper, crosses midnight, and reaches central once per day.

Witnesses the kiosk does not own: the simulated card printer's hopper count (kept by the
spool), the cards that came out of it, and what the simulated central recorded. The
kiosk's clock is moved to just before local midnight (Asia/Jakarta) by shifting
``time.time`` for the whole process: the journal, the outbox and central all see it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hardware_sim import citizens
from kiosk.model import DocumentKind
from kiosk.services import Kiosk
from kiosk.staff.blank_report import DailyBlankReports, report_receipt

ROOT = Path(__file__).resolve().parents[2]
JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")


class ShiftedClock:
    """``time.time`` plus an offset the test moves (monotonic time is left alone)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def set_local(self, when: dt.datetime) -> None:
        self.offset += when.timestamp() - time.time()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[ShiftedClock]:
    yield ShiftedClock(monkeypatch)


def hopper(k: Kiosk) -> int:
    return int(k.sim.queue("card_printer").hopper)


def cards_out(k: Kiosk) -> int:
    return len(k.sim.cups.printed_files(k.devices.configs["card_printer"].queue))


def print_card(k: Kiosk, who: int, pin: str) -> None:
    ident = citizens.DEMO[who][0]
    k.central_server.sim.issue_pin(ident.nik, [DocumentKind.KTP_EL], pin=pin)
    s = k.sessions.start(ident.nik, "nik")
    assert k.sessions.submit_pin(s.id, pin).ok
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 30)
    k.sessions.end(s.id)


def jam_a_card(k: Kiosk, who: int, pin: str) -> None:
    from kiosk.staff.maintenance import Maintenance
    from kiosk.staff.technicians import TechnicianAccounts
    from tests.unit.test_maintenance import FAST
    k.sim.queue("card_printer").jam_on(1)
    print_card(k, who, pin)
    assert Maintenance(k, accounts=TechnicianAccounts(k.store, hasher=FAST)).clear_fault("T01", "card_printer")[0]
    k.monitor.refresh()


def flush(k: Kiosk) -> None:
    deadline = time.monotonic() + 20
    while k.outbox.backlog() and time.monotonic() < deadline:
        with k.store.tx() as db:
            db.execute("UPDATE outbox SET next_attempt_at=0")
        k.outbox.flush()
    assert k.outbox.backlog() == 0


def test_each_day_balances_against_the_hopper_across_midnight(make_kiosk: Callable[..., Kiosk],
                                                               clock: ShiftedClock) -> None:
    today = dt.datetime.now(JAKARTA).date()
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, JAKARTA)
    clock.set_local(midnight - dt.timedelta(minutes=2))  # 23:58 local: the simulated kiosk's blanks are loaded today
    k = make_kiosk(**{"status.heartbeat_interval_s": 0})
    k.background.stop()  # the test says when the report is made
    reports = DailyBlankReports(k.store, k.cfg.kiosk.id, "Asia/Jakarta")
    full = hopper(k)
    print_card(k, 0, "918273")
    jam_a_card(k, 1, "273645")
    first_day_end = hopper(k)
    assert reports.due() == [] and k.blank_reports.queue_due() == []  # the day is not over yet
    clock.set_local(midnight + dt.timedelta(minutes=1))
    print_card(k, 2, "364556")
    print_card(k, 1, "273645")  # the jammed citizen comes back after midnight
    second_day_end = hopper(k)
    clock.set_local(midnight + dt.timedelta(days=1, minutes=5))
    assert k.blank_reports.queue_due() == [today, today + dt.timedelta(days=1)]
    assert k.blank_reports.queue_due() == []  # once per day
    flush(k)

    got = {r.day: r.kinds for r in k.central_server.sim.blank_reports.reports(k.cfg.kiosk.id)}
    d1, d2 = got[today.isoformat()], got[(today + dt.timedelta(days=1)).isoformat()]
    assert (d1["ktp-el"].opening, d1["ktp-el"].loaded, d1["ktp-el"].printed, d1["ktp-el"].spoiled) == (0, 80, 1, 1)
    assert (d2["ktp-el"].opening, d2["ktp-el"].loaded, d2["ktp-el"].printed, d2["ktp-el"].spoiled) == (78, 0, 2, 0)
    for day, end in ((d1, first_day_end), (d2, second_day_end)):  # the hopper's own count is the witness
        assert sum(m.remaining for m in day.values()) == end
    assert sum(m.loaded for m in d1.values()) == full
    assert full - first_day_end == sum(m.printed + m.spoiled for m in d1.values())
    assert first_day_end - second_day_end == sum(m.printed + m.spoiled for m in d2.values())
    assert cards_out(k) == sum(m.printed for day in (d1, d2) for m in day.values())  # cards that came out
    assert d1["kia"].remaining == d2["kia"].opening == d2["kia"].remaining == 20
    assert [status for _, status in k.central_server.sim.blank_reports.deliveries()] == ["accepted", "accepted"]


def test_the_printed_report_shows_the_days_numbers(make_kiosk: Callable[..., Kiosk]) -> None:
    k = make_kiosk()
    today = k.blank_reports.local_day(time.time())
    report = k.blank_reports.build(today)
    assert not report.closed and report.balanced
    text = report_receipt(report, "Kantor Kecamatan", k.blank_reports.delivered(today)).text()
    assert "LAPORAN HARIAN BLANKO" in text and "KTP-el" in text and "KIA" in text
    assert "Dimuat" in text and "80" in text and "hari belum selesai" in text


CHILD = """
import sys, time
from pathlib import Path
from kiosk.cli.composition import build_kiosk
from tests.conftest import sim_config
k = build_kiosk(sim_config(Path(sys.argv[1]), **{"status.heartbeat_interval_s": 0}))
k.blank_reports.queue_due(time.time() + 86400)  # tomorrow: today is closed
k.outbox.flush()
k.stop()
print("finished")
"""


def run_child(base: Path, crash_at: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ADM_CRASH_AT": crash_at}
    return subprocess.run([sys.executable, "-c", CHILD, str(base)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("crash_at", ["blank-report-built", "blank-report-queued", "blank-report-delivered"])
def test_a_kill_between_building_and_sending_loses_and_doubles_nothing(make_kiosk: Callable[..., Kiosk],
                                                                        tmp_path: Path, crash_at: str) -> None:
    """SIGKILL before the report is queued, after it is queued, and after central acknowledged it."""
    proc = run_child(tmp_path, crash_at)
    assert proc.returncode == -9 and "finished" not in proc.stdout, proc.stderr[-2000:]
    k = make_kiosk(tmp_path, start=False, **{"status.heartbeat_interval_s": 0})
    k.blank_reports.queue_due(time.time() + 86400)
    flush(k)
    central = k.central_server.sim.blank_reports
    (report,) = central.reports(k.cfg.kiosk.id)  # one report for the day: none lost, none doubled
    assert report.day == k.blank_reports.local_day(time.time()).isoformat()
    assert sum(m.remaining for m in report.kinds.values()) == hopper(k) == 100
    expected = ["accepted", "duplicate"] if crash_at == "blank-report-delivered" else ["accepted"]
    assert [status for _, status in central.deliveries()] == expected


def test_a_technician_prints_the_report_on_the_receipt_printer(make_kiosk: Callable[..., Kiosk]) -> None:
    """Through the maintenance screen: what comes out of the (emulated) receipt printer is the day's report."""
    from kiosk.staff.technicians import TechnicianAccounts
    from tests.unit.test_maintenance import FAST, _login
    from ui import create_app

    k = make_kiosk()
    print_card(k, 0, "918273")
    app = create_app(k)
    app.extensions["maintenance"].accounts = TechnicianAccounts(k.store, hasher=FAST)
    app.extensions["maintenance"].accounts.add("T01", "correct-horse-9")
    client = app.test_client()
    token = _login(client)
    page = client.get("/maintenance/blank-report")
    assert page.status_code == 200 and 'id="day-ktp-el"' in page.text
    assert '<td class="printed">1</td>' in page.text and '<td class="remaining">79</td>' in page.text
    before = len(k.sim.escpos.receipts)
    r = client.post("/maintenance/blank-report/print", data={"csrf_token": token, "date": ""})
    assert r.status_code == 302
    assert len(k.sim.escpos.receipts) == before + 1
    text = k.sim.escpos.receipts[-1].text
    assert "LAPORAN HARIAN BLANKO" in text and "Seimbang" in text
    remaining = [int(line.split()[-1]) for line in text.splitlines() if line.strip().startswith("Sisa")]
    assert sum(remaining) == hopper(k) == 99  # what the paper says is what the hopper holds
    assert client.get("/maintenance/blank-report?date=01-12-2026").status_code == 302  # not YYYY-MM-DD: said so
    assert k.store.query_one("SELECT COUNT(*) FROM audit WHERE event='blank-report-printed'")[0] == 1


def test_the_cli_shows_a_days_report(make_kiosk: Callable[..., Kiosk], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli.main import main as cli_main
    k = make_kiosk(tmp_path)
    print_card(k, 0, "918273")
    k.stop()
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path}/data"\n[sim]\nstate_dir = "{tmp_path}/sim"\n')
    assert cli_main(["blanks", "report", "--config", str(cfg), "--sim", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ktp = next(m for m in out["kinds"] if m["kind"] == "ktp-el")
    assert (ktp["opening"], ktp["loaded"], ktp["printed"], ktp["spoiled"], ktp["remaining"]) == (0, 80, 1, 0, 79)
    assert out["balanced"] and not out["closed"]
    assert cli_main(["blanks", "report", "--config", str(cfg), "--sim", "--date", "2026-02-30"]) == 2
    assert cli_main(["blanks", "report", "--config", str(cfg), "--sim", "--date", "2020-01-01"]) == 0
    assert "Sisa" in capsys.readouterr().out


def test_the_report_and_its_acknowledgements_are_as_documented(make_kiosk: Callable[..., Kiosk]) -> None:
    """docs/central-api.yaml: the kiosk's BlankReport, central's ReportAck for it, and the HeartbeatAck."""
    import jsonschema_rs
    import yaml

    from kiosk.citizen.central import auth_header
    spec = yaml.safe_load((ROOT / "docs" / "central-api.yaml").read_text())

    def valid(name: str, doc: object) -> bool:
        ref = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        return jsonschema_rs.Draft202012Validator(ref).is_valid(doc)

    k = make_kiosk(start=False)
    day = k.blank_reports.local_day(time.time())
    payload = k.blank_reports.build(day, time.time() + 86400).payload(k.blank_reports.key(day))
    assert valid("BlankReport", payload)
    http = k.central._http
    for path, body, schema in (("/v1/blank-reports", payload, "ReportAck"), ("/v1/heartbeat", {}, "HeartbeatAck")):
        raw = json.dumps(body).encode()
        key = k.central._key
        r = http.post(path, content=raw, headers={"Authorization": auth_header(k.cfg.kiosk.id, key, "POST", path, raw),
                                                  "Content-Type": "application/json"})
        assert r.status_code == 200 and valid(schema, r.json()), (path, r.text)
    unbalanced = {**payload, "idempotency_key": payload["idempotency_key"] + "x",
                  "kinds": [{**payload["kinds"][0], "remaining": payload["kinds"][0]["remaining"] + 1}]}
    status, out = k.central_server.sim.blank_reports.receive(k.cfg.kiosk.id, unbalanced)
    assert (status, out["error"]) == (422, "blank-report-unbalanced")
    changed = {**payload, "period": {"start": 0, "end": 1}}
    assert k.central_server.sim.blank_reports.receive(k.cfg.kiosk.id, changed)[0] == 409  # one key, one report


def test_a_garbage_answer_is_not_a_delivered_report(make_kiosk: Callable[..., Kiosk]) -> None:
    """A 200 that is not central's acknowledgement (a proxy's page) leaves the report queued; it is sent once later."""
    k = make_kiosk(start=False, **{"status.heartbeat_interval_s": 0})
    sim = k.central_server.sim
    assert k.blank_reports.queue_due(time.time() + 86400) == [k.blank_reports.local_day(time.time())]
    sim.faults.fail_next(200)
    assert k.outbox.flush() == 0 and k.outbox.backlog() == 1
    assert sim.blank_reports.reports() == [] and "not accept" in k.outbox.last_error()
    flush(k)
    assert len(sim.blank_reports.reports()) == 1 and [s for _, s in sim.blank_reports.deliveries()] == ["accepted"]


def test_the_timezone_is_checked() -> None:
    from kiosk.config import ConfigError, load
    with pytest.raises(ConfigError, match="'kiosk.timezone': expected an IANA time zone"):
        load(env={}, overrides={"sim.mode": "inprocess", "kiosk.timezone": "WIB"})
    assert load(env={}, overrides={"sim.mode": "inprocess", "kiosk.timezone": "Asia/Jayapura"}).kiosk.timezone
