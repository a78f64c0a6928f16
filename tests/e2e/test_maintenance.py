"""Maintenance mode in Debian's Chromium, by touch: entry, login, self-tests, supplies, faults, out of service.

One simulated kiosk behind a real HTTP server for the module; each test logs in on the
on-screen keyboard in a fresh touch context and leaves maintenance at the end. The screens
are in the kiosk's default language, Bahasa Indonesia, so the assertions check the catalogue too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kiosk.services import Kiosk
from kiosk.staff.maintenance import Maintenance
from tests.e2e.live import serve

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TECH, PASSWORD = "t01", "teknisi-2024.ok"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


class Live:
    def __init__(self, kiosk: Kiosk, url: str, maintenance: Maintenance) -> None:
        self.kiosk = kiosk
        self.url = url
        self.m = maintenance


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with serve(Path(tmp_path_factory.mktemp("maint"))) as served:
        m: Maintenance = served.app.extensions["maintenance"]
        m.accounts.add(TECH, PASSWORD)
        yield Live(served.kiosk, served.url, m)


@pytest.fixture
def page(browser: Browser, live: Live) -> Iterator[Page]:
    ctx = browser.new_context(base_url=live.url, viewport={"width": 1080, "height": 1920}, has_touch=True,
                              locale="id-ID")
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    ctx.close()
    live.m.logout(None, reason="test-end")  # whatever the test did, the kiosk leaves maintenance
    live.m.sessions.idle_s = 300


def type_keys(page: Page, text: str) -> None:
    for ch in text:
        if ch.isalpha() and ch.isupper():
            page.locator("#osk-shift").tap()
        page.locator(f'.osk-key[data-key="{ch.lower() if ch.isalpha() else ch}"]').first.tap()


def fill(page: Page, field: str, text: str) -> None:
    page.locator(field).tap()
    type_keys(page, text)
    expect(page.locator(field)).to_have_value(text)


def login(page: Page, tech: str = TECH, password: str = PASSWORD) -> None:
    page.goto("/maintenance/login")
    fill(page, "#tech_id", tech)
    fill(page, "#password", password)
    with page.expect_navigation():
        page.locator("#login").tap()


def go(page: Page, section: str) -> None:
    with page.expect_navigation():
        page.locator(f"#nav-{section}").tap()


def press(page: Page, button: str) -> None:
    with page.expect_navigation():
        page.locator(button).tap()


def simulate(page: Page, button: str) -> None:
    go(page, "simulator")
    press(page, button)
    expect(page.locator(".mt-flash-ok")).to_be_visible()


# -- tests -----------------------------------------------------------------------------------------

def test_no_maintenance_page_without_login(page: Page) -> None:
    for path in ("/maintenance/", "/maintenance/simulator", "/maintenance/diagnostics.zip"):
        resp = page.goto(path)
        assert resp is not None and resp.status == 403
    expect(page.locator("#forbidden")).to_be_visible()


def test_long_press_in_the_corner_then_login_on_the_on_screen_keyboard(page: Page, live: Live) -> None:
    page.goto("/")
    page.mouse.move(20, 20)
    page.mouse.down()
    page.wait_for_url("**/maintenance/login", timeout=6000)
    page.mouse.up()
    fill(page, "#tech_id", TECH)
    fill(page, "#password", "wrong-pass.1")
    with page.expect_navigation():
        page.locator("#login").tap()
    expect(page.locator("#login-error")).to_have_text("ID atau kata sandi salah.")
    assert live.kiosk.mode == "in_service"
    fill(page, "#tech_id", TECH)
    fill(page, "#password", PASSWORD)
    with page.expect_navigation():
        page.locator("#login").tap()
    expect(page.locator("#who")).to_contain_text("T01")
    expect(page.locator("#mode")).to_have_text("maintenance")
    expect(page.locator("#dev-card_printer .state")).to_have_text("online")
    expect(page.locator("#version")).not_to_be_empty()
    assert live.kiosk.mode == "maintenance"
    citizen = page.context.new_page()  # the citizen screen is out of service meanwhile
    resp = citizen.goto("/")
    assert resp is not None and resp.status == 503
    citizen.close()
    with page.expect_navigation():
        page.locator("#logout").tap()
    assert live.kiosk.mode == "in_service"
    assert page.goto("/maintenance/").status == 403  # type: ignore[union-attr]


def test_each_self_test(page: Page, live: Live) -> None:
    login(page)
    simulate(page, "#insert-0")
    expect(page.locator("#on-reader")).to_have_text("3201********0001")
    simulate(page, "#qr-1")
    go(page, "selftests")
    expect(page.locator("#camera-preview")).to_have_js_property("complete", True)
    page.wait_for_function("document.getElementById('camera-preview').naturalWidth > 0")
    for test in ("card_printer", "document_printer", "receipt_printer", "card_reader", "camera", "central"):
        press(page, f"#run-{test}")
        result = page.locator(f"#result-{test}")
        expect(result.locator(".verdict")).to_have_text("Lulus")
    expect(page.locator("#result-card_printer .detail-serial")).to_have_text(re.compile(r"KTP-SIM-\d{6}"))
    expect(page.locator("#result-card_reader .detail-atr")).to_have_text(re.compile(r"^3B( [0-9A-F]{2})+$"))
    expect(page.locator("#result-card_reader .detail-nik")).to_have_text("3201********0001")
    expect(page.locator("#result-camera .detail-text")).to_have_text(f"ADM-SELFTEST|{live.kiosk.cfg.kiosk.id}")
    sim = live.kiosk.sim
    assert any("adm-selftest" in p.name for p in sim.cups.printed_files("card"))
    assert any("adm-selftest" in p.name for p in sim.cups.printed_files("a4"))
    assert "SELF-TEST" in sim.escpos.receipts[-1].text
    # a failing test says why: the card is pulled
    simulate(page, "#pull")
    go(page, "selftests")
    press(page, "#run-card_reader")
    expect(page.locator("#result-card_reader .verdict")).to_have_text("Gagal")
    expect(page.locator("#result-card_reader .code")).to_have_text("no-card")
    go(page, "reconciliation")  # the test print's blank is accounted for as spoiled
    expect(page.locator("#verdict")).to_have_class(re.compile("mt-ok"))
    expect(page.locator("#spoiled")).to_contain_text("self-test print")


def test_load_a_blank_batch_and_reconcile(page: Page, live: Live) -> None:
    login(page)
    go(page, "supplies")
    before = live.kiosk.printing.blanks_in_stock("kia")
    page.locator("#kind-kia").tap()
    fill(page, "#batch", "KIA-2025-07")
    fill(page, "#first", "KIA-B7-0001")
    fill(page, "#last", "KIA-B7-0025")
    fill(page, "#count", "25")
    press(page, "#load")
    expect(page.locator(".mt-flash-ok")).to_have_text("25 blangko kartu dimuat.")
    expect(page.locator("#stock-kia strong")).to_have_text(str(before + 25))
    # an overlapping batch is refused, and nothing of it is journaled
    page.locator("#kind-kia").tap()
    fill(page, "#batch", "KIA-2025-08")
    fill(page, "#first", "KIA-B7-0020")
    fill(page, "#last", "KIA-B7-0030")
    fill(page, "#count", "11")
    press(page, "#load")
    expect(page.locator(".mt-flash-error")).to_contain_text("sudah tercatat di jurnal")
    expect(page.locator("#stock-kia strong")).to_have_text(str(before + 25))
    # a new ribbon resets its counter
    press(page, "#replace-card_printer-ribbon")
    expect(page.locator("#supply-card_printer-ribbon .remaining")).to_contain_text("300 / 300")
    go(page, "reconciliation")
    expect(page.locator("#verdict")).to_have_class(re.compile("mt-ok"))
    expect(page.locator("#rec-table")).to_contain_text("KIA-2025-07")
    expect(page.locator("#rec-total .difference")).to_have_text("0")
    pdf = page.request.get("/maintenance/reconciliation.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")


def test_clear_a_fault(page: Page, live: Live) -> None:
    login(page)
    simulate(page, "#fault-card-jam")
    go(page, "dashboard")
    expect(page.locator("#dev-card_printer .state")).to_have_text("userError")
    expect(page.locator("#service-state")).to_have_class(re.compile("mt-bad"))
    go(page, "faults")
    expect(page.locator(".fault-row[data-device=card_printer] .fault-code")).to_have_text("media-jam")
    press(page, "#clear-card_printer")
    expect(page.locator(".mt-flash-ok")).to_have_text("Gangguan dihapus: perangkat siap.")
    expect(page.locator("#no-faults")).to_be_visible()
    go(page, "dashboard")
    expect(page.locator("#dev-card_printer .state")).to_have_text("online")
    go(page, "journal")
    expect(page.locator("#audit")).to_contain_text("maintenance/fault-cleared")


def test_out_of_service_with_a_message_then_back(page: Page, live: Live) -> None:
    login(page)
    go(page, "faults")
    page.locator("#preset-1").tap()
    expect(page.locator("#oos-message")).to_have_value("Anjungan ini sedang diperbaiki. Silakan kembali nanti.")
    press(page, "#out-of-service")
    expect(page.locator("#oos-state")).to_contain_text("sedang diperbaiki")
    press(page, "#logout")
    expect(page.locator("main")).to_contain_text("Anjungan ini sedang diperbaiki. Silakan kembali nanti.")
    assert live.kiosk.mode == "out_of_service"
    login(page)
    go(page, "faults")
    press(page, "#back-in-service")
    press(page, "#logout")
    assert live.kiosk.mode == "in_service"
    expect(page.locator("main")).not_to_contain_text("sedang diperbaiki")


def test_idle_logout_returns_the_kiosk_to_service(page: Page, live: Live) -> None:
    login(page)
    live.m.sessions.idle_s = 3
    page.reload()
    expect(page.locator("#idle-left")).not_to_be_empty()  # the screen counts down the last seconds
    page.wait_for_url(re.compile(r"^http://[^/]+/$"), timeout=8000)
    assert live.kiosk.mode == "in_service"
    assert page.goto("/maintenance/").status == 403  # type: ignore[union-attr]


def test_print_the_daily_blank_report(page: Page, live: Live) -> None:
    """Reconciliation -> Daily blank report -> print: the report comes out of the (emulated) receipt printer."""
    login(page)
    go(page, "reconciliation")
    press(page, "#blank-report")
    expect(page.locator("h1")).to_have_text("Laporan harian blangko")
    expect(page.locator("#verdict")).to_have_class(re.compile("mt-ok"))
    expect(page.locator("#day-ktp-el .remaining")).not_to_be_empty()
    before = len(live.kiosk.sim.escpos.receipts)
    press(page, "#print-report")
    expect(page.locator(".mt-flash-ok")).to_have_text("Laporan telah dicetak di printer struk.")
    assert len(live.kiosk.sim.escpos.receipts) == before + 1
    assert "LAPORAN HARIAN BLANKO" in live.kiosk.sim.escpos.receipts[-1].text
