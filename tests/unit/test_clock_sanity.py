"""Clock sanity: a kiosk whose clock is off by more than the signing window says so, and recovers.

The simulated central's clock is skewed (``CentralFaults.clock_skew_s``): it then refuses the
kiosk's signatures by its own clock, dates its answers by it and answers heartbeats with it.
Witnesses the kiosk does not own: central's records (the redeem calls it received) and what
the citizen's screen shows.
"""

from __future__ import annotations

import pytest

from kiosk.citizen import clock
from kiosk.citizen.central import MAX_CLOCK_SKEW_S
from kiosk.services import Kiosk
from tests.screen import Screen
from ui import create_app

REASON = "Jam anjungan tidak sesuai"


def clock_reasons(kiosk: Kiosk) -> list[str]:
    return [r for r in kiosk.availability().reasons if REASON in r]


def test_a_skewed_clock_puts_the_kiosk_out_of_service_until_it_is_right(kiosk: Kiosk,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    sim = kiosk.central_server.sim
    issued = kiosk.issue_demo_pins()[0]
    sim.faults.clock_skew_s = 900.0  # central 15 minutes ahead: the kiosk's clock is 15 minutes behind
    assert kiosk.central.ping()  # /v1/health needs no signature: its Date header tells
    (reason,) = clock_reasons(kiosk)
    assert "900 s behind central" in reason and f"{MAX_CLOCK_SKEW_S} s" in reason
    snap = kiosk.telemetry.snapshot()
    assert not snap["availability"]["available"] and reason in snap["availability"]["reasons"]
    screen = Screen(create_app(kiosk).test_client())
    assert screen.get("/").status_code == 503  # the out-of-service screen, not a failed PIN
    assert screen.post("/nik", nik=issued.nik).status_code != 302
    assert sim.redeems() == []  # central never saw a request bound to fail
    sim.faults.clock_skew_s = 0.0  # the time is set right again
    monkeypatch.setattr(clock, "PROBE_INTERVAL_S", 0.0)
    kiosk._tick()  # the background loop looks at central's time once while the clock is wrong
    assert clock_reasons(kiosk) == [] and kiosk.availability().available
    assert screen.get("/").status_code == 200
    assert screen.post("/nik", nik=issued.nik).location == "/pin"


def test_a_refusal_still_measures_and_the_kiosk_ahead_is_named(kiosk: Kiosk) -> None:
    """Central refuses the heartbeat's signature (the kiosk is 10 minutes ahead): its 401 is dated all the same."""
    from kiosk.citizen.central import CentralRejected
    kiosk.central_server.sim.faults.clock_skew_s = -600.0
    with pytest.raises(CentralRejected):
        kiosk.central.heartbeat(kiosk.telemetry.snapshot())
    (reason,) = clock_reasons(kiosk)
    assert "600 s ahead of central" in reason


def test_a_skew_inside_the_window_is_measured_by_the_heartbeat_and_no_reason(kiosk: Kiosk) -> None:
    sim = kiosk.central_server.sim
    sim.faults.clock_skew_s = MAX_CLOCK_SKEW_S - 60.0
    sim.faults.date_header = ""  # no Date at all: the heartbeat's own answer carries central's time
    kiosk.central.heartbeat(kiosk.telemetry.snapshot())
    last = kiosk.central.clock.last
    assert last is not None and last.source == "heartbeat" and abs(last.seconds - (MAX_CLOCK_SKEW_S - 60)) < 2
    assert clock_reasons(kiosk) == [] and kiosk.availability().available
    assert sim.heartbeats()  # recorded by central


@pytest.mark.parametrize("date", ["", "garbage", "Tue, 99 Foo 2026 25:61:00 GMT", "Mon, 01 Jan 9999 00:00:00 GMT",
                                  "Thu, 01 Jan 1970 00:00:00 GMT", "x" * 5000, "Tue, 01 Dec 2026 11:00:00 +9999"])
def test_garbage_or_missing_date_headers_are_ignored(kiosk: Kiosk, date: str) -> None:
    sim = kiosk.central_server.sim
    sim.faults.date_header = date
    sim.faults.clock_skew_s = 0.0
    assert kiosk.central.ping()
    kiosk.central.heartbeat(kiosk.telemetry.snapshot())  # the heartbeat's own time is right: still delivered
    assert clock_reasons(kiosk) == [] and kiosk.availability().available
    last = kiosk.central.clock.last
    assert last is not None and last.source == "heartbeat" and abs(last.seconds) < 2


def test_an_http_date_parses_to_unix_time() -> None:
    assert clock.parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777.0
    for bad in (None, "", "Sun, 06 Nov 1994", "1994-11-06T08:49:37Z"):
        assert clock.parse_http_date(bad) is None, bad
