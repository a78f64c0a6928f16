"""Helpers that drive the citizen screens by touch, and a walk through every screen.

``walk_all_screens`` visits each screen the citizen can see, in one language, and calls
``visit(name)`` on each: ``tools/screens.py`` takes a screenshot there and the accessibility
test runs axe-core there, so "every screen" means the same list for both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from kiosk.model import DocumentKind
from tests.e2e.live import LiveKiosk

BUDI, SITI, RIZKY, DEWI = "3201010508900001", "3201014501920002", "3201011203150003", "3271015707850004"
NOT_A_NIK = "9901010101010001"  # 16 digits, but province 99 does not exist


def tap_digits(page: Page, digits: str) -> None:
    for d in digits:
        page.locator(f'.key[data-key="{d}"]').tap()


def set_language(page: Page, lang: str) -> None:
    """Taps the language button if the screen is not already in ``lang``."""
    if page.locator("html").get_attribute("lang") != lang:
        page.locator("#lang").tap()
        expect(page.locator("html")).to_have_attribute("lang", lang)


def identify_by_nik(page: Page, nik: str) -> None:
    page.locator("#type-nik").tap()
    page.wait_for_url("**/nik")
    tap_digits(page, nik)
    with page.expect_navigation():
        page.locator("#next").tap()


def enter_pin(page: Page, pin: str) -> None:
    tap_digits(page, pin)
    with page.expect_navigation():
        page.locator("#next").tap()


def tap_print(page: Page, check: Callable[[], Any] = lambda: None) -> None:
    """Taps "Cetak" on the documents screen; with a card chosen, "Periksa data Anda" follows (``check()`` runs
    there) and "Data benar, cetak" goes on to printing."""
    with page.expect_navigation():
        page.locator("#print").tap()
    if page.url.endswith("/check"):
        expect(page.locator(".card-check img").first).to_be_visible()
        check()
        page.locator("#data-ok").tap()


def slow_printers(live: LiveKiosk, seconds: float) -> None:
    """Makes each simulated print job take ``seconds``, so a screen shows each state long enough to look at."""
    for device in ("card_printer", "document_printer"):
        live.sim.queue(device).seconds_per_job = seconds


def walk_all_screens(page: Page, live: LiveKiosk, lang: str, visit: Callable[[str], Any]) -> list[str]:
    """Drives a fresh kiosk through every screen; returns the names visited. Leaves the kiosk out of service
    (the last steps jam the A4 printer), so give it a kiosk of its own."""
    seen: list[str] = []

    def at(name: str) -> None:
        seen.append(name)
        visit(name)

    page.goto("/")
    set_language(page, lang)
    expect(page.locator("#type-nik")).to_be_visible()
    at("welcome")

    page.locator("#help").tap()
    expect(page.locator("#assist-code")).to_be_visible()
    at("help")
    page.locator("#help-back").tap()
    page.wait_for_url("**/")

    page.locator("#type-nik").tap()
    page.wait_for_url("**/nik")
    tap_digits(page, SITI[:10])
    at("nik")
    page.locator('.key[data-key="clear"]').tap()
    tap_digits(page, NOT_A_NIK)
    with page.expect_navigation():
        page.locator("#next").tap()
    expect(page.locator("#nik-error")).not_to_be_empty()
    at("nik-invalid")
    page.locator("#back").tap()
    page.wait_for_url("**/")

    if getattr(live.kiosk, "scanner", None) is not None:
        page.locator("#scan-qr").tap()
        page.wait_for_url("**/qr")
        at("qr")
        live.sim.show_qr("https://example.org/not-dukcapil")
        expect(page.locator("#qr-status.error")).to_be_visible()
        at("qr-not-ours")
        live.sim.hide_qr()
        page.locator("#back").tap()
        page.wait_for_url("**/")

    identify_by_nik(page, SITI)
    page.wait_for_url("**/pin")
    tap_digits(page, "123")
    at("pin")
    page.locator('.key[data-key="clear"]').tap()
    enter_pin(page, "000000" if live.pins[SITI].pin != "000000" else "111111")
    expect(page.locator("#pin-error")).not_to_be_empty()
    at("pin-wrong")
    enter_pin(page, live.pins[SITI].pin)
    page.wait_for_url("**/documents")
    at("documents")

    slow_printers(live, 1.5)
    tap_print(page, lambda: at("check"))
    page.wait_for_url("**/printing")
    expect(page.locator(".row.state-printing")).to_have_count(1)
    at("printing")
    slow_printers(live, 0.2)
    page.wait_for_url("**/done", timeout=30_000)
    at("done")
    page.locator("#finish").tap()
    page.wait_for_url("**/")

    # "Data salah, jangan cetak" on the data check: nothing prints, the citizen is sent to the office counter.
    set_language(page, lang)
    identify_by_nik(page, RIZKY)
    page.wait_for_url("**/pin")
    enter_pin(page, live.pins[RIZKY].pin)
    page.wait_for_url("**/documents")
    with page.expect_navigation():
        page.locator("#print").tap()
    with page.expect_navigation():
        page.locator("#data-wrong").tap()
    expect(page.locator("#result")).to_have_attribute("data-result", "data-rejected")
    at("data-rejected")
    page.locator("#finish").tap()
    page.wait_for_url("**/")

    # The idle warning, on the NIK screen: fast-forward the page's clock instead of waiting.
    set_language(page, lang)
    page.clock.install()
    page.locator("#type-nik").tap()
    page.wait_for_url("**/nik")
    timeout = live.kiosk.cfg.session.idle_timeout_s
    warn = live.kiosk.cfg.session.warn_before_s
    page.clock.run_for((timeout - warn + 2) * 1000)
    expect(page.locator("#idle")).to_be_visible()
    at("idle-warning")
    page.clock.run_for((warn + 1) * 1000)
    page.wait_for_url("**/?ended=timeout")
    set_language(page, lang)
    page.goto("/?ended=timeout")
    expect(page.locator("#ended")).to_be_visible()
    at("welcome-after-timeout")

    page.goto("/?ended=card")
    expect(page.locator("#ended")).to_be_visible()
    at("welcome-card-removed")

    if getattr(live.kiosk, "scanner", None) is not None:  # "Cek keaslian dokumen"
        page.goto("/")
        set_language(page, lang)
        page.locator("#check-doc").tap()
        page.wait_for_url("**/verify")
        at("verify")
        live.sim.show_qr(live.kiosk.central_server.sim.document_qrs(live.pins[SITI].request_id)["kk"])
        expect(page.locator("#verdict")).to_be_visible(timeout=15_000)
        at("verify-valid")
        live.sim.hide_qr()

    page.goto("/")
    identify_by_nik(page, DEWI)
    page.wait_for_url("**/pin")
    wrong = "000000" if live.pins[DEWI].pin != "000000" else "111111"
    for _ in range(live.kiosk.cfg.pins.max_failures_per_nik - 1):
        enter_pin(page, wrong)
        expect(page.locator("#pin-error")).not_to_be_empty()
    enter_pin(page, wrong)
    page.wait_for_url("**/locked**")
    at("locked")

    # A paper jam on the second document: the card prints, the A4 documents do not.
    page.locator("#home").tap()
    page.wait_for_url("**/")
    set_language(page, lang)
    live.sim.queue("document_printer").jam_on(1)
    identify_by_nik(page, BUDI)
    page.wait_for_url("**/pin")
    enter_pin(page, live.pins[BUDI].pin)
    page.wait_for_url("**/documents")
    tap_print(page)
    page.wait_for_url("**/done", timeout=30_000)
    expect(page.locator("#result")).to_have_attribute("data-result", "failed")
    at("done-not-printed")
    page.locator("#finish").tap()
    page.wait_for_url("**/")
    set_language(page, lang)
    expect(page.locator("#oos")).to_be_visible(timeout=10_000)
    at("out-of-service")

    # A form posted without its CSRF token (a stale page): the error screen.
    page.evaluate("""() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/nik';
                             document.body.appendChild(f); f.submit(); }""")
    expect(page.locator("#home")).to_be_visible()
    at("error")
    walk_unserved_screens(page, live, lang, at)
    return seen


def walk_unserved_screens(page: Page, live: LiveKiosk, lang: str, at: Callable[[str], Any]) -> None:
    """The screens for a citizen this kiosk cannot serve: a card it cannot print (no blanks), and closed hours."""
    queue = live.kiosk.cfg.devices.document_printer.queue
    live.sim.cups.clear_faults(queue)  # the technician clears the jam left by the walk
    live.sim.cups.enablePrinter(queue)
    central = live.kiosk.central_server.sim
    central.fleet.record("ADM-3201-0002", {"public": {
        "state": "in_service", "open_now": True, "can_print": ["ktp-el", "kk"], "blanks": {"ktp-el": "plenty"},
        "opening_hours": {}, "next_open_at": None,
        "location": {"name": "Kantor Kecamatan Ciawi", "latitude": -6.6544, "longitude": 106.8536}}})
    for (serial,) in live.kiosk.store.query("SELECT serial FROM blank_cards WHERE state='stock'"):
        live.kiosk.printing.blanks.damaged(serial, "e2e", "hopper emptied to show the card fallback")
    issued = central.issue_pin(SITI, [DocumentKind.KTP_EL])
    page.goto("/")
    set_language(page, lang)
    expect(page.locator("#type-nik")).to_be_visible(timeout=10_000)
    identify_by_nik(page, SITI)
    page.wait_for_url("**/pin")
    enter_pin(page, issued.pin)
    page.wait_for_url("**/documents")
    page.locator("#print").tap()
    page.wait_for_url("**/fallback")
    expect(page.locator("#print-substitute")).to_be_visible()
    at("card-fallback")
    with page.expect_navigation():
        page.locator("#queue-ticket").tap()
    expect(page.locator("#ticket-number")).to_be_visible()
    at("card-fallback-ticket")
    with page.expect_navigation():
        page.locator("#cancel-btn").tap()

    hours = live.kiosk.hours  # the kiosk closes (its hours shared by the sessions, the status and the screens)
    today = dt.date.today().weekday()
    hours.days = {d: [(8 * 60, 16 * 60)] for i, d in enumerate(("mon", "tue", "wed", "thu", "fri")) if i != today}
    hours.always_open = False
    page.goto("/")
    set_language(page, lang)
    expect(page.locator("#hours")).to_be_visible()
    at("closed")
def walk_accessibility_screens(page: Page, live: LiveKiosk, lang: str, visit: Callable[[str], Any]) -> list[str]:
    """The accessibility states (README "Accessibility"): the keypad's focus, large text, high contrast. Each
    preference is one tap in the top bar and lasts for the session; Finish ends it."""
    seen: list[str] = []

    def at(name: str) -> None:
        seen.append(name)
        visit(name)

    page.goto("/")
    set_language(page, lang)
    page.keyboard.press("Tab")  # the tactile keypad: the first key starts on the main control, with a large ring
    expect(page.locator("#type-nik")).to_be_focused()
    at("keypad-focus")
    page.keyboard.press("Enter")
    page.wait_for_url("**/nik")
    expect(page.locator("#nik")).to_be_focused()
    page.keyboard.type(SITI[:7])
    page.locator("#pref-large").tap()
    expect(page.locator("html")).to_have_class(re.compile("text-large"))
    at("nik-large-text")
    page.locator('.key[data-key="clear"]').tap()
    tap_digits(page, SITI)
    with page.expect_navigation():
        page.locator("#next").tap()
    page.locator("#pref-contrast").tap()
    expect(page.locator("html")).to_have_class(re.compile("contrast-high"))
    tap_digits(page, "123")
    at("pin-large-contrast")
    page.locator("#pref-large").tap()
    page.locator('.key[data-key="clear"]').tap()
    enter_pin(page, live.pins[SITI].pin)
    page.wait_for_url("**/documents")
    at("documents-contrast")
    tap_print(page)
    page.wait_for_url("**/done", timeout=30_000)
    at("done-contrast")
    page.locator("#finish").tap()
    page.wait_for_url("**/")
    expect(page.locator("html")).not_to_have_class(re.compile("contrast-high"))  # the next citizen: the defaults
    return seen
