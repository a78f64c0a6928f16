"""The central API document and both of its sides agree: every route the simulator serves is documented,
and a kiosk signature is what the simulator checks (and a stale or altered one is refused)."""

from pathlib import Path

import httpx
import yaml

from hardware_sim.central import CentralSim, create_app
from kiosk.citizen.central import auth_header

SPEC = Path(__file__).resolve().parents[2] / "docs" / "central-api.yaml"


def test_every_simulated_route_is_documented(tmp_path: Path) -> None:
    app = create_app(CentralSim(tmp_path / "c.db"))
    served = {r.rule.replace("<", "{").replace(">", "}") for r in app.url_map.iter_rules() if r.rule.startswith("/v1/")}
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
