"""The citizen flow through the web app (Flask test client), from NIK to printed output, and each fault."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.services import Kiosk
from tests.screen import Screen
from ui import create_app


class Citizen(Screen):
    """A citizen at the touchscreen, with the steps the flow tests repeat."""

    def identify(self, nik: str) -> Any:
        self.get("/")
        return self.post("/nik", nik=nik)

    def documents(self) -> list[str]:
        return re.findall(r'name="doc" value="([^"]+)"', self.get("/documents").text)

    def wait_done(self, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.c.get("/printing/status").json
            if status.get("done"):
                return status
            time.sleep(0.05)
        raise AssertionError("printing did not finish")


@pytest.fixture
def citizen(kiosk: Kiosk) -> Iterator[Citizen]:
    app = create_app(kiosk)
    yield Citizen(app.test_client())


def errors(html: str) -> list[str]:
    return re.findall(r'class="error" role="alert">([^<]+)<', html)


def test_nik_to_printed_card_and_kk(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    r = citizen.identify(issued.nik)
    assert r.status_code == 302 and r.location == "/pin"
    assert "3201********0001" in citizen.get("/pin").text
    r = citizen.post("/pin", pin=issued.pin)
    assert r.location == "/documents"
    page = citizen.get("/documents").text
    assert "KTP Elektronik" in page and "Kartu Keluarga" in page and "Kertas A4" in page
    r = citizen.post("/print", doc=citizen.documents())
    assert r.location == "/printing"
    status = citizen.wait_done()
    assert [row["state"] for row in status["rows"]] == ["done", "done"]
    done = citizen.get("/done").text
    assert "Terima kasih" in done
    sim = kiosk.sim
    assert len(sim.cups.printed_files("card")) == 1 and len(sim.cups.printed_files("a4")) == 1
    assert sim.escpos.receipts and "3201********0001" in sim.escpos.receipts[-1].text
    citizen.post("/end")
    assert kiosk.sessions.active() == []  # personal data dropped
    row = kiosk.store.query_one("SELECT nik_masked, state, outcome FROM sessions")
    assert tuple(row) == ("3201********0001", "ended", "printed")


def test_invalid_nik_is_explained(citizen: Citizen) -> None:
    r = citizen.identify("3201019908900001")
    assert r.status_code == 422
    assert errors(r.text) == ["Tanggal lahir pada NIK ini tidak sah."]


def test_wrong_pin_counts_down_then_locks(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[1]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    r = citizen.post("/pin", pin="000000")
    assert r.status_code == 422 and errors(r.text) == ["PIN salah. Sisa percobaan: 2."]
    citizen.post("/pin", pin="000001")
    r = citizen.post("/pin", pin="000002")
    assert r.status_code == 302 and r.location.startswith("/locked")
    assert "dikunci selama 15 menit" in citizen.get(r.location).text
    r = citizen.identify(issued.nik)  # still locked, even with the right PIN in hand
    assert r.location.startswith("/locked")
    assert kiosk.central_server.sim.request_state(issued.request_id) == "ready"


def test_malformed_pin_is_not_a_guess(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    r = citizen.post("/pin", pin="12ab")
    assert errors(r.text) == ["PIN terdiri dari 6 angka."]
    assert kiosk.pins.tries_left(kiosk.sessions.active()[0].nik_hash) == 3


def test_central_down_keeps_the_pin(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    kiosk.central_server.sim.faults.down = True
    r = citizen.post("/pin", pin=issued.pin)
    assert r.status_code == 503 and "Server Dukcapil sedang tidak tersedia" in errors(r.text)[0]
    kiosk.central_server.sim.faults.down = False
    r = citizen.post("/pin", pin=issued.pin)  # the same PIN works once central is back
    assert r.location == "/documents"


def test_central_slow_then_recovers(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    kiosk.central_server.sim.faults.fail_next(503, 2)  # two 503s are retried by the client
    assert citizen.post("/pin", pin=issued.pin).location == "/documents"


def test_printer_fault_before_printing(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    citizen.post("/pin", pin=issued.pin)
    kiosk.sim.queue("card_printer").state_reasons.append("media-jam-error")
    kiosk.monitor.refresh()  # the monitor notices (within one interval): the kiosk is out of service
    r = citizen.post("/print", doc=citizen.documents())
    assert r.status_code == 409 and "sementara tidak dapat digunakan" in r.text
    assert kiosk.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 0
    assert kiosk.sim.cups.printed_files("card") == [] and kiosk.sim.cups.printed_files("a4") == []


def test_printer_fault_the_monitor_has_not_seen_yet(kiosk: Kiosk, citizen: Citizen) -> None:
    """The plan reads the cache; the worker's own probe before each job still catches a fresh jam."""
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    citizen.post("/pin", pin=issued.pin)
    kiosk.monitor.stop()  # a cache that has not caught up yet
    kiosk.sim.queue("card_printer").state_reasons.append("media-jam-error")
    citizen.post("/print", doc=citizen.documents())
    by_title = {row["title"]: row for row in citizen.wait_done()["rows"]}
    assert by_title["KTP Elektronik"]["state"] == "failed"
    assert by_title["KTP Elektronik"]["message"] == "Printer belum siap. PIN Anda tetap berlaku."
    assert by_title["Kartu Keluarga"]["state"] == "done"
    assert kiosk.sim.cups.printed_files("card") == []
    assert kiosk.printing.blanks_in_stock("ktp-el") == 80


