"""A real Prometheus (Debian's package) on loopback scrapes 20 simulated kiosks; faults are
injected into some, and the Prometheus HTTP API must show the right alerts firing for the right
kiosks, and none for the healthy ones.

The scrape job and the alert rules are the ones in deploy/prometheus/, with only the intervals
and ``for:`` durations shortened (and file paths pointed at a temporary directory), so this
tests what a regency's IT officer installs.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kiosk.services import Kiosk
from kiosk.staff.tokens import Tokens
from ui.api import StatusListener

pytestmark = pytest.mark.integration
PROM_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMETHEUS = shutil.which("prometheus")
FLEET = 20
FOR = "3s"
TOKEN = "adm_" + "integration-test-token-0123456789abcdefghij"  # made at run time in production


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kid(i: int) -> str:
    return f"ADM-TEST-{i:04d}"


@pytest.fixture
def fleet(make_kiosk: Callable[..., Kiosk], tmp_path: Path) -> Iterator[list[tuple[Kiosk, StatusListener]]]:
    """20 kiosks, each with its own journal, simulated hardware, simulated central and status listener."""
    out: list[tuple[Kiosk, StatusListener] | None] = [None] * FLEET
    errors: list[BaseException] = []

    def build(i: int) -> None:
        try:
            k = make_kiosk(tmp_path / f"k{i:02d}", **{"kiosk.id": _kid(i), "kiosk.location": f"Kecamatan {i}",
                                                    "status.heartbeat_interval_s": 2, "central.retries": 0,
                                                    "devices.poll_interval_s": 0.5})
            Tokens(k.store).create("prometheus", token=TOKEN)
            out[i] = (k, StatusListener(k, "127.0.0.1", 0).start())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for i in range(FLEET):  # one after another: CPython 3.11 may raise "AST constructor recursion depth mismatch"
        build(i)  # when threads compile at once (the kiosks' first imports and templates)
    built = [x for x in out if x is not None]
    try:
        assert not errors and len(built) == FLEET, errors
        yield built
    finally:
        for _, listener in built:
            listener.stop()


def _prometheus_files(tmp: Path, fleet: list[tuple[Kiosk, StatusListener]]) -> Path:
    """deploy/prometheus's scrape job and rules, with test intervals and temporary paths."""
    job = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())["scrape_configs"][0]
    (tmp / "token").write_text(TOKEN + "\n")
    job["authorization"]["credentials_file"] = str(tmp / "token")
    job["scrape_interval"] = job["scrape_timeout"] = "1s"
    job["file_sd_configs"] = [{"files": [str(tmp / "targets.yml")], "refresh_interval": "1s"}]
    targets = [{"targets": [f"127.0.0.1:{listener.port}"], "labels": {"kiosk": k.cfg.kiosk.id}} for k, listener in fleet]
    (tmp / "targets.yml").write_text(yaml.safe_dump(targets))
    rules = yaml.safe_load((PROM_DIR / "rules" / "adm-kiosk.rules.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            rule["for"] = FOR
    (tmp / "rules.yml").write_text(yaml.safe_dump(rules))
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "rule_files": [str(tmp / "rules.yml")], "scrape_configs": [job]}
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    return tmp / "prometheus.yml"


@pytest.fixture
def prometheus(tmp_path: Path, fleet: list[tuple[Kiosk, StatusListener]]) -> Iterator[str]:
    if PROMETHEUS is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    work = tmp_path / "prometheus"
    work.mkdir()
    config = _prometheus_files(work, fleet)
    port = _free_port()
    log = (work / "prometheus.log").open("wb")
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (work / "prometheus.log").read_text()
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _firing(url: str) -> set[tuple[str, str]]:
    alerts = httpx.get(url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {(a["labels"]["alertname"], a["labels"].get("kiosk", "?")) for a in alerts if a["state"] == "firing"}


def _drain_blanks(k: Kiosk, keep: int) -> None:
    """As if all but ``keep`` KTP-el blanks were printed today: few left, and under a day's use."""
    now = time.time()
    with k.store.tx() as db:
        db.execute("UPDATE blank_cards SET state='printed', updated_at=? WHERE kind='ktp-el' AND serial NOT IN "
                   "(SELECT serial FROM blank_cards WHERE kind='ktp-el' ORDER BY serial DESC LIMIT ?)", (now, keep))


def test_fleet_alerts_fire_for_the_right_kiosks(fleet: list[tuple[Kiosk, StatusListener]], prometheus: str) -> None:
    k = {i: fleet[i][0] for i in range(FLEET)}
    # all 20 are scraped and healthy first: no alert at all
    deadline = time.monotonic() + 30
    while True:
        up = httpx.get(prometheus + "/api/v1/query", params={"query": 'up{job="adm-kiosk"} == 1'}, timeout=5).json()
        if len(up["data"]["result"]) == FLEET:
            break
        assert time.monotonic() < deadline, f"only {len(up['data']['result'])} of {FLEET} kiosks scraped"
        time.sleep(0.5)
    assert _firing(prometheus) == set()

    # faults
    for i in (3, 7):
        k[i].sim.queue("card_printer").state_reasons.append("media-jam-error")
    _drain_blanks(k[5], keep=5)
    k[9].central_server.sim.faults.down = True
    with k[11].store.tx() as db:
        db.execute("INSERT OR REPLACE INTO duty_cycle VALUES ('card_printer', date('now', 'localtime'), 95)")
    with k[13].store.tx() as db:
        db.execute("UPDATE supplies SET remaining=12 WHERE device='card_printer' AND name='ribbon'")
    fleet[15][1].stop()

    expected = {
        ("AdmRequiredDeviceNotReady", _kid(3)), ("AdmKioskUnavailable", _kid(3)),
        ("AdmRequiredDeviceNotReady", _kid(7)), ("AdmKioskUnavailable", _kid(7)),
        ("AdmBlanksLow", _kid(5)), ("AdmBlanksRunOutSoon", _kid(5)),
        ("AdmCentralUnreachable", _kid(9)),
        ("AdmCardPrinterNearDutyLimit", _kid(11)),
        ("AdmRibbonLow", _kid(13)),
        ("AdmKioskDown", _kid(15)),
    }
    deadline = time.monotonic() + 60
    firing: set[tuple[str, str]] = set()
    while time.monotonic() < deadline:
        firing = _firing(prometheus)
        if expected <= firing:
            break
        time.sleep(0.5)
    assert firing == expected, f"missing {expected - firing}, unexpected {firing - expected}"

    # the alerts carry what an IT officer needs to act
    alerts: list[dict[str, Any]] = httpx.get(prometheus + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    jam = next(a for a in alerts if a["labels"]["alertname"] == "AdmRequiredDeviceNotReady"
               and a["labels"]["kiosk"] == _kid(3))
    assert jam["labels"]["device"] == "card_printer" and jam["labels"]["severity"] == "critical"
    blanks = next(a for a in alerts if a["labels"]["alertname"] == "AdmBlanksLow")
    assert blanks["labels"]["kind"] == "ktp-el" and blanks["annotations"]["summary"] == f"Kiosk {_kid(5)}: 5 ktp-el blanks left"

    # a fault cleared is an alert resolved
    k[3].sim.cups.clear_faults(k[3].cfg.devices.card_printer.queue)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and ("AdmRequiredDeviceNotReady", _kid(3)) in _firing(prometheus):
        time.sleep(0.5)
    assert ("AdmRequiredDeviceNotReady", _kid(3)) not in _firing(prometheus)
