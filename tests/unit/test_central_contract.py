"""The central API document and both of its sides agree: every route the simulator serves is documented,
a kiosk signature is what the simulator checks (and a stale or altered one is refused), a report is
delivered only on central's documented acknowledgement of its key, and IDs match the documented pattern."""

import json
from pathlib import Path

import httpx
import jsonschema_rs
import pytest
import yaml

from hardware_sim.central import CentralSim, create_app
from kiosk.citizen.central import ID_RE, CentralClient, CentralError, CentralUnavailable, ReportNotAcknowledged, auth_header

SPEC = Path(__file__).resolve().parents[2] / "docs" / "central-api.yaml"


def test_every_simulated_route_is_documented(tmp_path: Path) -> None:
    app = create_app(CentralSim(tmp_path / "c.db"))
    served = {r.rule.replace("<", "{").replace(">", "}") for r in app.url_map.iter_rules()
              if r.rule.startswith(("/v1/", "/public/"))}
    documented = set(yaml.safe_load(SPEC.read_text())["paths"])
    served = {p.replace("{rid}", "{redemption_id}").replace("{doc_id}", "{document_id}") for p in served}
    assert served == documented


def test_signatures_are_checked(tmp_path: Path) -> None:
    sim = CentralSim(tmp_path / "c.db")
    sim.register_kiosk("K1", b"k" * 32)
    client = create_app(sim).test_client()
    body = b'{"qr": "x"}'
    good = auth_header("K1", b"k" * 32, "POST", "/v1/verify", body)
    ok = client.post("/v1/verify", data=body, headers={"Authorization": good, "Content-Type": "application/json"})
    assert ok.status_code == 200
    for header in (auth_header("K1", b"wrong" * 7, "POST", "/v1/verify", body),
                   auth_header("K1", b"k" * 32, "POST", "/v1/verify", body, now=1_000_000),  # stale
                   auth_header("K2", b"k" * 32, "POST", "/v1/verify", body),
                   good.replace("K1:", "K1:1"), "Bearer x", ""):
        r = client.post("/v1/verify", data=body, headers={"Authorization": header, "Content-Type": "application/json"})
        assert r.status_code == 401, header
    altered = client.post("/v1/verify", data=b'{"qr": "y"}', headers={"Authorization": good,
                                                                        "Content-Type": "application/json"})
    assert altered.status_code == 401
    assert httpx.codes.UNAUTHORIZED == 401


def schema(name: str) -> jsonschema_rs.Draft202012Validator:
    spec = yaml.safe_load(SPEC.read_text())
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


def test_the_simulated_central_acknowledges_reports_as_documented(tmp_path: Path) -> None:
    sim = CentralSim(tmp_path / "c.db")
    sim.register_kiosk("K1", b"k" * 32)
    client = create_app(sim).test_client()
    ack = schema("ReportAck")

    def post(report: dict[str, object]) -> tuple[int, dict[str, object]]:
        body = json.dumps(report).encode()
        r = client.post("/v1/reports", data=body, headers={
            "Authorization": auth_header("K1", b"k" * 32, "POST", "/v1/reports", body), "Content-Type": "application/json"})
        return r.status_code, r.json

    report = {"idempotency_key": "K1:7f3a:1:failed", "document_id": "D1", "outcome": "failed", "reason": "jam"}
    answers = [post(report), post(report), post({**report, "reason": "other"})]
    assert [(s, b["status"]) for s, b in answers] == [(200, "accepted"), (200, "duplicate"), (409, "rejected")]
    for _status, body in answers:
        ack.validate(body)
        assert body["idempotency_key"] == report["idempotency_key"]
    assert sim.repeats() == 2 and [d.status for d in sim.deliveries()] == ["accepted", "duplicate", "rejected"]


def test_the_clients_id_pattern_is_the_documented_one() -> None:
    assert schema("Id").is_valid("D0A1B2C3D4E5F") and not schema("Id").is_valid("../x")
    assert yaml.safe_load(SPEC.read_text())["components"]["schemas"]["Id"]["pattern"] == f"^{ID_RE.pattern}$"


def answering(status: int, body: bytes, ctype: str = "application/json") -> CentralClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body, headers={"Content-Type": ctype}))
    return CentralClient("http://central.invalid", "K1", b"k" * 32, retries=0, transport=transport)


def redemption(*ids: str, rid: str = "X1") -> bytes:
    return json.dumps({"redemption_id": rid, "documents": [
        {"id": i, "kind": "kk", "number": "3201", "sha256": "0" * 64} for i in ids]}).encode()


@pytest.mark.parametrize("body", [redemption("../../journal.sqlite3"), redemption(""), redemption("D" * 65),
                                  redemption("D 1"), redemption("D1\n"), redemption("Dé"), redemption("D1", "D1"),
                                  redemption("D1", rid="X1/../../v1/reports"), redemption("-D1")])
def test_a_redemption_with_a_bad_document_id_is_central_answering_garbage(body: bytes) -> None:
    with pytest.raises(CentralUnavailable):
        answering(200, body).redeem("3201010508900001", "123456")


def test_a_redemption_with_good_ids_is_used() -> None:
    got = answering(200, redemption("D0A1B2C3D4E5F", "d_2-x")).redeem("3201010508900001", "123456")
    assert [d.id for d in got.documents] == ["D0A1B2C3D4E5F", "d_2-x"]


REPORT = {"idempotency_key": "K1:7f3a:1:printed", "document_id": "D1", "outcome": "printed"}


@pytest.mark.parametrize("status", ["accepted", "duplicate"])
def test_centrals_acknowledgement_of_the_key_delivers(status: str) -> None:
    body = json.dumps({"idempotency_key": REPORT["idempotency_key"], "status": status}).encode()
    assert answering(200, body).report(REPORT) == status


@pytest.mark.parametrize(("status", "body", "ctype"), [
    (200, b"<html><body>Welcome to the hotel network</body></html>", "text/html"),
    (200, b"", "text/plain"),
    (200, b"\x00\xff", "application/octet-stream"),
    (200, b"[]", "application/json"),
    (200, b'{"ok": true}', "application/json"),
    (200, b'{"accepted": true}', "application/json"),
    (200, b'{"accepted": false, "reason": "duplicate"}', "application/json"),
    (200, b'{"idempotency_key": "K1:other:1:printed", "status": "accepted"}', "application/json"),
    (200, b'{"idempotency_key": "K1:7f3a:1:printed", "status": "queued"}', "application/json"),
    (201, b'{"idempotency_key": "K1:7f3a:1:printed", "status": "rejected"}', "application/json"),
    (409, b'{"idempotency_key": "K1:7f3a:1:printed", "status": "rejected", "reason": "key-reused"}', "application/json"),
])
def test_anything_else_is_not_delivered(status: int, body: bytes, ctype: str) -> None:
    client = answering(status, body, ctype)
    with pytest.raises(ReportNotAcknowledged):
        client.report(REPORT)
    assert client.last_error.startswith("ReportNotAcknowledged")


def test_central_down_or_refusing_the_kiosk_is_not_delivered_either() -> None:
    with pytest.raises(CentralUnavailable):
        answering(503, b"<html>busy</html>", "text/html").report(REPORT)
    with pytest.raises(CentralError):
        answering(401, b'{"error": "kiosk-auth"}').report(REPORT)