def test_printer_fault_during_printing(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    citizen.post("/pin", pin=issued.pin)
    kiosk.sim.queue("document_printer").jam_on(1, "media-empty")
    citizen.post("/print", doc=citizen.documents())
    status = citizen.wait_done()
    by_title = {row["title"]: row for row in status["rows"]}
    assert by_title["KTP Elektronik"]["state"] == "done"
    assert by_title["Kartu Keluarga"]["state"] == "failed"
    assert by_title["Kartu Keluarga"]["message"] == "Dokumen belum tercetak. PIN Anda tetap berlaku."
    assert "Sebagian dokumen belum tercetak" in citizen.get("/done").text
    assert dict(kiosk.store.query("SELECT kind, state FROM print_jobs")) == {"ktp-el": "printed", "kk": "failed"}


def test_required_device_down_shows_out_of_service(kiosk: Kiosk, citizen: Citizen) -> None:
    kiosk.sim.cups.down = True
    kiosk.monitor.refresh()
    r = citizen.get("/")
    assert r.status_code == 503 and "sementara tidak dapat digunakan" in r.text
    kiosk.sim.cups.down = False
    kiosk.monitor.refresh()
    assert citizen.get("/").status_code == 200


def test_forms_need_csrf_and_the_ui_is_loopback_only(kiosk: Kiosk) -> None:
    client = create_app(kiosk).test_client()
    assert client.post("/nik", data={"nik": "3201010508900001"}).status_code == 400
    assert client.get("/", environ_base={"REMOTE_ADDR": "192.168.1.20"}).status_code == 403
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"] and "frame-ancestors 'none'" in headers[
        "Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"


def test_english_is_one_tap_away(citizen: Citizen) -> None:
    citizen.get("/")
    citizen.post("/lang", lang="en", next="/")
    page = citizen.get("/").text
    assert "Welcome" in page and "Selamat datang" not in page
    citizen.post("/lang", lang="id", next="/")
    assert "Selamat datang" in citizen.get("/").text


def test_idle_session_is_reset(make_kiosk: Any) -> None:
    k = make_kiosk(**{"session.idle_timeout_s": 2, "session.warn_before_s": 1})
    issued = k.issue_demo_pins()[0]
    s = k.sessions.start(issued.nik, "nik")
    assert k.sessions.reap_idle() == []
    deadline = time.monotonic() + 10  # the kiosk's own background loop reaps it
    while k.sessions.get(s.id) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert k.sessions.get(s.id) is None
    assert k.store.query_one("SELECT outcome FROM sessions WHERE id=?", (s.id,))[0] == "timeout"


def test_a_central_500_is_central_trouble_not_the_kiosks(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    kiosk.central_server.sim.faults.fail_next(500, 1)  # the redemption is not retried (it counts a PIN attempt)
    r = citizen.post("/pin", pin=issued.pin)
    assert r.status_code == 503 and "Server Dukcapil sedang tidak tersedia" in errors(r.text)[0]
    assert kiosk.pins.tries_left(kiosk.sessions.active()[0].nik_hash) == 3


def test_a_remote_form_post_is_refused_as_remote(kiosk: Kiosk) -> None:
    client = create_app(kiosk).test_client()
    r = client.post("/nik", data={"nik": "3201010508900001"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 403  # not a CSRF 400: the caller is refused for where it is


def test_a_journal_failure_mid_request_shows_out_of_service(kiosk: Kiosk, citizen: Citizen,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    def broken(*_a: Any, **_k: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    citizen.get("/")
    monkeypatch.setattr(kiosk.sessions, "start", broken)
    r = citizen.post("/nik", nik="3201010508900001")
    assert r.status_code == 503 and "sementara tidak dapat digunakan" in r.text


# -- defect 11: redirects stay on the kiosk ---------------------------------------------------

HOSTILE_NEXT = ["//evil.example/", "/\t/evil.example", "/%09/evil.example", "/\\evil.example", "\\\\evil.example",
                "/\r\nSet-Cookie: x=1", "/\n/evil.example", "https://evil.example/", "javascript:alert(1)",
                "http:/evil.example", " //evil.example", "/\x00/evil", "/\u2028/evil", "evil.example", "",
                "/ /evil.example", "///evil.example"]


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_hostile_next_and_back_fall_back_to_the_welcome_page(citizen: Citizen, value: str) -> None:
    citizen.get("/")
    r = citizen.post("/lang", lang="en", next=value)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    html = citizen.c.get("/help", query_string={"back": value}).text
    assert re.findall(r'href="([^"]*)" id="help-back"', html) == ["/"]


@pytest.mark.parametrize("value", ["/", "/pin", "/help?back=/documents", "/documents#top"])
def test_same_site_paths_are_kept(citizen: Citizen, value: str) -> None:
    citizen.get("/")
    r = citizen.post("/lang", lang="en", next=value)
    assert r.status_code == 302 and r.headers["Location"] == value


# -- defect 6 (the UI half): polls read the monitor's cache, never the reader ----------------

def test_welcome_poll_answers_from_the_cache_while_the_reader_hangs(kiosk: Kiosk, citizen: Citizen) -> None:
    import threading

    reader = kiosk.devices.get("card_reader")
    kiosk.sim.insert_card(kiosk.issue_demo_pins()[0].nik)
    kiosk.monitor.refresh(("card_reader",))
    kiosk.monitor.stop()
    released = threading.Event()
    calls: list[str] = []

    def frozen(*_a: Any, **_k: Any) -> Any:  # pcscd stopped with SIGSTOP: every call hangs
        calls.append("card_state")
        released.wait(10)
        raise RuntimeError("pcscd frozen")

    reader.system.card_state = frozen
    try:
        for _ in range(4):
            started = time.monotonic()
            r = citizen.get("/poll")
            assert time.monotonic() - started < 1.0
            assert r.json == {"card": True, "available": True}
        assert calls == []
    finally:
        released.set()


def tap_ektp(kiosk: Kiosk, citizen: Citizen) -> None:
    """A demo citizen taps the e-KTP on the welcome screen: the session starts by card."""
    issued = kiosk.issue_demo_pins()[0]
    kiosk.sim.insert_card(issued.nik)
    kiosk.monitor.refresh(("card_reader",))
    r = citizen.get("/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    assert citizen.c.post("/card/read", headers={"X-CSRFToken": token, "Accept": "application/json"}).json["redirect"]


def test_step_page_poll_does_not_call_the_reader(kiosk: Kiosk, citizen: Citizen) -> None:
    tap_ektp(kiosk, citizen)
    kiosk.monitor.stop()

    def frozen(*_a: Any, **_k: Any) -> Any:
        time.sleep(5)
        raise RuntimeError("pcscd frozen")

    kiosk.devices.get("card_reader").system.card_state = frozen
    started = time.monotonic()
    assert citizen.c.get("/session/state").json == {"active": True, "step": "identified"}
    assert time.monotonic() - started < 1.0


def test_card_removed_is_noticed_from_the_cache(kiosk: Kiosk, citizen: Citizen) -> None:
    tap_ektp(kiosk, citizen)
    assert citizen.c.get("/session/state").json["active"] is True
    kiosk.sim.pull_card()
    deadline = time.monotonic() + 3  # the card watch sees the change within its wait (1 s)
    while kiosk.sessions.active() and time.monotonic() < deadline:
        state = citizen.c.get("/session/state").json
        time.sleep(0.05)
    assert state == {"active": False, "reason": "card"}
    assert kiosk.sessions.active() == []


# -- defect 8: maintenance and out of service hold on every route that changes state -------

OOS_ID, OOS_EN = "Anjungan ini sementara tidak dapat digunakan.", "This kiosk is temporarily out of service."


def central_redemptions(kiosk: Kiosk) -> int:
    """Central's own count of redeemed PINs (its database, not the kiosk's journal)."""
    import sqlite3
    con = sqlite3.connect(f"file:{kiosk.cfg.sim.state_dir}/central.db?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT COUNT(*) FROM redemptions").fetchone()[0])
    finally:
        con.close()


def nothing_happened(kiosk: Kiosk, sessions: int = 0) -> None:
    sim = kiosk.sim
    assert kiosk.store.query_one("SELECT COUNT(*) FROM sessions")[0] == sessions
    assert kiosk.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 0
    assert sim.cups.printed_files("card") == [] and sim.cups.printed_files("a4") == []
    assert sim.queue("card_printer").hopper == kiosk.devices.profiles["card_printer"].supplies["hopper"].capacity


@pytest.mark.parametrize("mode", ["maintenance", "out_of_service"])
def test_typed_nik_is_refused_out_of_service(kiosk: Kiosk, citizen: Citizen, mode: str) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.get("/nik")
    kiosk.set_mode(mode, "tech-1")
    r = citizen.post("/nik", nik=issued.nik)
    assert r.status_code == 409 and OOS_ID in r.text
    nothing_happened(kiosk)


def test_card_tap_is_refused_in_maintenance(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    kiosk.sim.insert_card(issued.nik)
    citizen.get("/")
    kiosk.set_mode("maintenance", "tech-1")
    r = citizen.post_json("/card/read")
    assert r.status_code == 409 and r.json["error"] == OOS_ID
    nothing_happened(kiosk)


def test_whatsapp_qr_is_refused_in_maintenance(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    kiosk.sim.show_qr(kiosk.central_server.sim.whatsapp_qr(issued))
    citizen.get("/qr")
    kiosk.set_mode("maintenance", "tech-1")
    for _ in range(5):  # the camera sees the code within a few frames
        r = citizen.post_json("/qr/poll")
        assert r.status_code == 409 and r.json == {"status": "out-of-service", "message": OOS_ID, "error": OOS_ID}
        time.sleep(0.1)
    nothing_happened(kiosk)


def test_pin_is_refused_in_maintenance_and_stays_unspent(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.get("/pin")
    kiosk.set_mode("maintenance", "tech-1")
    r = citizen.post("/pin", pin=issued.pin)
    assert r.status_code == 409 and OOS_ID in r.text
    assert central_redemptions(kiosk) == 0  # central was never asked
    nothing_happened(kiosk, sessions=1)
    kiosk.set_mode("in_service", "tech-1")
    assert citizen.post("/pin", pin=issued.pin).location == "/documents"


def test_print_is_refused_in_maintenance_in_the_citizens_language(kiosk: Kiosk, citizen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen.identify(issued.nik)
    citizen.post("/lang", lang="en", next="/pin")
    citizen.get("/pin")
    citizen.post("/pin", pin=issued.pin)
    docs = citizen.documents()
    kiosk.set_mode("maintenance", "tech-1")
    r = citizen.post("/print", doc=docs)
    assert r.status_code == 409 and OOS_EN in r.text
    nothing_happened(kiosk, sessions=1)
    assert kiosk.central_server.sim.request_state(issued.request_id) == "ready"
