"""Call staff ("Panggil petugas") through the web app: central's record, the metric, cancel, the end of a session.

The witnesses are the simulated central's own record of calls and notices (``central_server.sim.help``)
and the kiosk's /metrics text, not the journal.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.cli.simulation import SimulatedKiosk
from tests.screen import Screen
from ui import create_app


@pytest.fixture
def screen(kiosk: SimulatedKiosk) -> Iterator[Screen]:
    yield Screen(create_app(kiosk).test_client())


def staff_called(kiosk: SimulatedKiosk) -> dict[str, float]:
    """``adm_staff_called`` series from the kiosk's /metrics text: screen label -> value."""
    text = kiosk.telemetry.metrics().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^adm_staff_called\{[^}]*screen="([^"]*)"[^}]*\} (\S+)$', text, re.M)}


def delivered(kiosk: SimulatedKiosk) -> list[dict[str, Any]]:
    kiosk.outbox.flush()
    return kiosk.central_server.sim.help.calls()


def test_two_taps_make_one_call_and_central_hears_it_without_personal_data(kiosk: SimulatedKiosk,
                                                                          screen: Screen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    screen.get("/")
    screen.post("/nik", nik=issued.nik)
    page = screen.get("/pin").text
    assert "Panggil petugas" in page and 'name="screen" value="pin"' in page
    results: list[int] = []

    def tap() -> None:
        results.append(screen.c.post("/help/call", data={"screen": "pin", "csrf_token": screen.token},
                                     headers={"Accept": "application/json"}).status_code)

    taps = [threading.Thread(target=tap) for _ in range(4)]
    for t in taps:
        t.start()
    for t in taps:
        t.join(10)
    assert results == [200] * 4
    assert staff_called(kiosk) == {"pin": 1.0}
    calls = delivered(kiosk)
    assert [(c["kiosk"], c["location"], c["screen"], c["state"]) for c in calls] == [
        (kiosk.cfg.kiosk.id, kiosk.cfg.kiosk.location, "pin", "open")]
    assert 'data-state="open"' in screen.get("/pin").text  # "Petugas sedang menuju ke sini." shown, not the button
    notices = kiosk.central_server.sim.help.notices()
    assert {k for n in notices for k in n} == {"idempotency_key", "kiosk_id", "location", "call_id", "event", "screen",
                                                "reason", "at"}
    text = json.dumps(notices)
    session_id = kiosk.sessions.active()[0].id
    assert issued.nik not in text and "3201****" not in text and session_id not in text
    assert issued.nik not in kiosk.telemetry.metrics().decode()


def test_cancel_is_reported_and_the_metric_returns_to_zero(kiosk: SimulatedKiosk, screen: Screen) -> None:
    screen.get("/")
    assert screen.post("/help/call", screen="welcome", next="/").status_code == 302
    assert staff_called(kiosk) == {"welcome": 1.0}
    r = screen.c.post("/help/call/cancel", headers={"X-CSRFToken": screen.token, "Accept": "application/json"})
    assert r.json == {"status": "cancelled"}
    assert staff_called(kiosk) == {"none": 0.0}
    assert [(c["state"], c["screen"]) for c in delivered(kiosk)] == [("cancelled", "welcome")]
    assert 'data-state="none"' in screen.get("/").text
    # a second cancel changes nothing and tells central nothing more
    assert screen.c.post("/help/call/cancel", headers={"X-CSRFToken": screen.token,
                                                       "Accept": "application/json"}).json == {"status": "none"}
    assert [n["event"] for n in kiosk.central_server.sim.help.notices()] == ["called", "cancelled"]


def test_a_call_ends_with_the_session(kiosk: SimulatedKiosk, screen: Screen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    screen.get("/")
    screen.post("/nik", nik=issued.nik)
    screen.get("/pin")
    screen.post("/help/call", screen="pin", next="/pin")
    screen.post("/end")
    kiosk.staff_calls.sweep(lambda sid: kiosk.sessions.get(sid) is not None)  # what the background loop does each second
    assert staff_called(kiosk) == {"none": 0.0}
    calls = delivered(kiosk)
    assert [(c["state"], c["reason"]) for c in calls] == [("ended", "session-ended")]


def test_a_screen_name_that_is_not_a_screen_is_not_passed_on(kiosk: SimulatedKiosk, screen: Screen) -> None:
    screen.get("/")
    screen.post("/help/call", screen="3201010101010001", next="/")
    assert staff_called(kiosk) == {"unknown": 1.0}
    assert "3201010101010001" not in json.dumps(kiosk.central_server.sim.help.notices() or delivered(kiosk))


def test_a_call_left_open_by_a_restart_ends_and_central_hears_it(make_kiosk: Any, tmp_path: Any) -> None:
    """The process died with a call open: the next start ends it (no citizen survives a restart) and tells central."""
    first = make_kiosk(tmp_path / "k")
    first.staff_calls.call("documents", None)
    first.stop()  # as if killed: the journal keeps the open call, and no session survives
    again = make_kiosk(tmp_path / "k")
    assert staff_called(again) == {"none": 0.0}
    calls = delivered(again)
    assert [(c["screen"], c["state"], c["reason"]) for c in calls] == [("documents", "ended", "restart")]
