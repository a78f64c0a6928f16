"""The fleet and fallback endpoints answer as docs/central-api.yaml says, and the client drops garbage."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema_rs
import yaml

from hardware_sim.central import CentralSim, create_app
from hardware_sim.central_fleet import haversine_km
from kiosk.citizen.central import CentralClient, CentralUnavailable
from kiosk.model import DocumentKind

DOCS = Path(__file__).resolve().parents[2] / "docs"


def validator(doc: str, name: str) -> jsonschema_rs.Draft202012Validator:
    spec = yaml.safe_load((DOCS / doc).read_text())
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


SUMMARY = {"state": "in_service", "open_now": True, "can_print": ["ktp-el", "kk"], "blanks": {"ktp-el": "plenty"},
           "opening_hours": {}, "next_open_at": None,
           "location": {"name": "Kantor Kecamatan Ciawi", "latitude": -6.6544, "longitude": 106.8536}}


def client_for(sim: CentralSim, kiosk: str = "K1") -> CentralClient:
    sim.register_kiosk(kiosk, b"k" * 32)
    return CentralClient("http://central", kiosk, b"k" * 32, transport=httpx.WSGITransport(app=create_app(sim)),
                         retries=0)


def test_public_json_fallback_and_ticket_match_the_document(tmp_path: Path) -> None:
    sim = CentralSim(tmp_path / "c.db")
    sim.fleet.record("K2", {"public": SUMMARY})
    sim.fleet.record("K1", {"public": {**SUMMARY, "location": {"name": "here", "latitude": -6.4851,
                                                               "longitude": 106.8424}}})
    app = create_app(sim).test_client()
    body = app.get("/public/kiosks.json").json  # no Authorization header at all
    fleet = validator("central-api.yaml", "FleetKiosk")
    for k in body["kiosks"]:
        fleet.validate(k)
    issued = sim.issue_pin("3201010508900001", [DocumentKind.KTP_EL])
    client = client_for(sim)
    redemption = client.redeem(issued.nik, issued.pin)
    card = redemption.documents[0]
    raw = sim.fleet.fallback("K1", redemption.id, card.id, "blanks-ktp-el")
    assert raw[0] == 200
    validator("central-api.yaml", "Fallback").validate(raw[1])
    offer = client.fallback(redemption.id, card.id, "blanks-ktp-el")
    assert offer.substitute is not None and offer.substitute.kind is DocumentKind.SURAT_KETERANGAN
    assert offer.substitute.id == raw[1]["substitute"]["id"]  # made once, however often asked
    assert [n.name for n in offer.nearest] == ["Kantor Kecamatan Ciawi"]
    assert offer.nearest[0].distance_km == round(haversine_km((-6.4851, 106.8424), (-6.6544, 106.8536)), 1)
    assert client.queue_ticket("K1:journal:queue:s1", "blanks-ktp-el") == "A-001"
    assert client.queue_ticket("K1:journal:queue:s1", "blanks-ktp-el") == "A-001"  # a retry: the same ticket
    assert client.queue_ticket("K1:journal:queue:s2", "duty-limit") == "A-002"
    validator("central-api.yaml", "QueueTicket").validate(sim.fleet.queue_ticket("K1", "K1:journal:queue:s2", "x")[1])
    assert sim.fleet.queue_ticket("K9", "K1:journal:queue:s2", "x")[0] == 409  # another kiosk's key


def test_a_kiosk_summary_matches_the_status_document(kiosk: object) -> None:
    snap = kiosk.telemetry.snapshot()  # type: ignore[attr-defined]
    validator("status-api.yaml", "PublicSummary").validate(snap["public"])
    json.dumps(snap["public"])


def test_garbage_from_central_is_not_shown(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/fleet/nearest":
            return httpx.Response(200, json={"kiosks": [{"kiosk": "K2"}, "x", {"kiosk": "K3", "name": "ok",
                                                                                 "distance_km": "2.5"}]})
        return httpx.Response(200, json={"number": "<script>"})

    client = CentralClient("http://central", "K1", b"k", transport=httpx.MockTransport(answer), retries=0)
    assert [n.name for n in client.nearest_kiosks()] == ["ok"]
    try:
        client.queue_ticket("K1:j:queue:s1", "x")
    except CentralUnavailable:
        pass
    else:
        raise AssertionError("a malformed queue number was accepted")
