"""Opening hours: validated settings, the closed screen, no session at the boundary, reported closed (not down)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from kiosk.citizen.session import SessionError
from kiosk.cli.simulation import SimulatedKiosk
from kiosk.config import ConfigError
from kiosk.model import DocumentKind
from kiosk.opening_hours import DAYS, OpeningHours
from tests.conftest import sim_config
from tests.screen import Screen
from ui import create_app


def today_at(hour: int, minute: int = 0, second: int = 0) -> float:
    return dt.datetime.combine(dt.date.today(), dt.time(hour, minute, second)).timestamp()


TODAY = DAYS[dt.date.today().weekday()]


@pytest.mark.parametrize(("table", "message"), [
    ({"mon": "8-16"}, "'kiosk.opening_hours.mon': '8' is not a time like 08:00"),
    ({"mon": "16:00-08:00"}, "'kiosk.opening_hours.mon': '16:00-08:00' closes before it opens"),
    ({"monday": "08:00-16:00"}, "'kiosk.opening_hours.monday': not a weekday"),
    ({"sat": "08:00-12:00,11:00-13:00"}, "'kiosk.opening_hours.sat': '11:00-13:00' overlaps"),
    ({"sun": "08:00-25:00"}, "'kiosk.opening_hours.sun': '25:00' is not a time like 08:00"),
    ({"tue": ""}, "'kiosk.opening_hours.tue': expected hours like"),
])
def test_bad_opening_hours_are_refused_with_a_clear_message(tmp_path: Path, table: dict[str, str],
                                                            message: str) -> None:
    with pytest.raises(ConfigError) as err:
        sim_config(tmp_path, **{"kiosk.opening_hours": table})
    assert any(p.startswith(message) for p in err.value.problems), err.value.problems


def test_coordinates_come_in_pairs_and_on_earth(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set together"):
        sim_config(tmp_path, **{"kiosk.latitude": -6.5})
    with pytest.raises(ConfigError, match="not a place on Earth"):
        sim_config(tmp_path, **{"kiosk.latitude": -96.5, "kiosk.longitude": 106.8})


def test_hours_open_close_and_next_opening() -> None:
    hours = OpeningHours.parse({TODAY: "08:00-12:00,13:00-16:00"})
    assert not hours.is_open(today_at(7, 59, 59)) and hours.is_open(today_at(8))
    assert not hours.is_open(today_at(12, 30)) and hours.next_open(today_at(12, 30)) == today_at(13)
    assert hours.is_open(today_at(15, 59, 59)) and not hours.is_open(today_at(16))
    assert hours.next_open(today_at(16)) == today_at(8) + 7 * 86400  # a day left out is closed: next week
    assert OpeningHours.parse({}).is_open(today_at(3))  # none configured: always open


@pytest.fixture
def closing_kiosk(make_kiosk: Callable[..., SimulatedKiosk]) -> SimulatedKiosk:
    k = make_kiosk(**{"kiosk.opening_hours": {TODAY: "08:00-16:00"}})
    k.hours.clock = lambda: today_at(15, 59, 59)
    k.monitor.refresh()
    return k


def test_no_session_starts_at_closing_but_one_started_before_finishes(closing_kiosk: SimulatedKiosk) -> None:
    k = closing_kiosk
    a, b = k.issue_demo_pins()[:2]
    s = k.sessions.start(a.nik, "nik")  # 15:59:59: open
    k.hours.clock = lambda: today_at(16)
    with pytest.raises(SessionError) as err:
        k.sessions.start(b.nik, "nik")
    assert err.value.code == "closed"
    assert k.store.query_one("SELECT COUNT(*) FROM sessions")[0] == 1
    assert k.sessions.submit_pin(s.id, a.pin).ok  # the citizen who started before closing carries on
    k.monitor.refresh()
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 30)
    assert len(k.sim.cups.printed_files("card")) == 1  # what came out of the simulated card printer


def test_closed_screen_shows_hours_and_the_nearest_open_kiosk(closing_kiosk: SimulatedKiosk) -> None:
    k = closing_kiosk
    k.hours.clock = lambda: today_at(16)
    k.central_server.sim.fleet.record(k.cfg.kiosk.id, {"public": {"location": {
        "name": "here", "latitude": -6.4851, "longitude": 106.8424}}})
    k.central_server.sim.fleet.record("ADM-OPEN", {"public": {
        "state": "in_service", "open_now": True, "can_print": ["kk"], "blanks": {}, "opening_hours": {},
        "location": {"name": "Kantor Kecamatan Ciawi", "latitude": -6.6544, "longitude": 106.8536}}})
    screen = Screen(create_app(k).test_client())
    r = screen.get("/")
    assert r.status_code == 503
    assert "ADM ini sedang tutup" in r.text and "Kantor Kecamatan Ciawi" in r.text
    hours = dict(re.findall(r'<th scope="row">(\w+)</th><td>([^<]+)</td>', r.text))
    names = dict(zip(DAYS, ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"), strict=True))
    assert hours[names[TODAY]] == "08:00-16:00" and list(hours.values()).count("Tutup") == 6
    assert "Buka kembali hari" in r.text
    r = screen.post("/nik", nik=k.issue_demo_pins()[0].nik)
    assert r.status_code == 422 and "ADM ini sedang tutup" in r.text
    assert screen.c.get("/poll").json["available"] is False  # the welcome screen's poll turns to the closed screen


def test_closed_screen_is_silent_about_other_kiosks_when_central_is_down(closing_kiosk: SimulatedKiosk) -> None:
    k = closing_kiosk
    k.hours.clock = lambda: today_at(16)
    k.central_server.sim.faults.down = True
    r = Screen(create_app(k).test_client()).get("/")
    assert r.status_code == 503 and "ADM ini sedang tutup" in r.text and 'id="nearest"' not in r.text


def test_a_closed_kiosk_reports_closed_to_the_fleet_and_its_metrics(closing_kiosk: SimulatedKiosk) -> None:
    k = closing_kiosk
    k.hours.clock = lambda: today_at(16)
    public = k.telemetry.snapshot(today_at(16))["public"]
    assert public["state"] == "closed" and public["can_print"] == [] and public["open_now"] is False
    assert public["next_open_at"] == today_at(8) + 7 * 86400
    metrics = k.telemetry.metrics().decode()
    kid = k.cfg.kiosk.id
    assert f'adm_kiosk_open{{kiosk="{kid}"}} 0.0' in metrics
    assert re.search(rf'adm_kiosk_next_open_timestamp_seconds{{kiosk="{kid}"}} [1-9]', metrics)
    k.background.stop()  # its own heartbeat, at the real time of day, must not replace this one in the outbox
    k.telemetry._last_heartbeat = 0.0
    k.telemetry.heartbeat_tick(today_at(16))
    k.outbox.flush()
    listed = {x["id"]: x for x in k.central_server.sim.fleet.kiosks()}
    assert listed[kid]["state"] == "closed"


def test_open_kiosk_summary_lists_what_a_plan_could_print(kiosk: SimulatedKiosk) -> None:
    kiosk.monitor.refresh()
    public = kiosk.telemetry.snapshot()["public"]
    assert public["state"] == "in_service" and public["opening_hours"] == {}
    assert set(public["can_print"]) == {k.value for k in DocumentKind}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_a_closed_kiosk_with_its_printer_off_fires_no_alert_in_the_real_rules(closing_kiosk: SimulatedKiosk,
                                                                              tmp_path: Path) -> None:
    """The series a real closed kiosk exports (its card printer off for the night), fed to the deploy/ rules
    with promtool: switched off after the scrape, it is neither down nor unavailable nor missing a device."""
    k = closing_kiosk
    k.hours.clock = lambda: today_at(16)
    k.sim.queue("card_printer").state_reasons.append("media-jam-error")
    k.monitor.refresh()
    wanted = {"adm_kiosk_open", "adm_kiosk_next_open_timestamp_seconds", "adm_device_ready", "adm_kiosk_available",
              "adm_kiosk_mode"}
    series = []
    for family in text_string_to_metric_families(k.telemetry.metrics().decode()):
        for sample in family.samples:
            if sample.name in wanted:
                labels = {**sample.labels, "job": "adm-kiosk", "instance": "k1"}
                text = ",".join(f'{n}="{v}"' for n, v in sorted(labels.items()))
                series.append({"series": f"{sample.name}{{{text}}}", "values": f"{sample.value:.0f}x3"})
    assert any(s["series"].startswith("adm_device_ready") and s["values"] == "0x3" for s in series)
    series.append({"series": f'up{{job="adm-kiosk",instance="k1",kiosk="{k.cfg.kiosk.id}"}}',
                   "values": "1 1 1 1 " + " ".join(["0"] * 24)})  # switched off after the last scrape
    rules = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules" / "adm-kiosk.rules.yml"
    quiet = [{"eval_time": "2h", "alertname": name, "exp_alerts": []}
             for name in ("AdmKioskDown", "AdmRequiredDeviceNotReady", "AdmKioskUnavailable")]
    quiet[1]["eval_time"] = quiet[2]["eval_time"] = "15m"  # while it still reported (closed, printer off)
    test = {"rule_files": [str(rules)], "evaluation_interval": "1m",
            "tests": [{"interval": "5m", "input_series": series, "alert_rule_test": quiet}]}
    (tmp_path / "closed.test.yml").write_text(yaml.safe_dump(test))
    out = subprocess.run(["promtool", "test", "rules", str(tmp_path / "closed.test.yml")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
