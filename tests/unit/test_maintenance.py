"""Maintenance mode: reconciliation arithmetic, technician sessions, the 403 route walk, audit
(login attempts: tests/unit/test_technician_login.py)."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.cli.main import main as cli_main
from kiosk.journal.jobs import PlannedDocument
from kiosk.journal.reconciliation import BlankCount, from_store, reconcile, report_pdf
from kiosk.journal.store import Store
from kiosk.services import Kiosk
from kiosk.staff.maintenance import Maintenance, MaintenanceError, serial_range
from kiosk.staff.technicians import AccountError, TechnicianAccounts, TechnicianSessions
from ui import create_app
from ui.maintenance import PUBLIC

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # argon2id still; cheap for tests
PASSWORD = "correct-horse-9"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# -- reconciliation arithmetic ----------------------------------------------------------------

STATE = st.sampled_from(["stock", "consumed", "printed", "spoiled"])
KEY = st.tuples(st.sampled_from(["ktp-el", "kia"]), st.sampled_from(["B1", "B2", "B3"]))


@given(st.lists(st.tuples(KEY, STATE), max_size=200))
@settings(max_examples=200, deadline=None)
def test_reconciliation_balances_to_the_card(cards: list[tuple[tuple[str, str], str]]) -> None:
    declared: dict[tuple[str, str], int] = {}
    for key, _state in cards:
        declared[key] = declared.get(key, 0) + 1
    rec = reconcile(declared, [(k[0], k[1], s) for k, s in cards], jobs_printed=sum(s == "printed" for _, s in cards))
    assert rec.balanced
    assert rec.total.declared == rec.total.journaled == len(cards)
    for state in ("stock", "consumed", "printed", "spoiled"):
        assert getattr(rec.total, state) == sum(s == state for _, s in cards)
        assert getattr(rec.total, state) == sum(getattr(k, state) for k in rec.kinds) == sum(
            getattr(b, state) for b in rec.batches)


@given(st.lists(st.tuples(KEY, STATE), min_size=1, max_size=100), st.integers(-5, 5).filter(bool))
@settings(max_examples=100, deadline=None)
def test_a_missing_or_extra_blank_shows_as_a_difference(cards: list[tuple[tuple[str, str], str]], off: int) -> None:
    declared: dict[tuple[str, str], int] = {}
    for key, _state in cards:
        declared[key] = declared.get(key, 0) + 1
    first = cards[0][0]
    declared[first] += off
    rec = reconcile(declared, [(k[0], k[1], s) for k, s in cards], jobs_printed=sum(s == "printed" for _, s in cards))
    assert not rec.balanced
    assert rec.total.difference == off
    assert [b.difference for b in rec.batches if (b.kind, b.batch) == first] == [off]


def test_a_batch_declared_but_never_journaled_is_all_difference() -> None:
    rec = reconcile({("kia", "B9"): 10}, [])
    assert rec.batches == [BlankCount("kia", "B9", 10)]
    assert rec.total.difference == 10 and not rec.balanced


def test_printed_blanks_must_match_printed_jobs() -> None:
    rec = reconcile({("ktp-el", "B1"): 2}, [("ktp-el", "B1", "printed"), ("ktp-el", "B1", "stock")], jobs_printed=0)
    assert rec.batches[0].balanced and not rec.balanced


def test_serial_range() -> None:
    assert serial_range("ktp-0009", "KTP-0011", 3) == ["KTP-0009", "KTP-0010", "KTP-0011"]
    for args, code in ((("KTP-0001", "KTP-0010", 9), "count-mismatch"), (("KTP-0001", "KIA-0002", 2), "serial-prefix"),
                       (("KTP-01", "KTP-0002", 2), "serial-prefix"), (("KTP-0005", "KTP-0001", 5), "serial-order"),
                       (("KTP-", "KTP-1", 1), "serial-format")):
        with pytest.raises(MaintenanceError) as exc:
            serial_range(*args)
        assert exc.value.code == code


# -- a kiosk with maintenance -------------------------------------------------------------------

@pytest.fixture
def maint(kiosk: Kiosk) -> Maintenance:
    m = Maintenance(kiosk, accounts=TechnicianAccounts(kiosk.store, hasher=FAST))
    m.accounts.add("t01", PASSWORD)
    return m


def test_reconciliation_on_the_journal_counts_test_prints_and_removed_blanks(maint: Maintenance) -> None:
    k = maint.kiosk
    assert maint.load_batch("T01", "ktp-el", "B-7", "KTP-B7-0001", "KTP-B7-0020", 20) == 20
    with pytest.raises(MaintenanceError) as exc:
        maint.load_batch("T01", "ktp-el", "B-8", "KTP-B7-0015", "KTP-B7-0030", 16)
    assert exc.value.code == "overlap" and exc.value.info["n"] == 6
    assert maint.self_test("T01", "card_printer").ok
    maint.spoil_blank("T01", "KTP-B7-0020", "bent corner")
    rec = maint.reconciliation()
    assert rec.balanced
    assert rec.total.declared == 80 + 20 + 20
    assert rec.total.spoiled == 2 and rec.total.stock == 118
    assert {s.reason for s in rec.spoiled} == {"self-test print", "removed by T01: bent corner"}
    pdf = report_pdf(rec, location="Simulator", technician="T01")
    assert pdf.startswith(b"%PDF-")
    # a blank that vanishes from the journal is not hidden
    with k.store.tx() as db:
        db.execute("DELETE FROM blank_cards WHERE serial='KTP-B7-0003'")
    rec = from_store(k.store, "x")
    assert not rec.balanced and rec.total.difference == 1


def test_a_failed_test_print_spoils_its_blank_and_keeps_balance(maint: Maintenance) -> None:
    maint.kiosk.sim.queue("card_printer").jam_on(1)
    result = maint.self_test("T01", "card_printer")
    assert not result.ok and result.details["serial"]
    rec = maint.reconciliation()
    assert rec.balanced and rec.total.spoiled == 1 and rec.total.consumed == 0
    assert rec.spoiled[0].reason.startswith("self-test failed")


# -- accounts, lockout, sessions ---------------------------------------------------------------------

def test_passwords_are_argon2id_and_never_stored_in_clear(tmp_path: Any) -> None:
    store = Store(tmp_path / "j.sqlite3")
    acc = TechnicianAccounts(store, hasher=FAST)
    acc.add("tech.01", PASSWORD, name="Ana")
    row = store.query_one("SELECT id, password_hash FROM technicians")
    assert row[0] == "TECH.01" and row[1].startswith("$argon2id$")
    store.close()
    for f in tmp_path.iterdir():
        assert PASSWORD.encode() not in f.read_bytes()
    with pytest.raises(AccountError):
        TechnicianAccounts(Store(tmp_path / "k.sqlite3"), hasher=FAST).add("T02", "short")
    with pytest.raises(AccountError):
        TechnicianAccounts(Store(tmp_path / "l.sqlite3"), hasher=FAST).add("T02", "has a space in it")


def test_session_idle_expiry_leaves_maintenance(maint: Maintenance) -> None:
    clock = Clock()
    maint.sessions = TechnicianSessions(idle_s=300, max_age_s=3600, clock=clock)
    maint.kiosk.set_mode("out_of_service", actor="T00", message="Rusak")
    result, token = maint.login("T01", PASSWORD)
    assert result.ok and maint.kiosk.mode == "maintenance"
    assert not maint.kiosk.availability().available
    clock.t += 200
    assert maint.technician(token) == "T01"  # activity keeps it alive
    clock.t += 299
    assert maint.technician(token) == "T01"
    assert maint.technician("forged-token") is None
    clock.t += 301
    assert maint.technician(token) is None
    assert maint.kiosk.mode == "out_of_service"  # back to what it was, message included
    assert maint.kiosk.store.get_setting("out_of_service_message") == "Rusak"
    row = maint.kiosk.store.query_one("SELECT actor, detail FROM audit WHERE event='logout' ORDER BY id DESC")
    assert row[0] == "T01" and json.loads(row[1])["reason"] == "idle"


def test_out_of_service_toggle_applies_on_leaving(maint: Maintenance) -> None:
    _r, token = maint.login("T01", PASSWORD)
    maint.set_out_of_service("T01", True, "  Sedang   diperbaiki  ")
    assert maint.kiosk.mode == "maintenance"
    maint.logout(token)
    assert maint.kiosk.mode == "out_of_service"
    assert maint.kiosk.store.get_setting("out_of_service_message") == "Sedang diperbaiki"
    _r, token = maint.login("T01", PASSWORD)
    maint.set_out_of_service("T01", False)
    maint.logout(token)
    assert maint.kiosk.availability().available


def test_a_restart_in_maintenance_returns_the_kiosk_to_service(maint: Maintenance) -> None:
    maint.login("T01", PASSWORD)
    assert maint.kiosk.mode == "maintenance"
    Maintenance(maint.kiosk, accounts=maint.accounts)  # the process restarted: no technician session any more
    assert maint.kiosk.mode == "in_service"


def test_recheck_of_a_job_the_printer_never_saw_returns_its_blank(maint: Maintenance) -> None:
    k = maint.kiosk
    now = time.time()
    with k.store.tx() as db:
        db.execute("INSERT INTO sessions(id, started_at, state, nik_masked) VALUES ('S1', ?, 'ended', '3201********0001')",
                   (now,))
    (job,) = k.printing.jobs.plan_citizen("S1", "R1", [PlannedDocument("D1", "ktp-el", "card_printer")])
    assert k.printing.jobs.submit(job.id, ["ktp-el"]) == "KTP-SIM-000001"  # then the kiosk died
    jobs = maint.stuck_jobs()
    assert [(j.state, j.blank_serial, j.nik_masked) for j in jobs] == [("submitted", "KTP-SIM-000001", "3201********0001")]
    assert maint.recheck_job("T01", jobs[0].id) == "failed"  # the printer never heard of it
    assert maint.stuck_jobs() == []
    # the printer never received it: the blank is still in the hopper, back in stock
    assert k.store.query_one("SELECT state FROM blank_cards WHERE serial='KTP-SIM-000001'")[0] == "stock"
    assert k.store.query_one("SELECT COUNT(*) FROM outbox WHERE idem_key LIKE '%:failed'")[0] == 1
    assert maint.reconciliation().balanced


def test_recheck_of_a_job_that_ended_meanwhile_says_how_it_ended(maint: Maintenance) -> None:
    """h5's soak: a job listed stuck settled before the technician's tap (its print finished, the kiosk's own
    re-check) and the tap raised 'not-stuck' out of the Faults page. The technician sees how it ended instead."""
    k = maint.kiosk
    with k.store.tx() as db:
        db.execute("INSERT INTO sessions(id, started_at, state, nik_masked) VALUES ('S1', ?, 'ended', '3201********0001')",
                   (time.time(),))
    (job,) = k.printing.jobs.plan_citizen("S1", "R1", [PlannedDocument("D1", "ktp-el", "card_printer")])
    k.printing.jobs.submit(job.id, ["ktp-el"])
    (listed,) = maint.stuck_jobs()
    k.printing.settle(job.id, False, "settled elsewhere", blank_unused=True)  # before the tap arrives
    assert maint.recheck_job("T01", listed.id) == "failed"
    assert k.store.query_one("SELECT COUNT(*) FROM outbox WHERE kind='report'")[0] == 1  # one report, not two
    with pytest.raises(MaintenanceError) as exc:
        maint.recheck_job("T01", 999)
    assert exc.value.code == "not-stuck"


def test_clear_fault_reprobes_and_audits(maint: Maintenance) -> None:
    maint.simulate("T01", "fault", fault="card-jam")
    assert maint.kiosk.monitor.status("card_printer").code == "media-jam"
    assert [f["code"] for f in maint.faults()] == ["media-jam"]
    assert maint.clear_fault("T01", "card_printer") == (True, "")
    assert maint.faults() == []
    row = maint.kiosk.store.query_one("SELECT actor, detail FROM audit WHERE event='fault-cleared'")
    assert row[0] == "T01" and json.loads(row[1]) == {"after": "", "before": "media-jam", "device": "card_printer"}


def test_diagnostics_bundle_holds_no_secrets_and_no_nik(make_kiosk: Callable[..., Kiosk]) -> None:
    k = make_kiosk(**{"ui.secret_key": "flask-secret-value-123", "central.kiosk_key": "central-key-value-456"})
    m = Maintenance(k, accounts=TechnicianAccounts(k.store, hasher=FAST))
    k.store.audit("device", "test", detail="card 3201014501920002 stuck")
    data = m.diagnostics("T01")
    z = zipfile.ZipFile(io.BytesIO(data))
    assert {"config.json", "status.json", "reconciliation.json", "print_jobs.json", "audit.json", "device_events.json",
            "recent.log", "about.json"} <= set(z.namelist())
    blob = b"".join(z.read(n) for n in z.namelist())
    assert b"flask-secret-value-123" not in blob and b"central-key-value-456" not in blob
    assert b"3201014501920002" not in blob and b"3201********0002" in blob
    assert json.loads(z.read("config.json"))["ui"]["secret_key"] == "***"


# -- the web app: every route needs a technician ---------------------------------------------------

@pytest.fixture
def app(kiosk: Kiosk) -> Flask:
    app = create_app(kiosk)
    m: Maintenance = app.extensions["maintenance"]
    m.accounts = TechnicianAccounts(kiosk.store, hasher=FAST)
    m.accounts.add("T01", PASSWORD)
    return app


def _csrf(client: FlaskClient) -> str:
    html = client.get("/maintenance/login").text
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _login(client: FlaskClient) -> str:
    token = _csrf(client)
    r = client.post("/maintenance/login", data={"csrf_token": token, "tech_id": "t01", "password": PASSWORD})
    assert r.status_code == 302
    return token


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/maintenance"):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", "1" if rule._converters[arg].__class__.__name__ == "IntegerConverter"
                         else "card_printer", url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


def test_every_maintenance_route_answers_403_without_a_technician_session(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = False  # so a POST reaches the technician check rather than the CSRF check
    routes = _routes(app)
    assert len(routes) >= 20
    client = app.test_client()
    checked = 0
    for endpoint, method, url in routes:
        if endpoint in PUBLIC:
            continue
        for cookie in (None, "forged-token"):
            if cookie:
                client.set_cookie("adm_tech", cookie, path="/maintenance")
            else:
                client.delete_cookie("adm_tech", path="/maintenance")
            r = client.open(url, method=method)
            assert r.status_code == 403, (method, url, cookie)
            assert b"3201" not in r.data
            checked += 1
    assert checked >= 40
    assert PUBLIC == {"maintenance.login", "maintenance.login_submit", "maintenance.logout"}
    k: Kiosk = app.extensions["kiosk"]
    k.set_mode("out_of_service", actor="x", message="m")
    r = client.post("/maintenance/logout")  # without a session: nothing happens but a return to the citizen screen
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert k.mode == "out_of_service"
    assert {e for e, _m, _u in routes} >= {"maintenance.dashboard", "maintenance.diagnostics_zip", "maintenance.simulator_action"}


def test_a_logged_in_technician_reaches_every_page_and_a_logout_closes_them(app: Flask) -> None:
    client = app.test_client()
    token = _login(client)
    for endpoint, method, url in _routes(app):
        if method == "GET" and "<" not in url and endpoint not in PUBLIC:
            r = client.get(url)
            assert r.status_code in (200, 404), url  # 404: camera.jpg without a frame
    client.post("/maintenance/logout", data={"csrf_token": token})
    assert client.get("/maintenance/").status_code == 403


def test_forms_need_the_csrf_token(app: Flask) -> None:
    client = app.test_client()
    _login(client)
    r = client.post("/maintenance/service", data={"out": "1", "message": "x"})
    assert r.status_code == 400
    assert app.extensions["maintenance"].out_of_service() == (False, "")


def test_wrong_logins_are_rate_limited_over_http(app: Flask) -> None:
    client = app.test_client()
    token = _csrf(client)
    wrong = {"csrf_token": token, "tech_id": "T01", "password": "nope-nope-1"}
    codes = [client.post("/maintenance/login", data=wrong).status_code for _ in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]
    r = client.post("/maintenance/login", data={"csrf_token": token, "tech_id": "T01", "password": PASSWORD})
    assert r.status_code == 429 and "adm_tech" not in r.headers.get("Set-Cookie", "")


def test_every_technician_action_is_audited_with_the_technician_id(app: Flask) -> None:
    client = app.test_client()
    token = _login(client)
    k: Kiosk = app.extensions["kiosk"]
    posts = [
        ("/maintenance/selftests/central", {}),
        ("/maintenance/supplies/blanks", {"kind": "kia", "batch": "B1", "first": "KIA-X-01", "last": "KIA-X-05", "count": "5"}),
        ("/maintenance/supplies/replace", {"device": "card_printer", "name": "ribbon"}),
        ("/maintenance/supplies/spoil", {"serial": "KIA-X-05", "reason": "scratched"}),
        ("/maintenance/simulator", {"action": "fault", "fault": "receipt-cover-open"}),
        ("/maintenance/faults/clear", {"device": "receipt_printer"}),
        ("/maintenance/service", {"out": "1", "message": "Perbaikan"}),
    ]
    for url, data in posts:
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 302, url
    client.get("/maintenance/diagnostics.zip")
    client.get("/maintenance/journal/audit.csv")
    client.get("/maintenance/reconciliation.pdf")
    client.post("/maintenance/logout", data={"csrf_token": token})
    rows = k.store.query("SELECT category, event, actor FROM audit WHERE actor='T01'")
    events = {(r[0], r[1]) for r in rows}
    assert {("maintenance", "self-test"), ("supplies", "blanks-loaded"), ("supplies", "supply-replaced"),
            ("supplies", "blank-spoiled"), ("simulator", "fault"), ("maintenance", "fault-cleared"),
            ("maintenance", "out-of-service"), ("maintenance", "diagnostics-downloaded"), ("maintenance", "journal-exported"),
            ("maintenance", "reconciliation-report"), ("security", "technician-login"), ("service", "mode-maintenance"),
            ("maintenance", "logout"), ("service", "mode-out_of_service")} <= events
    # nothing under the technician's name carries a NIK or the password
    for (detail,) in k.store.query("SELECT detail FROM audit"):
        assert PASSWORD not in detail and not re.search(r"[0-9]{16}", detail)


def test_technician_cli_add_list_remove(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path}/data"\n[sim]\nmode = "inprocess"\n')
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli_main(["technician", "add", "t-bogor-01", "--password-stdin", "--config", str(cfg)]) == 0
    assert cli_main(["technician", "list", "--config", str(cfg)]) == 0
    assert "T-BOGOR-01" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli_main(["technician", "add", "T2", "--password-stdin", "--config", str(cfg)]) == 2
    assert cli_main(["technician", "remove", "T-BOGOR-01", "--config", str(cfg)]) == 0
    assert PASSWORD not in capsys.readouterr().out
