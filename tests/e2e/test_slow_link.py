"""The documents screen in Chromium, over the link shaper: the documents listed at once, each row "downloading" then
"ready" and the progress line updating in place (a slow link), or the PIN screen with "server unavailable" (a link
that drops every connection)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import LiveKiosk
from tests.e2e.walk import SITI, enter_pin, identify_by_nik

pytestmark = [pytest.mark.e2e, pytest.mark.kiosk_config(**{"sim.link_shaper": True, "central.fetch_bound_s": 5.0,
                                                            "central.timeout_s": 2.0})]


def _to_pin(page: Page, live: LiveKiosk, fault: dict[str, float]) -> None:
    assert live.kiosk.link is not None
    live.kiosk.link.configure(**fault)
    page.goto("/")
    identify_by_nik(page, SITI)
    page.wait_for_url("**/pin")
    enter_pin(page, live.pins[SITI].pin)


def test_slow_link_shows_the_download_progress_then_the_documents(kiosk_page: Page, live: LiveKiosk) -> None:
    _to_pin(kiosk_page, live, {"bandwidth_bps": 15_000, "rtt_s": 0.2})
    kiosk_page.wait_for_url("**/documents", timeout=10_000)
    # the documents at once, each downloading, "Cetak" enabled; the progress line updates in place
    expect(kiosk_page.locator("label.doc")).to_have_count(3)
    expect(kiosk_page.locator("#download-progress")).to_have_text(re.compile(r"Mengunduh dokumen \([123] dari 3\)"))
    expect(kiosk_page.locator(".doc-state.state-downloading").first).to_have_text("Sedang diunduh...")
    expect(kiosk_page.locator("#print")).to_be_enabled()
    expect(kiosk_page.locator(".doc-state.state-ready")).to_have_count(3, timeout=10_000)
    expect(kiosk_page.locator("#download-progress")).to_have_count(0)


def test_dropping_link_ends_on_the_pin_screen_with_server_unavailable(kiosk_page: Page, live: LiveKiosk) -> None:
    t0 = time.monotonic()
    _to_pin(kiosk_page, live, {"bandwidth_bps": 20_000, "rtt_s": 0.2, "reset_at_bytes": 3_000})
    expect(kiosk_page.locator("#download-progress")).to_contain_text("Mengunduh dokumen")
    kiosk_page.wait_for_url("**/pin?e=unavailable", timeout=10_000)
    expect(kiosk_page.locator("#pin-error")).to_contain_text("Server Dukcapil sedang tidak tersedia")
    assert time.monotonic() - t0 < 5.0 + 4, "the citizen waited past the bound"


def test_the_data_check_waits_for_the_card_then_shows_its_face(kiosk_page: Page, live: LiveKiosk) -> None:
    _to_pin(kiosk_page, live, {"bandwidth_bps": 15_000, "rtt_s": 0.2})
    kiosk_page.wait_for_url("**/documents", timeout=10_000)
    kiosk_page.locator("#print").click()  # at once, while the card data is still on its way
    expect(kiosk_page.locator("#download-progress")).to_contain_text("Mengunduh dokumen")
    expect(kiosk_page.locator("#data-ok")).to_be_visible(timeout=15_000)  # the page came back by itself
    face = kiosk_page.locator("figure.card-check img").first
    expect(face).to_be_visible()
    kiosk_page.wait_for_function(  # the face renders on request: under load it arrives a moment after the page
        "() => { const i = document.querySelector('figure.card-check img'); return i && i.complete && i.naturalWidth > 0 }",
        timeout=15_000)
