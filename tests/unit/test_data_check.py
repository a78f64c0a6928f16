""""Periksa data Anda": the card as it will print, before a blank is used; "Data salah" prints nothing.

Witnesses outside the code under test: the simulated printers' spool, the card printer's own
hopper count, the simulated central's records (the data-rejected report, the PIN still redeems).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from kiosk.cli.simulation import SimulatedKiosk
from tests.unit.test_flow import Citizen
from ui import create_app


@pytest.fixture
def citizen(kiosk: SimulatedKiosk) -> Iterator[Citizen]:
    yield Citizen(create_app(kiosk).test_client())


def _at_check(kiosk: SimulatedKiosk, citizen: Citizen, lang: str = "id") -> tuple[object, str]:
    issued = kiosk.issue_demo_pins()[0]  # Budi: KTP-el and KK
    citizen.get("/")
    if lang != "id":
        citizen.post("/lang", lang=lang)
    citizen.identify(issued.nik)
    citizen.post("/pin", pin=issued.pin)
    r = citizen.post("/check", doc=citizen.documents())
    assert r.status_code == 200
    return issued, r.text


def test_the_card_is_shown_as_it_will_print_from_memory_only(kiosk: SimulatedKiosk, citizen: Citizen,
                                                             tmp_path: Path) -> None:
    _, html = _at_check(kiosk, citizen)
    assert "Periksa data Anda" in html and "Data benar, cetak" in html and "Data salah, jangan cetak" in html
    [src] = re.findall(r'<img src="([^"]+)"', html)
    r = citizen.c.get(src)
    assert r.status_code == 200 and r.mimetype == "image/png" and r.headers["Cache-Control"] == "no-store"
    face = Image.open(io.BytesIO(r.data))
    assert face.width == 720 and abs(face.width / face.height - 85.6 / 54) < 0.02
    assert [p for p in tmp_path.rglob("*") if p.suffix in (".png", ".pdf")] == []  # never a file on disk
    assert kiosk.sim.cups.printed_files("card") == []  # looking uses no blank


def test_data_wrong_prints_nothing_keeps_the_pin_and_tells_central(kiosk: SimulatedKiosk, citizen: Citizen) -> None:
    hopper = kiosk.sim.queue("card_printer").hopper
    stock = kiosk.printing.blanks_in_stock("ktp-el")
    issued, html = _at_check(kiosk, citizen)
    ktp = next(d for d in kiosk.sessions.active()[0].documents if d.kind.value == "ktp-el")
    src = re.findall(r'<img src="([^"]+)"', html)[0]
    r = citizen.post("/check/reject", doc=citizen_docs(html))
    assert r.status_code == 200
    assert "Tidak ada yang dicetak" in r.text and "loket pelayanan kantor Disdukcapil" in r.text
    assert kiosk.sessions.active() == []  # the session and its personal data are gone
    assert citizen.c.get(src).status_code == 404  # and so is the card face
    assert kiosk.sim.cups.printed_files("card") == [] and kiosk.sim.cups.printed_files("a4") == []
    assert kiosk.sim.queue("card_printer").hopper == hopper  # no blank left the hopper
    assert kiosk.printing.blanks_in_stock("ktp-el") == stock
    assert kiosk.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 0
    central = kiosk.central_server.sim
    kiosk.outbox.flush()
    assert kiosk.outbox.backlog() == 0
    assert [r["outcome"] for r in central.reports_for(ktp.id)] == ["data-rejected"]
    assert set(central.document_states(issued.request_id).values()) == {"ready"}
    assert central.redeem("ANOTHER-KIOSK", issued.nik, issued.pin)[0] == 200
    row = kiosk.store.query_one("SELECT state, outcome FROM sessions")
    assert tuple(row) == ("ended", "data-rejected")


def test_a_second_tap_on_data_wrong_reports_once(kiosk: SimulatedKiosk, citizen: Citizen) -> None:
    _, html = _at_check(kiosk, citizen)
    citizen.post("/check/reject", doc=citizen_docs(html))
    r = citizen.post("/check/reject", doc=citizen_docs(html))
    assert r.status_code == 302 and r.location == "/"
    assert citizen.post("/print", doc=citizen_docs(html)).location == "/"  # nor can it print afterwards
    kiosk.outbox.flush()
    central = kiosk.central_server.sim  # reports by key: the background tick may deliver one again (a duplicate)
    assert central.report_count("data-rejected") == central.report_count() == 1
    assert kiosk.sim.cups.printed_files("card") == []


def test_data_correct_prints_as_before(kiosk: SimulatedKiosk, citizen: Citizen) -> None:
    _, html = _at_check(kiosk, citizen)
    r = citizen.post("/print", doc=citizen_docs(html))
    assert r.location == "/printing"
    assert [row["state"] for row in citizen.wait_done()["rows"]] == ["done", "done"]
    assert len(kiosk.sim.cups.printed_files("card")) == 1 and len(kiosk.sim.cups.printed_files("a4")) == 1


def test_the_check_in_english(kiosk: SimulatedKiosk, citizen: Citizen) -> None:
    _, html = _at_check(kiosk, citizen, "en")
    assert "Check your data" in html and "Data correct, print" in html and "Data wrong, do not print" in html
    r = citizen.post("/check/reject", doc=citizen_docs(html))
    assert "Nothing was printed" in r.text and "service counter of the Disdukcapil office" in r.text


def citizen_docs(html: str) -> list[str]:
    """The documents the check screen carries on to its two buttons (the same for both)."""
    forms = re.findall(r'<form method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    chosen = {action: re.findall(r'name="doc" value="([^"]+)"', body) for action, body in forms if "doc" in body}
    assert chosen["/check/reject"] == chosen["/print"] and len(chosen["/print"]) == 2
    return chosen["/print"]


def test_data_wrong_after_printing_began_changes_nothing(kiosk: SimulatedKiosk, citizen: Citizen) -> None:
    """Both buttons tapped (two fingers, a double tap): whichever moves the session first wins, the other is refused."""
    _, html = _at_check(kiosk, citizen)
    for device in ("card_printer", "document_printer"):
        kiosk.sim.queue(device).seconds_per_job = 0.3
    assert citizen.post("/print", doc=citizen_docs(html)).location == "/printing"
    r = citizen.post("/check/reject", doc=citizen_docs(html))
    assert r.status_code == 302 and r.location == "/printing"
    citizen.wait_done()
    kiosk.outbox.flush()
    central = kiosk.central_server.sim
    assert central.report_count("printed") == central.report_count() == 2
