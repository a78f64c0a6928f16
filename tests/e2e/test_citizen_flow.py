"""The citizen's paths, by touch, in Debian's Chromium against the default simulation.

Each test gets its own kiosk (tests/e2e/conftest.py) and asserts what the citizen would
notice on screen, plus what must be true behind it (printed files, the session gone).
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from playwright.sync_api import Page, expect

from kiosk.citizen.session import Step
from tests.e2e.live import LiveKiosk
from tests.e2e.walk import BUDI, DEWI, RIZKY, SITI, enter_pin, identify_by_nik, slow_printers, tap_digits, tap_print

pytestmark = pytest.mark.e2e


def printed_files(live: LiveKiosk) -> dict[str, int]:
    return {dev: len(live.sim.cups.printed_files(live.sim.queue(dev).name)) for dev in ("card_printer", "document_printer")}


def print_all_and_finish(page: Page, live: LiveKiosk, expected_titles: list[str]) -> None:
    """From the documents screen: everything selected, print, watch progress, finish; the data is then gone."""
    page.wait_for_url("**/documents")
    docs = page.locator("label.doc")
    expect(docs).to_have_count(len(expected_titles))
    for title in expected_titles:
        expect(page.locator(".doc-title", has_text=title)).to_be_visible()
    checked = page.locator('input[name="doc"]')
    for i in range(checked.count()):
        expect(checked.nth(i)).to_be_checked()
    slow_printers(live, 0.6)
    tap_print(page)
    page.wait_for_url("**/printing")
    # live progress: rows turn "printing" and then "done" on this page, without a reload; one at a time per
    # printer (the card and the A4 documents print at once, each printer in document order)
    expect(page.locator("#progress .row.state-printing").first).to_be_visible()
    assert page.locator("#progress .row.state-printing").count() <= 2
    expect(page.locator("#progress .row.state-done").first).to_be_visible(timeout=15_000)
    page.wait_for_url("**/done", timeout=30_000)
    expect(page.locator("#result")).to_have_attribute("data-result", "ok")
    expect(page.locator(".receipt-text")).to_contain_text("struk")
    expect(page.locator(".row.state-done")).to_have_count(len(expected_titles))
    assert re.fullmatch(r"ADM-[0-9A-F]{8}", page.locator("#reference").inner_text())
    page.locator("#finish").tap()
    page.wait_for_url("**/")
    assert live.kiosk.sessions.active() == []
    for gone in ("/documents", "/done", "/pin", "/printing"):  # no way back to the citizen's data
        page.goto(gone)
        expect(page.locator("#welcome")).to_be_visible()


def test_full_flow_by_nik(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Selamat datang")
    identify_by_nik(page, SITI)
    page.wait_for_url("**/pin")
    expect(page.locator(".who strong")).to_have_text(re.compile(r"^3201\*+0002$"))  # the NIK, masked
    tap_digits(page, live.pins[SITI].pin[:3])
    pin_box = page.locator("#pin")
    assert pin_box.get_attribute("type") == "password"
    expect(page.locator("#pin-count .typed-count")).to_have_text("3")
    expect(page.locator("#next")).to_be_disabled()
    tap_digits(page, live.pins[SITI].pin[3:])
    with page.expect_navigation():
        page.locator("#next").tap()
    print_all_and_finish(page, live, ["KTP Elektronik", "Kartu Keluarga", "Akta Kelahiran"])
    assert printed_files(live) == {"card_printer": 1, "document_printer": 2}


def test_nik_keypad_groups_digits_and_explains_a_wrong_nik(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/nik")
    tap_digits(page, "320101")
    expect(page.locator("#nik")).to_have_value("3201 01")
    page.locator('.key[data-key="back"]').tap()
    expect(page.locator("#nik")).to_have_value("3201 0")
    page.locator('.key[data-key="clear"]').tap()
    expect(page.locator("#nik")).to_have_value("")
    tap_digits(page, "3201013213900001")  # day 32: no such birth date
    with page.expect_navigation():
        page.locator("#next").tap()
    expect(page.locator("#nik-error")).to_have_text("Tanggal lahir pada NIK ini tidak sah.")
    expect(page.locator("#nik")).to_have_value("3201 0132 1390 0001")  # kept, to correct


def test_flow_by_ektp_tap(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    expect(page.locator("#tap-card")).to_be_visible()
    live.sim.insert_card(RIZKY)  # no button: the welcome screen notices the card by itself
    page.wait_for_url("**/pin", timeout=10_000)
    enter_pin(page, live.pins[RIZKY].pin)
    print_all_and_finish(page, live, ["Kartu Identitas Anak", "Akta Kelahiran"])
    assert printed_files(live) == {"card_printer": 1, "document_printer": 1}


def test_ektp_pulled_mid_flow_ends_the_session(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    live.sim.insert_card(BUDI)
    page.wait_for_url("**/pin", timeout=10_000)
    enter_pin(page, live.pins[BUDI].pin)
    page.wait_for_url("**/documents")
    live.sim.pull_card()
    page.wait_for_url("**/?ended=card", timeout=10_000)
    expect(page.locator("#ended")).to_contain_text("e-KTP Anda diangkat")
    assert live.kiosk.sessions.active() == []
    assert printed_files(live) == {"card_printer": 0, "document_printer": 0}


def test_flow_by_whatsapp_qr(kiosk_page: Page, live: LiveKiosk) -> None:
    if getattr(live.kiosk, "scanner", None) is None:
        pytest.skip("this kiosk has no QR scanner")
    page = kiosk_page
    page.goto("/")
    page.locator("#scan-qr").tap()
    page.wait_for_url("**/qr")
    expect(page.locator("#qr-status")).to_have_text("Mencari kode QR...")
    live.sim.show_qr(live.kiosk.central_server.sim.whatsapp_qr(live.pins[DEWI]))
    page.wait_for_url("**/pin", timeout=15_000)
    live.sim.hide_qr()
    assert [s.method for s in live.kiosk.sessions.active()] == ["qr"]
    enter_pin(page, live.pins[DEWI].pin)  # the QR identifies; the PIN still authorises
    print_all_and_finish(page, live, ["KTP Elektronik", "Kartu Keluarga", "Akta Kematian"])


def test_wrong_pin_then_lockout(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    identify_by_nik(page, SITI)
    wrong = "000000" if live.pins[SITI].pin != "000000" else "111111"
    for left in (2, 1):
        enter_pin(page, wrong)
        expect(page.locator("#pin-error")).to_have_text(f"PIN salah. Sisa percobaan: {left}.")
        expect(page.locator("#pin")).to_have_value("")
    enter_pin(page, wrong)
    page.wait_for_url("**/locked**")
    expect(page.locator("h1")).to_have_text("Terlalu banyak PIN salah")
    expect(page.locator(".lead")).to_contain_text("15 menit")
    expect(page.locator(".wait")).to_have_text(re.compile(r"setelah pukul \d\d\.\d\d\."))
    # the same NIK, right away, even with the right PIN in hand: still locked, and said so
    page.locator("#home").tap()
    identify_by_nik(page, SITI)
    page.wait_for_url("**/locked**")
    assert live.kiosk.sessions.active() == []


def test_printer_fault_mid_print(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    identify_by_nik(page, SITI)
    enter_pin(page, live.pins[SITI].pin)
    page.wait_for_url("**/documents")
    live.sim.queue("document_printer").jam_on(1)  # the KTP-el card prints, then the A4 printer jams
    slow_printers(live, 0.5)
    tap_print(page)
    page.wait_for_url("**/printing")
    failed = page.locator("#progress .row.state-failed").first
    expect(failed).to_be_visible(timeout=15_000)  # shown live, before the done screen
    expect(failed.locator(".state")).to_have_text("Belum tercetak")
    page.wait_for_url("**/done", timeout=30_000)
    result = page.locator("#result")
    expect(result).to_have_attribute("data-result", "failed")
    expect(result).to_contain_text("Dokumen belum tercetak. PIN Anda tetap berlaku.")
    expect(result).to_contain_text("petugas")  # where to get help
    expect(page.locator("#assist-code")).to_have_text(re.compile(r"^ADM-SIM-0001-[0-9A-F]{4}$"))
    expect(page.locator(".row.state-done .doc-title")).to_have_text(["KTP Elektronik"])
    expect(page.locator(".row.state-failed")).to_have_count(2)
    assert printed_files(live) == {"card_printer": 1, "document_printer": 0}


@pytest.mark.kiosk_config(**{"session.idle_timeout_s": 6, "session.warn_before_s": 3})
def test_idle_timeout_warns_then_resets(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    identify_by_nik(page, BUDI)
    page.wait_for_url("**/pin")
    tap_digits(page, "12")
    overlay = page.locator("#idle")
    expect(overlay).to_be_visible(timeout=6_000)
    expect(overlay.locator("h2")).to_have_text("Masih di sana?")
    count = int(page.locator("#idle-count").inner_text())
    assert 1 <= count <= 3
    page.locator("#idle-stay").tap()  # still here: the warning goes, the session stays
    expect(overlay).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/pin$"))
    assert [s.step for s in live.kiosk.sessions.active()] == [Step.IDENTIFIED]
    started = time.monotonic()
    page.wait_for_url("**/?ended=timeout", timeout=12_000)
    assert time.monotonic() - started >= 3  # the warning came first
    expect(page.locator("#ended")).to_contain_text("tidak disentuh")
    assert live.kiosk.sessions.active() == []


def test_idle_timeout_on_the_documents_screen(kiosk_page: Page, live: LiveKiosk) -> None:
    """The default 90 s timeout, on the screen that shows the citizen's documents; the page's clock is fast-forwarded."""
    page = kiosk_page
    page.clock.install()
    page.goto("/")
    identify_by_nik(page, BUDI)
    enter_pin(page, live.pins[BUDI].pin)
    page.wait_for_url("**/documents")
    timeout, warn = live.kiosk.cfg.session.idle_timeout_s, live.kiosk.cfg.session.warn_before_s
    page.clock.run_for((timeout - warn - 2) * 1000)
    expect(page.locator("#idle")).to_be_hidden()
    page.clock.run_for(4000)
    expect(page.locator("#idle")).to_be_visible()
    page.clock.run_for((warn + 1) * 1000)
    page.wait_for_url("**/?ended=timeout")
    assert live.kiosk.sessions.active() == []
    assert printed_files(live) == {"card_printer": 0, "document_printer": 0}


def test_language_switch(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    page.locator("#lang").tap()  # one tap
    expect(page.locator("h1")).to_have_text("Welcome")
    expect(page.locator("#lang")).to_have_text("Bahasa Indonesia")
    identify_by_nik(page, SITI)
    expect(page.locator("h1")).to_have_text("Enter your PIN")
    page.locator("#lang").tap()  # mid-flow: the session survives the switch
    expect(page.locator("h1")).to_have_text("Masukkan PIN")
    page.locator("#lang").tap()
    enter_pin(page, "000000" if live.pins[SITI].pin != "000000" else "111111")
    expect(page.locator("#pin-error")).to_have_text("The PIN is wrong. 2 tries left.")
    page.locator("#cancel-btn").tap()
    page.wait_for_url("**/")
    expect(page.locator("h1")).to_have_text("Selamat datang")  # the next citizen starts in Indonesian


def test_help_shows_assist_code_and_returns(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    identify_by_nik(page, SITI)
    page.wait_for_url("**/pin")
    page.locator("#help").tap()
    expect(page.locator("h1")).to_have_text("Butuh bantuan?")
    code = page.locator("#assist-code").inner_text()
    sid = live.kiosk.sessions.active()[0].id
    assert code == f"ADM-SIM-0001-{hashlib.sha256(sid.encode()).hexdigest()[:4].upper()}"
    page.locator("#help-back").tap()
    page.wait_for_url("**/pin")


def test_no_context_menu_and_no_selection(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    prevented = page.evaluate("""() => {
        const e = new MouseEvent('contextmenu', {bubbles: true, cancelable: true});
        document.querySelector('h1').dispatchEvent(e);
        return e.defaultPrevented; }""")
    assert prevented
    assert page.evaluate("() => getComputedStyle(document.body).userSelect") == "none"
