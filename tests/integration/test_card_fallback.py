"""When the card cannot be printed: the surat keterangan, the nearest kiosks, the queue ticket (issue 15).

Witnesses the code under test does not own: the simulated A4 printer's spool (the
substitute's PDF came out, byte for byte central's), the ESC/POS emulator (the ticket's
text), the simulated central's records (the card still ready, the request still open, the
queue number it issued).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from kiosk.cli.simulation import SimulatedKiosk
from kiosk.model import DocumentKind
from tests.screen import Screen
from ui import create_app


def empty_hopper(kiosk: SimulatedKiosk) -> None:
    """Every blank in stock taken out through the blank owner (as a technician would, damaged)."""
    for (serial,) in kiosk.store.query("SELECT serial FROM blank_cards WHERE state='stock'"):
        kiosk.printing.blanks.damaged(serial, "test", "removed for the test")


@pytest.fixture
def screen(kiosk: SimulatedKiosk) -> Iterator[Screen]:
    yield Screen(create_app(kiosk).test_client())


def to_documents(kiosk: SimulatedKiosk, screen: Screen, nik: str, pin: str) -> None:
    screen.get("/")
    assert screen.post("/nik", nik=nik).location == "/pin"
    screen.get("/pin")
    assert screen.post("/pin", pin=pin).location == "/documents"


def wait_done(screen: Screen, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = screen.c.get("/printing/status").json
        if status.get("done"):
            return status
        time.sleep(0.05)
    raise AssertionError("printing did not finish")


def test_no_blanks_offers_surat_keterangan_nearest_kiosks_and_a_queue_ticket(kiosk: SimulatedKiosk,
                                                                             screen: Screen) -> None:
    central = kiosk.central_server.sim
    # another kiosk nearby that can print a KTP-el now, as central heard it
    central.fleet.record("ADM-3201-0002", {"public": {
        "state": "in_service", "open_now": True, "can_print": ["ktp-el", "kk"], "blanks": {"ktp-el": "plenty"},
        "opening_hours": {}, "next_open_at": None,
        "location": {"name": "Kantor Kecamatan Ciawi", "latitude": -6.6544, "longitude": 106.8536}}})
    empty_hopper(kiosk)
    issued = central.issue_pin("3201010508900001", [DocumentKind.KTP_EL])
    to_documents(kiosk, screen, issued.nik, issued.pin)
    ids = re.findall(r'name="doc" value="([^"]+)"', screen.get("/documents").text)
    r = screen.post("/print", doc=ids)
    assert r.status_code == 302 and r.location == "/fallback"
    page = screen.get("/fallback").text
    assert "blangko" in page.lower()  # why, in Indonesian
    assert 'id="print-substitute"' in page
    assert "Kantor Kecamatan Ciawi" in page  # the nearest kiosk that can print the card now

    r = screen.post("/fallback/ticket")
    assert r.location == "/fallback"
    page = screen.get("/fallback").text
    assert "A-001" in page and "server Dukcapil" in page
    assert central.fleet.queue_tickets() == ["A-001"]
    ticket = kiosk.sim.escpos.receipts[-1].text
    assert "A-001" in ticket and "Nomor antrean" in ticket
    screen.post("/fallback/ticket")  # a second tap: the same ticket, nothing more at central
    assert central.fleet.queue_tickets() == ["A-001"]

    r = screen.post("/fallback/substitute")
    assert r.location == "/printing"
    status = wait_done(screen)
    assert [row["state"] for row in status["rows"]] == ["done"]
    a4 = kiosk.sim.cups.printed_files("a4")
    assert len(a4) == 1 and kiosk.sim.cups.printed_files("card") == []
    sk = [d for d in central.document_states(issued.request_id)]
    assert sorted(sk) == ["ktp-el", "surat-keterangan"]
    kiosk.outbox.flush()
    states = central.document_states(issued.request_id)
    assert states == {"ktp-el": "ready", "surat-keterangan": "printed"}
    assert central.request_state(issued.request_id) == "ready"  # the PIN still valid for the card
    row = central._db.execute("SELECT sha256 FROM documents WHERE kind='surat-keterangan'").fetchone()
    assert hashlib.sha256(a4[0].read_bytes()).hexdigest() == row[0]
    screen.post("/end")
    # the PIN works again at central for the card
    assert central.redeem("ADM-X", issued.nik, issued.pin)[0] == 200


def test_central_unreachable_local_queue_number_and_no_offer(kiosk: SimulatedKiosk, screen: Screen) -> None:
    central = kiosk.central_server.sim
    empty_hopper(kiosk)
    issued = central.issue_pin("3201014501920002", [DocumentKind.KTP_EL, DocumentKind.KK])
    to_documents(kiosk, screen, issued.nik, issued.pin)
    ids = re.findall(r'name="doc" value="([^"]+)"', screen.get("/documents").text)
    central.faults.down = True
    assert screen.post("/print", doc=ids).location == "/fallback"
    page = screen.get("/fallback").text
    assert 'id="central-silent"' in page and 'id="print-substitute"' not in page
    screen.post("/fallback/ticket")
    page = screen.get("/fallback").text
    assert "L-001" in page and "lokal" in page
    assert "L-001" in kiosk.sim.escpos.receipts[-1].text
    central.faults.down = False
    assert central.fleet.queue_tickets() == []


def test_card_printer_down_offers_the_fallback_and_the_a4_documents_still_print(
        make_kiosk: Callable[..., SimulatedKiosk]) -> None:
    k = make_kiosk(**{"devices.card_printer.required": False})
    screen = Screen(create_app(k).test_client())
    central = k.central_server.sim
    k.sim.queue("card_printer").state_reasons.append("media-jam-error")
    k.monitor.refresh()
    assert "ktp-el" not in [x.value for x in k.printing.printable_now()]
    issued = central.issue_pin("3201010508900001", [DocumentKind.KTP_EL])
    to_documents(k, screen, issued.nik, issued.pin)
    ids = re.findall(r'name="doc" value="([^"]+)"', screen.get("/documents").text)
    assert screen.post("/print", doc=ids).location == "/fallback"
    assert 'id="print-substitute"' in screen.get("/fallback").text
    assert screen.post("/fallback/substitute").location == "/printing"
    wait_done(screen)
    assert len(k.sim.cups.printed_files("a4")) == 1 and k.sim.cups.printed_files("card") == []
    assert k.telemetry.snapshot()["public"]["state"] == "printer_down"


def test_two_taps_on_the_queue_ticket_get_one_number_and_one_ticket(kiosk: SimulatedKiosk) -> None:
    central = kiosk.central_server.sim
    empty_hopper(kiosk)
    issued = central.issue_pin("3201010508900001", [DocumentKind.KTP_EL])
    s = kiosk.sessions.start(issued.nik, "nik")
    assert kiosk.sessions.submit_pin(s.id, issued.pin).ok
    before = len(kiosk.sim.escpos.receipts)
    with ThreadPoolExecutor(2) as pool:
        tickets = list(pool.map(lambda _i: kiosk.card_fallback.queue_ticket(s), range(2)))
    assert tickets[0] == tickets[1] and tickets[0].number == "A-001"
    assert central.fleet.queue_tickets() == ["A-001"]
    assert len(kiosk.sim.escpos.receipts) == before + 1
