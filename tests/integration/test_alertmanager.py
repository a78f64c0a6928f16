"""A citizen's call for staff reaches the regency's webhook through the real Prometheus and the real Alertmanager.

The kiosk's /metrics is scraped by Debian's Prometheus evaluating deploy/prometheus's rules;
its alerts go to Debian's ``prometheus-alertmanager`` running deploy/alertmanager's routing,
with only the receiver URLs and the gateway-token file pointed at this test (and the intervals
shortened), delivering to a webhook server here. The webhook must get AdmStaffCalled with the
kiosk's id, location and screen and no personal data, then its resolution when the citizen
cancels; the simulated central's own record must show the same call.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kiosk.cli.simulation import SimulatedKiosk
from kiosk.staff.tokens import Tokens
from tests.screen import Screen
from ui import create_app
from ui.api import StatusListener

pytestmark = pytest.mark.integration
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager")
TOKEN = "adm_" + "alertmanager-test-token-0123456789abcdefghijk"  # made at run time in production
GATEWAY_TOKEN = "gateway-token-for-this-test-only"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Webhook:
    """The regency's WhatsApp gateway, as far as Alertmanager can tell: records each POSTed JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.auth.append(self.headers.get("Authorization", ""))
                hook.bodies.append(json.loads(data))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, status: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in self.bodies:
                if body["status"] == status and any(a["labels"]["alertname"] == "AdmStaffCalled" for a in body["alerts"]):
                    return body
            time.sleep(0.1)
        raise AssertionError(f"no {status} AdmStaffCalled reached the webhook: {self.bodies}")


def _start(cmd: list[str], log: Path, ready_url: str) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(ready_url, timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{cmd[0]} did not become ready: {log.read_text()}"
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _alertmanager_config(work: Path, webhook: Webhook) -> Path:
    """deploy/alertmanager's routing; only the receivers' URL and token file (and the intervals) changed."""
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    (work / "gateway.token").write_text(GATEWAY_TOKEN + "\n")
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"{webhook.url}/{receiver['name']}"
            hook["http_config"]["authorization"]["credentials_file"] = str(work / "gateway.token")
    for route in [config["route"], *config["route"]["routes"]]:
        route["group_wait"] = "0s" if route.get("group_wait") == "0s" else "1s"
        route["group_interval"] = "1s"
    (work / "alertmanager.yml").write_text(yaml.safe_dump(config))
    return work / "alertmanager.yml"


def _prometheus_config(work: Path, listener: StatusListener, kiosk_id: str, am_port: int) -> Path:
    job = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"][0]
    (work / "token").write_text(TOKEN + "\n")
    job["authorization"]["credentials_file"] = str(work / "token")
    job["scrape_interval"] = job["scrape_timeout"] = "1s"
    job["file_sd_configs"] = [{"files": [str(work / "targets.yml")], "refresh_interval": "1s"}]
    (work / "targets.yml").write_text(yaml.safe_dump([{"targets": [f"127.0.0.1:{listener.port}"],
                                                       "labels": {"kiosk": kiosk_id}}]))
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "adm-kiosk.rules.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
    (work / "rules.yml").write_text(yaml.safe_dump(rules))
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": [str(work / "rules.yml")],
              "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
              "scrape_configs": [job]}
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    return work / "prometheus.yml"


@pytest.fixture
def peers(make_kiosk: Callable[..., SimulatedKiosk], tmp_path: Path) -> Iterator[tuple[SimulatedKiosk, Webhook]]:
    if PROMETHEUS is None or ALERTMANAGER is None:
        pytest.skip("prometheus and prometheus-alertmanager are not installed (apt-get install prometheus "
                    "prometheus-alertmanager)")
    k = make_kiosk(**{"kiosk.id": "ADM-3201-0042", "kiosk.location": "Mal Pelayanan Publik Cibinong"})
    Tokens(k.store).create("prometheus", token=TOKEN)
    listener = StatusListener(k, "127.0.0.1", 0).start()
    webhook = Webhook()
    work = tmp_path / "peers"
    work.mkdir()
    am_port = _free_port()
    am = _start([ALERTMANAGER, f"--config.file={_alertmanager_config(work, webhook)}",
                 f"--storage.path={work / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
                 "--cluster.listen-address=", "--log.level=warn"],
                work / "alertmanager.log", f"http://127.0.0.1:{am_port}/-/ready")
    prom_port = _free_port()
    try:
        prom = _start([PROMETHEUS, f"--config.file={_prometheus_config(work, listener, k.cfg.kiosk.id, am_port)}",
                       f"--storage.tsdb.path={work / 'prom'}", f"--web.listen-address=127.0.0.1:{prom_port}",
                       "--log.level=warn"], work / "prometheus.log", f"http://127.0.0.1:{prom_port}/-/ready")
        try:
            yield k, webhook
        finally:
            _stop(prom)
    finally:
        _stop(am)
        listener.stop()
        webhook.server.shutdown()


def test_a_call_for_staff_reaches_the_webhook_and_central_without_personal_data(
        peers: tuple[SimulatedKiosk, Webhook]) -> None:
    k, webhook = peers
    issued = k.issue_demo_pins()[0]
    citizen = Screen(create_app(k).test_client())
    citizen.get("/")
    citizen.post("/nik", nik=issued.nik)
    citizen.get("/pin")
    t0 = time.monotonic()
    assert citizen.post("/help/call", screen="pin", next="/pin").status_code == 302

    firing = webhook.wait_for("firing")
    took = time.monotonic() - t0
    alert = next(a for a in firing["alerts"] if a["labels"]["alertname"] == "AdmStaffCalled")
    assert firing["receiver"] == "regency-staff"
    assert webhook.auth[0] == f"Bearer {GATEWAY_TOKEN}"  # the gateway's token came from the file, not the config
    assert {alert["labels"][x] for x in ("kiosk", "location", "screen")} == {
        "ADM-3201-0042", "Mal Pelayanan Publik Cibinong", "pin"}
    assert alert["annotations"]["summary"] == ("Kiosk ADM-3201-0042 (Mal Pelayanan Publik Cibinong): "
                                               "a citizen is asking for help")
    everything = json.dumps(webhook.bodies)
    session_id = k.sessions.active()[0].id
    assert issued.nik not in everything and issued.nik[:4] + "****" not in everything and session_id not in everything

    # central's own record of the same call, from the kiosk's outbox
    deadline = time.monotonic() + 10
    while not k.central_server.sim.help.calls() and time.monotonic() < deadline:
        time.sleep(0.1)
    (call,) = k.central_server.sim.help.calls()
    assert (call["kiosk"], call["location"], call["screen"], call["state"]) == (
        "ADM-3201-0042", "Mal Pelayanan Publik Cibinong", "pin", "open")
    assert session_id not in json.dumps(k.central_server.sim.help.notices())

    # the citizen cancels: the metric returns to 0, the alert resolves at the webhook, central hears it
    citizen.post("/help/call/cancel", next="/pin")
    webhook.wait_for("resolved")
    deadline = time.monotonic() + 10
    while k.central_server.sim.help.calls()[0]["state"] == "open" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert k.central_server.sim.help.calls()[0]["state"] == "cancelled"
    print(f"tap -> webhook: {took:.1f} s")
