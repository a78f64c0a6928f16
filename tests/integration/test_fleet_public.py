"""Know before you go: four kiosks in different states heartbeat to one simulated central (issue 17).

The public page and JSON are read over HTTP from the simulated central, without a token; the
witness is central's own view of what each kiosk said, and the WhatsApp message it queued.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from hardware_sim.central import CentralServer, CentralSim
from hardware_sim.central_fleet import STALE_AFTER_S
from kiosk.cli.simulation import SimulatedKiosk
from kiosk.model import DocumentKind
from kiosk.opening_hours import DAYS

PLACES = {  # (name, latitude, longitude)
    "K-CIBINONG": ("Disdukcapil Kab. Bogor, Cibinong", -6.4851, 106.8424),
    "K-NOBLANKS": ("Kantor Kecamatan Sukaraja", -6.5532, 106.8376),
    "K-CLOSED": ("Mal Pelayanan Publik Cibinong", -6.4820, 106.8530),
    "K-QUIET": ("Kantor Kecamatan Ciawi", -6.6544, 106.8536),
}


@pytest.fixture
def central(tmp_path: Path) -> CentralServer:
    server = CentralServer(CentralSim(tmp_path / "central" / "central.db")).start()
    yield server
    server.stop()


def wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def fleet_kiosk(make_kiosk: Callable[..., SimulatedKiosk], tmp_path: Path, central: CentralServer, kid: str,
                **extra: object) -> SimulatedKiosk:
    name, lat, lon = PLACES[kid]
    key = f"key-{kid}"
    central.sim.register_kiosk(kid, key.encode())
    k = make_kiosk(tmp_path / kid, **{"kiosk.id": kid, "kiosk.location": name, "kiosk.latitude": lat,
                                      "kiosk.longitude": lon, "central.url": central.url, "central.kiosk_key": key,
                                      "status.heartbeat_interval_s": 3600, **extra})
    wait_until(lambda: k.availability().available)
    return k


def heartbeat(k: SimulatedKiosk) -> None:
    k.telemetry._last_heartbeat = 0.0
    assert k.telemetry.heartbeat_tick()
    k.outbox.flush()


def test_public_page_shows_each_kiosk_state_and_what_it_can_print(
        make_kiosk: Callable[..., SimulatedKiosk], tmp_path: Path, central: CentralServer) -> None:
    not_today = DAYS[(dt.date.today().weekday() + 1) % 7]
    kiosks = {
        "K-CIBINONG": fleet_kiosk(make_kiosk, tmp_path, central, "K-CIBINONG"),
        "K-NOBLANKS": fleet_kiosk(make_kiosk, tmp_path, central, "K-NOBLANKS"),
        "K-CLOSED": fleet_kiosk(make_kiosk, tmp_path, central, "K-CLOSED",
                                **{"kiosk.opening_hours": {not_today: "08:00-16:00"}}),
        "K-QUIET": fleet_kiosk(make_kiosk, tmp_path, central, "K-QUIET"),
    }
    nb = kiosks["K-NOBLANKS"]
    for (serial,) in nb.store.query("SELECT serial FROM blank_cards WHERE state='stock'"):
        nb.printing.blanks.damaged(serial, "test", "hopper emptied for the test")
    for k in kiosks.values():
        heartbeat(k)
    central.sim.fleet.set_heard("K-QUIET", time.time() - STALE_AFTER_S - 60)

    data = httpx.get(central.url + "/public/kiosks.json").json()  # no token: public
    by_id = {k["id"]: k for k in data["kiosks"]}
    assert set(by_id) == set(PLACES)
    every_kind = {k.value for k in DocumentKind}
    card_kinds = {"ktp-el", "kia"}
    assert by_id["K-CIBINONG"]["state"] == "in_service"
    assert set(by_id["K-CIBINONG"]["can_print"]) == every_kind
    assert by_id["K-CIBINONG"]["blanks"]["ktp-el"] == "plenty"
    assert by_id["K-NOBLANKS"]["state"] == "no_blanks"
    assert set(by_id["K-NOBLANKS"]["can_print"]) == every_kind - card_kinds
    assert by_id["K-NOBLANKS"]["blanks"]["ktp-el"] == "none"
    assert by_id["K-CLOSED"]["state"] == "closed" and by_id["K-CLOSED"]["can_print"] == []
    assert by_id["K-CLOSED"]["opening_hours"][not_today] == "08:00-16:00"
    assert by_id["K-QUIET"]["state"] == "offline" and not by_id["K-QUIET"]["connected"]
    assert by_id["K-QUIET"]["can_print"] == []
    assert by_id["K-CIBINONG"]["latitude"] == pytest.approx(-6.4851)
    text = str(data)
    assert not re.search(r"\d{16}", text)  # no NIK, nothing personal

    page = httpx.get(central.url + "/public/kiosks")
    assert page.status_code == 200 and '<html lang="id">' in page.text
    rows = dict(re.findall(r'<tr id="kiosk-([^"]+)" data-state="([^"]+)">', page.text))
    assert rows == {"K-CIBINONG": "in_service", "K-NOBLANKS": "no_blanks", "K-CLOSED": "closed",
                    "K-QUIET": "offline"}
    assert "Tidak terhubung" in page.text and "Blangko habis" in page.text and "Tutup" in page.text
    assert "Not connected" in httpx.get(central.url + "/public/kiosks?lang=en").text

    # the WhatsApp PIN message names the nearest kiosks that can print that request now
    ktp = central.sim.issue_pin("3201010508900001", [DocumentKind.KTP_EL])
    near = ktp.whatsapp.split("sekarang:\n", 1)[1].splitlines()
    assert near == ["1. Disdukcapil Kab. Bogor, Cibinong (1,3 km)"]
    kk = central.sim.issue_pin("3201014501920002", [DocumentKind.KK])
    near = kk.whatsapp.split("sekarang:\n", 1)[1].splitlines()
    assert [line.split(" (")[0] for line in near] == ["1. Disdukcapil Kab. Bogor, Cibinong",
                                                      "2. Kantor Kecamatan Sukaraja"]
    assert central.sim.whatsapp_messages()[-1] == kk.whatsapp
