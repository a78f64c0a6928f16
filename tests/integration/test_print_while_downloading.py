"""Printing starts while later documents still download, over the link shaper to the simulated central.

The documents screen lists the request's documents as soon as central's redemption answers,
each "downloading" or "ready", and "Cetak" works at once; each print lane waits for its own
document. Witnesses the kiosk does not own: the simulated printers' own job times and output
(the spool), the hopper's count, the simulated central's records (reports, document states, a
fresh redemption with the same PIN), and the shaper's byte counters.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from hardware_sim.link_shaper import LinkShaper
from kiosk.citizen.session import Step
from kiosk.cli.simulation import SimulatedKiosk
from tests.screen import Screen
from ui import create_app

BOUND_S = 8.0


def _link(k: SimulatedKiosk) -> LinkShaper:
    assert k.link is not None
    return k.link


def _to_documents(k: SimulatedKiosk) -> tuple[Screen, Any, float]:
    """Siti (KTP-el, KK, akta kelahiran) past the PIN: on the documents screen, the wall time the PIN was sent."""
    issued = k.issue_demo_pins()[1]
    screen = Screen(create_app(k).test_client())
    screen.get("/")
    assert screen.post("/nik", nik=issued.nik).location == "/pin"
    screen.get("/pin")
    t0 = time.time()
    assert screen.post("/pin", pin=issued.pin).location == "/documents"
    return screen, issued, t0


def _wait_done(k: SimulatedKiosk, timeout_s: float) -> None:
    s = k.sessions.active()[0]
    deadline = time.monotonic() + timeout_s
    while s.step is not Step.DONE:
        assert time.monotonic() < deadline, "printing did not finish"
        time.sleep(0.05)


def test_the_card_prints_while_the_a4_documents_still_download(make_kiosk: Callable[..., SimulatedKiosk]) -> None:
    k = make_kiosk(**{"sim.link_shaper": True, "central.fetch_bound_s": 20.0, "central.parallel_fetch": 1,
                      "central.timeout_s": 5.0})
    link = _link(k)
    link.configure(bandwidth_bps=10_000, rtt_s=0.1)  # the card data first (25 KB, 2.6 s), then KK and akta (1.4 s each)
    screen, _issued, _t0 = _to_documents(k)
    s = k.sessions.active()[0]
    assert s.downloads is not None
    page = screen.get("/documents").text
    docs = re.findall(r'name="doc" value="([^"]+)"', page)
    assert len(docs) == 3 and "Akta Kelahiran" in page and "Kartu Keluarga" in page  # listed before the content
    assert "Sedang diunduh..." in page and re.search(r"Mengunduh dokumen \(\d dari 3\)", page)
    assert re.search(r'<button[^>]*id="print"', page) and not re.search(r'<button[^>]*id="print"[^>]*disabled', page)
    status = screen.c.get("/documents/status").json
    assert {v["state"] for v in status["docs"].values()} == {"downloading"} and not status["finished"]
    assert screen.post("/print", doc=docs).location == "/printing"  # "Cetak" before any document is here
    _wait_done(k, 30)
    monotonic_to_wall = time.time() - time.monotonic()
    a4_done = s.downloads.finished_at
    assert a4_done is not None
    card, a4 = k.sim.cups.timeline("card"), k.sim.cups.timeline("a4")
    assert [o for *_x, o in card] == ["completed"] and [o for *_x, o in a4] == ["completed"] * 2
    card_started = card[0][1]
    assert card_started < a4_done + monotonic_to_wall - 0.5, (
        f"the card started {card_started - (a4_done + monotonic_to_wall):.2f} s after the A4 downloads ended")
    assert min(start for _t, start, _e, _o in a4) >= card_started  # the A4 lane waited for its downloads
    assert link.counters()["down"] >= 25_000 + 2 * 13_000  # all three came over the shaped link


def test_the_data_check_waits_for_the_card_only(make_kiosk: Callable[..., SimulatedKiosk]) -> None:
    k = make_kiosk(**{"sim.link_shaper": True, "central.fetch_bound_s": 20.0, "central.parallel_fetch": 1,
                      "central.timeout_s": 5.0})
    _link(k).configure(bandwidth_bps=8_000, rtt_s=0.1)  # the card data takes about 3 s
    screen, _issued, _t0 = _to_documents(k)
    s = k.sessions.active()[0]
    page = screen.get("/documents").text
    docs = re.findall(r'name="doc" value="([^"]+)"', page)
    card = next(d.id for d in s.documents if d.medium.value == "card")
    r = screen.post("/check", doc=docs)
    assert r.status_code == 200 and 'data-submit="check-again"' in r.text  # the card is not here yet: waiting
    assert re.search(r"Mengunduh dokumen \(\d dari 3\)", r.text) and 'id="data-ok"' not in r.text
    url = re.search(r'data-status-url="([^"]+)"', r.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    deadline = time.monotonic() + 15
    while not (status := screen.c.get(url).json)["finished"]:
        assert time.monotonic() < deadline, "the card's download never finished"
        time.sleep(0.05)
    assert status["docs"][card]["state"] == "ready"
    assert {v["state"] for i, v in status["docs"].items() if i != card} == {"downloading"}  # the A4s still on the way
    r = screen.post("/check", doc=docs)
    assert 'id="data-ok"' in r.text
    face = screen.c.get(f"/check/card/{card}.png")
    assert face.status_code == 200 and face.data.startswith(b"\x89PNG")
    assert s.downloads is not None and s.downloads.progress().done < 3  # shown before the A4 documents were in


def test_a_download_failing_after_cetak_fails_only_its_job(make_kiosk: Callable[..., SimulatedKiosk]) -> None:
    k = make_kiosk(**{"sim.link_shaper": True, "central.fetch_bound_s": BOUND_S, "central.timeout_s": 2.0})
    link = _link(k)
    # every connection that carries more than 20 KB is reset: the card data (25 KB) never arrives, the PDFs
    # (14 KB each) do; the card's download is tried again until the bound, then fails
    link.configure(bandwidth_bps=40_000, rtt_s=0.1, reset_at_bytes=20_000)
    queue = k.sim.queue("card_printer")
    hopper = queue.hopper
    screen, issued, t0 = _to_documents(k)
    s = k.sessions.active()[0]
    rid = s.redemption_id
    docs = re.findall(r'name="doc" value="([^"]+)"', screen.get("/documents").text)
    card = next(d for d in s.documents if d.medium.value == "card")
    assert screen.post("/print", doc=docs).location == "/printing"
    tapped = time.time()
    _wait_done(k, BOUND_S + 20)
    assert tapped < t0 + BOUND_S - 2  # "Cetak" came well before the download failed
    assert link.counters()["resets"] >= 1
    done = screen.get("/done").text
    assert "Sebagian dokumen belum tercetak" in done and "PIN Anda tetap berlaku" in done
    assert re.search(r"KTP Elektronik</span><span class=\"state\">Belum tercetak", done), done
    assert not k.sim.cups.timeline("card") and queue.hopper == hopper  # no card fed, no blank taken
    assert [o for *_x, o in k.sim.cups.timeline("a4")] == ["completed"] * 2  # the other documents printed
    assert tuple(k.store.query_one("SELECT state, error FROM print_jobs WHERE document_id=?", (card.id,))) == \
        ("failed", "fetch-failed")
    k.outbox.flush()
    central = k.central_server.sim
    assert [(r["outcome"], r.get("reason")) for r in central.reports_for(card.id)] == [("failed", "fetch-failed")]
    states = central.document_states(issued.request_id)
    assert states == {"ktp-el": "ready", "kk": "printed", "akta-kelahiran": "printed"}, states
    link.configure(reset_at_bytes=0, bandwidth_bps=0, rtt_s=0)
    status, again = central.redeem(k.cfg.kiosk.id, issued.nik, issued.pin)  # the PIN, still valid for the card
    assert status == 200 and [d["id"] for d in again["documents"]] == [card.id] and again["redemption_id"] != rid
