"""The remote-status API as central staff and Prometheus use it: auth, read-only, paging, schema, no personal data."""

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
