"""The kiosk's real central client over a shaped link to the simulated central (served over HTTP).

A slow link: the citizen sees "Mengunduh dokumen (n dari 3)", then the documents, and they
print byte for byte. A dropping link (resets on every connection, or a stall longer than the
bound): the citizen sees the progress, then the server-unavailable message on the PIN screen
within the bound (never a hang), and the PIN try is not spent: the same PIN works once the
link is back.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from hardware_sim.link_shaper import LinkShaper
from kiosk.cli.simulation import SimulatedKiosk
from tests.screen import Screen
from ui import create_app

BOUND_S = 6.0
UNAVAILABLE = "Server Dukcapil sedang tidak tersedia. PIN Anda tetap berlaku."


@pytest.fixture
def slow_kiosk(make_kiosk: Callable[..., SimulatedKiosk]) -> SimulatedKiosk:
    return make_kiosk(**{"sim.link_shaper": True, "central.fetch_bound_s": BOUND_S, "central.timeout_s": 2.0})


def _link(k: SimulatedKiosk) -> LinkShaper:
    assert k.link is not None
    return k.link


def _pin(k: SimulatedKiosk) -> tuple[Screen, Any, Any]:
    issued = k.issue_demo_pins()[1]  # KTP-el, KK and akta kelahiran
    screen = Screen(create_app(k).test_client())
    screen.get("/")
    assert screen.post("/nik", nik=issued.nik).location == "/pin"
    screen.get("/pin")
    t0 = time.monotonic()
    r = screen.post("/pin", pin=issued.pin)
    return screen, r, (issued, t0)


def _poll(screen: Screen, timeout_s: float) -> tuple[list[str], dict[str, Any]]:
    """Follows the download screen as its script does; the progress lines seen and the last answer."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = screen.c.get("/documents/status").json
        if status.get("text") and status["text"] not in seen:
            seen.append(status["text"])
        if status.get("finished"):
            return seen, status
        time.sleep(0.05)
    raise AssertionError(f"the download screen never finished (a hang); saw {seen}")


def test_slow_link_shows_progress_then_the_documents_which_print_unchanged(slow_kiosk: SimulatedKiosk) -> None:
    link = _link(slow_kiosk)
    # 53 KB (the card data with its chip image, 25 KB, and two PDFs) in about 4 s: past a second, inside the bound
    link.configure(bandwidth_bps=15_000, rtt_s=0.2, stall_at_bytes=2_000, stall_s=0.5)
    screen, r, _ = _pin(slow_kiosk)
    assert r.location == "/documents"
    page = screen.get("/documents").text
    assert re.search(r"Mengunduh dokumen \(\d dari 3\)", page), page  # more than a second: the progress shows
    assert len(re.findall(r'name="doc" value="', page)) == 3  # listed while they download
    seen, status = _poll(screen, BOUND_S + 2)
    assert not status.get("failed") and status["url"] == "/documents"
    assert all(re.fullmatch(r"Mengunduh dokumen \([123] dari 3\)", t) for t in seen), seen
    page = screen.get("/documents").text
    docs = re.findall(r'name="doc" value="([^"]+)"', page)
    assert len(docs) == 3 and "Akta Kelahiran" in page
    assert link.counters()["stalls"] >= 1 and link.counters()["connections"] >= 3  # in parallel, over the link
    rid = slow_kiosk.sessions.active()[0].redemption_id
    assert screen.post("/print", doc=docs).location == "/printing"
    deadline = time.monotonic() + 30
    while not screen.c.get("/printing/status").json.get("done"):
        assert time.monotonic() < deadline, "printing did not finish"
        time.sleep(0.05)
    central = slow_kiosk.central_server
    assert central is not None and slow_kiosk.sim is not None
    sent = [central.sim.document(rid, d)[1] for d in docs]
    want = {hashlib.sha256(b).hexdigest() for b in sent if isinstance(b, bytes)}
    printed = {hashlib.sha256(p.read_bytes()).hexdigest() for p in slow_kiosk.sim.cups.printed_files("a4")}
    assert len(want) == 2 and want <= printed  # the signed PDFs came through the slow link byte for byte
    assert len(slow_kiosk.sim.cups.printed_files("card")) == 1


@pytest.mark.parametrize("fault", [{"reset_at_bytes": 3_000}, {"stall_at_bytes": 3_000, "stall_s": BOUND_S + 5}],
                         ids=["resets", "stall-past-the-bound"])
def test_dropping_link_ends_in_server_unavailable_within_the_bound(slow_kiosk: SimulatedKiosk,
                                                                    fault: dict[str, Any]) -> None:
    link = _link(slow_kiosk)
    link.configure(bandwidth_bps=20_000, rtt_s=0.2, **fault)
    screen, r, (issued, t0) = _pin(slow_kiosk)
    if r.status_code == 503:  # failed within the first second: told on the PIN screen at once
        html = r.text
    else:
        assert r.location == "/documents"
        assert re.search(r"Mengunduh dokumen \(1 dari 3\)", screen.get("/documents").text)
        seen, status = _poll(screen, BOUND_S + 3)
        assert status.get("failed") and status["url"] == "/pin?e=unavailable"
        html = screen.get(status["url"]).text
    took = time.monotonic() - t0
    assert UNAVAILABLE in html
    assert took <= BOUND_S + 3, f"the citizen waited {took:.1f} s (bound {BOUND_S} s)"
    assert slow_kiosk.pins.tries_left(slow_kiosk.sessions.active()[0].nik_hash) == 3  # the PIN try is not spent
    assert not [p for p in slow_kiosk.printing.work_dir.rglob("*") if p.is_file()]  # no partial document left
    link.configure(reset_at_bytes=0, stall_at_bytes=0, stall_s=0, bandwidth_bps=0, rtt_s=0)
    r = screen.post("/pin", pin=issued.pin)  # the link is back: the same PIN gives the documents
    assert r.location == "/documents"
    assert len(re.findall(r'name="doc" value="', screen.get("/documents").text)) == 3


def test_the_simulator_panel_switches_the_link(slow_kiosk: SimulatedKiosk) -> None:
    import httpx

    panel, link = slow_kiosk.simulator, _link(slow_kiosk)
    assert {"link-village", "link-drops"} <= set(panel.faults())
    panel.inject("link-village")
    with httpx.Client(base_url=link.url) as c:
        c.get("/v1/health")
        t = time.monotonic()
        c.get("/v1/health")
        rtt = time.monotonic() - t
    assert 0.29 <= rtt <= 0.5, rtt
    panel.fix("central")
    assert link.profile == link.initial
