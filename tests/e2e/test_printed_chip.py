"""End to end in Chromium: a citizen prints a KTP-el, the card just printed is tapped on the reader, and the
kiosk identifies that citizen from its chip (chip and passive authentication by the production driver)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import LiveKiosk
from tests.e2e.test_citizen_flow import print_all_and_finish, printed_files
from tests.e2e.walk import DEWI, enter_pin, identify_by_nik

pytestmark = pytest.mark.e2e


def test_the_card_just_printed_identifies_its_citizen(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    identify_by_nik(page, DEWI)
    page.wait_for_url("**/pin")
    enter_pin(page, live.pins[DEWI].pin)
    print_all_and_finish(page, live, ["KTP Elektronik", "Kartu Keluarga", "Akta Kematian"])
    assert printed_files(live) == {"card_printer": 1, "document_printer": 2}
    chip = live.sim.chips.last_printed()
    assert chip is not None and chip.locked  # personalised and locked before its face was printed
    serial = live.kiosk.store.query_one("SELECT blank_serial FROM print_jobs WHERE kind='ktp-el'")[0]
    assert serial == chip.serial

    page.goto("/")
    expect(page.locator("#tap-card")).to_be_visible()
    assert live.sim.tap_printed_card()  # the simulator panel's "tap the card just printed"
    page.wait_for_url("**/pin", timeout=10_000)  # the welcome screen read the chip by itself
    expect(page.locator(".who strong")).to_have_text(re.compile(r"^3271\*+0004$"))
    refused = live.kiosk.store.query("SELECT detail FROM audit WHERE event='card-read-failed'")
    assert refused == []  # read on the first tap: the chip passed chip and passive authentication
    session = live.kiosk.sessions.active()
    assert len(session) == 1
