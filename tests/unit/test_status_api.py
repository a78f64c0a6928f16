"""The remote-status API as central staff and Prometheus use it: auth, scopes, commands, paging, schema, no personal data."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from hardware_sim import citizens
from kiosk.model import DocumentKind
from kiosk.services import Kiosk
from kiosk.staff.tokens import Caller, Tokens
from ui.api import StatusListener, create_status_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "status-api.yaml"


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return yaml.safe_load(DOC.read_text())


def validator(openapi: dict[str, Any], name: str) -> Any:
    """A JSON Schema 2020-12 validator for one component, with the document's refs resolvable."""
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": openapi["components"]})


@pytest.fixture
def client(kiosk: Kiosk) -> FlaskClient:
    return create_status_app(kiosk).test_client()


@pytest.fixture
def auth(kiosk: Kiosk) -> dict[str, str]:
    return {"Authorization": "Bearer " + Tokens(kiosk.store).create("central-staff")}


# -- auth and methods -----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/status", "/api/v1/events", "/metrics"])
def test_every_route_needs_a_token(client: FlaskClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer adm_not-a-real-token-at-all-xxxxxxxxxxxxxxxxxxxxxxx"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}):
        r = client.get(path, headers=headers)
        assert r.status_code == 401
        assert r.json["error"] == "unauthorized" and r.json["message"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused_at_once(kiosk: Kiosk, client: FlaskClient) -> None:
    tokens = Tokens(kiosk.store)
    secret = tokens.create("laptop-budi")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/status", headers=headers).status_code == 200
    tokens.revoke("laptop-budi")
    assert client.get("/api/v1/status", headers=headers).status_code == 401
    assert [t.name for t in tokens.list() if not t.active] == ["laptop-budi"]


def test_tokens_are_stored_hashed_and_listed_without_secret(kiosk: Kiosk) -> None:
    tokens = Tokens(kiosk.store)
    secret = tokens.create("prometheus")
    kiosk.store.query_one("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in kiosk.cfg.data_dir.glob("journal.sqlite3*"))
    assert secret.encode() not in raw
    (info,) = tokens.list()
    assert info.name == "prometheus" and info.active and secret.startswith(info.prefix) and len(info.prefix) < 12
    assert tokens.verify(secret) == Caller("prometheus", "read") and tokens.verify(secret + "x") is None


def test_fleet_token_installed_on_a_second_kiosk(make_kiosk: Any, tmp_path: Path) -> None:
    """Prometheus sends one token per job: the token made on one kiosk is installed on the others."""
    a, b = make_kiosk(tmp_path / "a"), make_kiosk(tmp_path / "b", **{"kiosk.id": "ADM-SIM-0002"})
    secret = Tokens(a.store).create("prometheus")
    Tokens(b.store).create("prometheus", token=secret)
    r = create_status_app(b).test_client().get("/metrics", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and 'kiosk="ADM-SIM-0002"' in r.text


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_read_only(client: FlaskClient, auth: dict[str, str], method: str) -> None:
    r = getattr(client, method)("/api/v1/status", headers=auth, json={})
    assert r.status_code == 405 and r.json["error"] == "method-not-allowed"
    assert r.headers["Allow"] == "GET, HEAD"


def test_unknown_path_is_a_json_404(client: FlaskClient, auth: dict[str, str]) -> None:
    r = client.get("/api/v2/status", headers=auth)
    assert r.status_code == 404 and r.is_json and r.json["error"] == "not-found"


# -- status ---------------------------------------------------------------------------------

def test_status_matches_the_openapi_schema(kiosk: Kiosk, client: FlaskClient, auth: dict[str, str],
                                           openapi: dict[str, Any]) -> None:
    r = client.get("/api/v1/status", headers=auth)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    validator(openapi, "Status").validate(r.json)
    s = r.json
    assert s["kiosk"] == {"id": "ADM-SIM-0001", "location": "Simulator"}
    assert s["mode"] == "in_service" and s["availability"] == {"available": True, "reasons": []}
    assert set(s["devices"]) == {"card_reader", "camera", "card_printer", "document_printer", "receipt_printer"}
    assert s["blanks"]["ktp-el"]["in_stock"] == 80 and s["blanks"]["ktp-el"]["days_left"] is None
    assert {(x["device"], x["name"]) for x in s["supplies"]} >= {("card_printer", "ribbon"), ("document_printer", "paper")}
    assert s["duty"]["card_printer"] == {"prints_today": 0, "limit_per_day": 100}


def test_status_shows_a_jam_and_maintenance_mode(kiosk: Kiosk, client: FlaskClient, auth: dict[str, str]) -> None:
    kiosk.sim.queue("card_printer").state_reasons.append("media-jam-error")
    kiosk.monitor.refresh()
    s = client.get("/api/v1/status", headers=auth).json
    assert s["devices"]["card_printer"]["state"] == "userError" and s["devices"]["card_printer"]["code"] == "media-jam"
    assert s["availability"]["available"] is False and "card_printer: media-jam" in s["availability"]["reasons"]
    kiosk.set_mode("maintenance", actor="technician")
    s = client.get("/api/v1/status", headers=auth).json
    assert s["mode"] == "maintenance" and s["availability"]["reasons"] == ["maintenance"]


def test_status_never_touches_hardware(kiosk: Kiosk, client: FlaskClient, auth: dict[str, str]) -> None:
    """The endpoint reads the monitor's cache: a printer that hangs on every probe cannot slow it."""
    dev = kiosk.devices.get("card_printer")
    calls: list[float] = []

    def hang() -> Any:
        calls.append(time.time())
        time.sleep(5)

    kiosk.monitor.stop()
    dev.status = hang
    t0 = time.perf_counter()
    for _ in range(5):
        assert client.get("/api/v1/status", headers=auth).status_code == 200
        assert client.get("/metrics", headers=auth).status_code == 200
    assert time.perf_counter() - t0 < 2 and calls == []


def test_print_counters_days_left_and_no_personal_data(kiosk: Kiosk, client: FlaskClient, auth: dict[str, str],
                                                       openapi: dict[str, Any]) -> None:
    """A citizen prints a KTP-el and a KK (after one wrong PIN): the counters move, and no NIK,
    name, birth date, address or PIN appears in any status, event, metric or heartbeat."""
    ident, _ = citizens.DEMO[0]
    pin = "918273"
    sim = kiosk.central_server.sim
    sim.issue_pin(ident.nik, [DocumentKind.KTP_EL, DocumentKind.KK], pin=pin)
    s = kiosk.sessions.start(ident.nik, "nik")
    assert not kiosk.sessions.submit_pin(s.id, "111111").ok
    assert kiosk.sessions.submit_pin(s.id, pin).ok
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    kiosk.sessions.wait_printed(s.id, 30)
    kiosk.sessions.end(s.id)
    kiosk.telemetry.heartbeat_tick()
    kiosk.outbox.flush()

    status = client.get("/api/v1/status", headers=auth)
    st = status.json
    validator(openapi, "Status").validate(st)
    assert st["today"]["documents"]["ktp-el"]["printed"] == 1 and st["today"]["documents"]["kk"]["printed"] == 1
    assert st["today"]["sessions"] == 1 and st["duty"]["card_printer"]["prints_today"] == 1
    assert st["blanks"]["ktp-el"]["in_stock"] == 79 and st["blanks"]["ktp-el"]["used_per_day"] == 1.0
    assert st["blanks"]["ktp-el"]["days_left"] == 79.0
    ribbon = next(x for x in st["supplies"] if x["name"] == "ribbon")
    assert ribbon["remaining"] == 299 and ribbon["days_left"] == 299.0

    bodies = [status.text, client.get("/metrics", headers=auth).text, json.dumps(sim.heartbeats())]
    since = 0
    for _ in range(100):
        page = client.get(f"/api/v1/events?since={since}&limit=7", headers=auth).json
        bodies.append(json.dumps(page))
        since = page["next_since"]
        if not page["more"]:
            break
    text = "\n".join(bodies)
    assert sim.heartbeats(), "the heartbeat reached central"
    assert ident.nik not in text and citizens.KK_NUMBER not in text
    for needle in (ident.name, *ident.name.split(), ident.birth_date, ident.address, ident.birth_place):
        assert needle not in text, needle
    assert not re.search(rf"(?<![0-9]){pin}(?![0-9])", text) and not re.search(r"(?<![0-9])111111(?![0-9])", text)


# -- events ---------------------------------------------------------------------------------

def test_events_page_by_id_cursor(kiosk: Kiosk, client: FlaskClient, auth: dict[str, str], openapi: dict[str, Any]) -> None:
    for i in range(12):
        kiosk.store.audit("device", "status", name="card_printer", state="online", seq=i)
    total = kiosk.store.query_one("SELECT COUNT(*) FROM audit")[0]
    seen: list[int] = []
    since = 0
    pages = 0
    while True:
        r = client.get(f"/api/v1/events?since={since}&limit=5", headers=auth)
        validator(openapi, "EventPage").validate(r.json)
        seen += [e["id"] for e in r.json["events"]]
        since = r.json["next_since"]
        pages += 1
        if not r.json["more"]:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == total and pages == -(-total // 5)
    r = client.get(f"/api/v1/events?since={since}", headers=auth).json
    assert r == {"events": [], "next_since": since, "more": False}
    only = client.get("/api/v1/events?category=device&limit=500", headers=auth).json["events"]
    assert only and {e["category"] for e in only} == {"device"}


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=abc", "since=-1", "since=1.5", "category=a%20b",
                                   "limit=%EF%BC%95"])
def test_bad_event_parameters_are_422(client: FlaskClient, auth: dict[str, str], query: str) -> None:
    r = client.get(f"/api/v1/events?{query}", headers=auth)
    assert r.status_code == 422 and r.json["error"] == "bad-parameter"


# -- metrics --------------------------------------------------------------------------------

def test_metrics_parse_and_carry_the_kiosk_label(kiosk: Kiosk, client: FlaskClient, auth: dict[str, str]) -> None:
    r = client.get("/metrics", headers=auth)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    for name in ("adm_kiosk_available", "adm_device_ready", "adm_blanks_in_stock", "adm_supply_remaining",
                 "adm_outbox_backlog", "adm_card_printer_prints_today", "adm_card_printer_duty_limit", "adm_print_jobs"):
        assert name in families, name
    for fam in families.values():
        for sample in fam.samples:
            assert sample.labels.get("kiosk") == "ADM-SIM-0001", sample
    ready = {s.labels["device"]: s for s in families["adm_device_ready"].samples}
    assert ready["card_printer"].labels["required"] == "true" and ready["card_printer"].value == 1.0


def test_listener_serves_on_its_own_port_and_stops(kiosk: Kiosk, auth: dict[str, str]) -> None:
    import httpx

    listener = StatusListener(kiosk, "127.0.0.1", 0).start()
    try:
        assert listener.port not in (0, kiosk.cfg.ui.port)
        r = httpx.get(listener.url + "/api/v1/status", headers=auth, timeout=5)
        assert r.status_code == 200 and r.json()["kiosk"]["id"] == "ADM-SIM-0001"
        assert httpx.get(listener.url + "/metrics", timeout=5).status_code == 401
    finally:
        listener.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(listener.url + "/metrics", timeout=1)


@pytest.mark.parametrize("since", ["3135603796594340352", "4611686018427387904"])
def test_every_documented_cursor_is_accepted(client: FlaskClient, auth: dict[str, str], since: str) -> None:
    """Found by schemathesis: 19-digit cursors inside the documented range were refused."""
    page = client.get(f"/api/v1/events?since={since}", headers=auth)
    assert page.status_code == 200 and page.json["events"] == []
    assert client.get("/api/v1/events?since=4611686018427387905", headers=auth).status_code == 422


# -- commands (operate tokens) ----------------------------------------------------------------

COMMANDS = [("put", "/api/v1/mode", {"mode": "out_of_service", "message": "Blanko habis"}),
            ("post", "/api/v1/diagnostics", None),
            ("delete", "/api/v1/lockouts/kiosk", None),
            ("put", "/api/v1/settings/blanks-low", {"threshold": 30})]


@pytest.fixture
def operator(kiosk: Kiosk) -> dict[str, str]:
    return {"Authorization": "Bearer " + Tokens(kiosk.store).create("console-kab-bogor", scope="operate")}


def welcome(kiosk: Kiosk) -> Any:
    from ui import create_app
    return create_app(kiosk).test_client().get("/")


def audited(kiosk: Kiosk, event: str) -> list[dict[str, Any]]:
    return [dict(r) for r in kiosk.store.query("SELECT event, actor, detail FROM audit WHERE event=?", (event,))]


@pytest.mark.parametrize(("method", "path", "body"), COMMANDS, ids=[c[1] for c in COMMANDS])
def test_a_read_token_may_not_command(kiosk: Kiosk, client: FlaskClient, auth: dict[str, str], method: str, path: str,
                                      body: Any) -> None:
    before = kiosk.store.query_one("SELECT COUNT(*) FROM audit WHERE actor LIKE 'api:%'")[0]
    r = getattr(client, method)(path, headers=auth, json=body)
    assert r.status_code == 403 and r.json["error"] == "forbidden" and r.json["message"]
    r = getattr(client, method)(path, json=body)
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    assert kiosk.store.query_one("SELECT COUNT(*) FROM audit WHERE actor LIKE 'api:%'")[0] == before
    assert kiosk.mode == "in_service" and welcome(kiosk).status_code == 200


@pytest.mark.parametrize(("path", "body"), [("/api/v1/mode", {"mode": "maintenance"}),
                                            ("/api/v1/mode", {"mode": "out_of_service", "mesage": "typo"}),
                                            ("/api/v1/mode", ["out_of_service"]),
                                            ("/api/v1/settings/blanks-low", {"threshold": -1}),
                                            ("/api/v1/settings/blanks-low", {"threshold": "5"}),
                                            ("/api/v1/settings/blanks-low", {"threshold": True})])
def test_bad_command_bodies_are_422(kiosk: Kiosk, client: FlaskClient, operator: dict[str, str], path: str,
                                    body: Any) -> None:
    r = client.put(path, headers=operator, json=body)
    assert r.status_code == 422 and r.json["error"] == "bad-body" and r.json["message"]
    assert kiosk.mode == "in_service"


def test_out_of_service_from_afar_reaches_citizens_and_the_events(kiosk: Kiosk, client: FlaskClient,
                                                                  operator: dict[str, str], auth: dict[str, str]) -> None:
    r = client.put("/api/v1/mode", headers=operator, json={"mode": "out_of_service", "message": "Blanko habis, besok"})
    assert r.status_code == 200 and r.json["state"] == "applied"
    page = welcome(kiosk)
    assert page.status_code == 503 and "Blanko habis, besok" in page.text
    (row,) = audited(kiosk, "mode-out_of_service")
    assert row["actor"] == "api:console-kab-bogor" and operator["Authorization"][7:] not in json.dumps(row)
    events = client.get("/api/v1/events?category=service", headers=auth).json["events"]
    assert any(e["event"] == "mode-out_of_service" and e["actor"] == "api:console-kab-bogor" for e in events)
    assert client.put("/api/v1/mode", headers=operator, json={"mode": "in_service"}).status_code == 200
    assert welcome(kiosk).status_code == 200


def test_a_print_is_never_interrupted(kiosk: Kiosk, client: FlaskClient, operator: dict[str, str]) -> None:
    """Out of service while a citizen's card prints: 202, the citizen's documents all come out of
    the printer, and the kiosk leaves service when that session ends."""
    ident, _ = citizens.DEMO[0]
    kiosk.central_server.sim.issue_pin(ident.nik, [DocumentKind.KTP_EL, DocumentKind.KK], pin="918273")
    s = kiosk.sessions.start(ident.nik, "nik")
    assert kiosk.sessions.submit_pin(s.id, "918273").ok
    kiosk.sim.queue("card_printer").seconds_per_job = 1.0
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    r = client.put("/api/v1/mode", headers=operator, json={"mode": "out_of_service", "message": "Perawatan"})
    assert r.status_code == 202 and r.json["state"] == "pending" and "session ends" in r.json["detail"]
    assert kiosk.mode == "in_service" and kiosk.service.pending() == "out_of_service"
    kiosk.sessions.wait_printed(s.id, 30)
    assert s.outcome is not None and s.outcome.failed == []
    assert len(kiosk.sim.cups.printed_files("card")) == 1 and len(kiosk.sim.cups.printed_files("a4")) == 1
    assert kiosk.service.apply_pending() == ""  # printed, the citizen still collecting: not yet
    assert kiosk.mode == "in_service"
    kiosk.sessions.end(s.id)
    assert kiosk.service.apply_pending() == "out_of_service"
    assert kiosk.mode == "out_of_service" and kiosk.service.pending() == ""
    page = welcome(kiosk)
    assert page.status_code == 503 and "Perawatan" in page.text
    (row,) = audited(kiosk, "mode-out_of_service")
    assert row["actor"] == "api:console-kab-bogor"


def test_a_pending_mode_survives_a_restart(make_kiosk: Any, tmp_path: Path) -> None:
    k = make_kiosk(tmp_path / "k", start=False)
    ident, _ = citizens.DEMO[0]
    k.central_server.sim.issue_pin(ident.nik, [DocumentKind.KTP_EL], pin="918273")
    s = k.sessions.start(ident.nik, "nik")
    assert k.sessions.submit_pin(s.id, "918273").ok
    with k.store.tx() as db:  # the kiosk stops with this citizen's print in flight
        db.execute("UPDATE sessions SET state='printing' WHERE id=?", (s.id,))
    assert not k.service.request("out_of_service", "api:console", "Tutup").applied
    k.store.close()
    again = make_kiosk(tmp_path / "k")  # start() settles what the last run left open
    again.service.apply_pending()
    assert again.mode == "out_of_service" and welcome(again).status_code == 503


def test_maintenance_keeps_the_mode_for_the_technician(kiosk: Kiosk, client: FlaskClient,
                                                       operator: dict[str, str]) -> None:
    kiosk.set_mode("maintenance", actor="tech-01")
    r = client.put("/api/v1/mode", headers=operator, json={"mode": "in_service"})
    assert r.status_code == 409 and r.json["error"] == "mode-refused"
    assert kiosk.mode == "maintenance"


def test_diagnostics_bundle_from_afar(kiosk: Kiosk, client: FlaskClient, operator: dict[str, str]) -> None:
    import io
    import zipfile
    r = client.post("/api/v1/diagnostics", headers=operator)
    assert r.status_code == 200 and r.content_type == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.data)).namelist()
    assert {"config.json", "status.json", "audit.json", "about.json"} <= set(names)
    about = json.loads(zipfile.ZipFile(io.BytesIO(r.data)).read("about.json"))
    assert about["generated_by"] == "api:console-kab-bogor"
    assert audited(kiosk, "diagnostics-downloaded")[0]["actor"] == "api:console-kab-bogor"


def test_lifting_the_kiosk_wide_lockout_keeps_a_nik_locked(make_kiosk: Any, tmp_path: Path) -> None:
    """Wrong PINs lock one NIK and the kiosk; lifting the kiosk's lockout lets another citizen in,
    the guessed NIK stays locked."""
    k = make_kiosk(tmp_path / "k", **{"pins.max_failures_per_nik": 3, "pins.max_failures_per_kiosk": 3})
    client = create_status_app(k).test_client()
    operator = {"Authorization": "Bearer " + Tokens(k.store).create("console", scope="operate")}
    (victim, _), (other, _) = citizens.DEMO[0], citizens.DEMO[1]
    k.central_server.sim.issue_pin(other.nik, [DocumentKind.KTP_EL], pin="918273")
    s = k.sessions.start(victim.nik, "nik")
    for _ in range(3):
        k.sessions.submit_pin(s.id, "111111")
    k.sessions.end(s.id)
    lock = k.pins.lockout("any other citizen")
    assert lock is not None and lock.scope == "kiosk"
    r = client.delete("/api/v1/lockouts/kiosk", headers=operator)
    assert r.status_code == 200 and r.json == {"lifted": True}
    s2 = k.sessions.start(other.nik, "nik")
    assert k.sessions.submit_pin(s2.id, "918273").ok  # central's own verdict: the other citizen got in
    k.sessions.end(s2.id)
    from kiosk.citizen.session import SessionError
    with pytest.raises(SessionError) as locked:
        k.sessions.start(victim.nik, "nik")
    assert locked.value.info["scope"] == "nik"
    assert audited(k, "pin-kiosk-lockout-lifted")[0]["actor"] == "api:console"


def test_blanks_low_threshold_is_this_kiosks(kiosk: Kiosk, client: FlaskClient, operator: dict[str, str],
                                             auth: dict[str, str], openapi: dict[str, Any]) -> None:
    before = client.get("/api/v1/status", headers=auth).json["blanks"]["ktp-el"]
    assert before["level"] == "ok" and before["in_stock"] > before["low_at"]
    r = client.put("/api/v1/settings/blanks-low", headers=operator, json={"threshold": before["in_stock"]})
    assert r.status_code == 200 and r.json == {"threshold": before["in_stock"]}
    st = client.get("/api/v1/status", headers=auth).json
    validator(openapi, "Status").validate(st)
    assert st["blanks"]["ktp-el"]["level"] == "low" and st["blanks"]["ktp-el"]["low_at"] == before["in_stock"]
    assert audited(kiosk, "blanks-low-threshold")[0]["actor"] == "api:console-kab-bogor"
