"""In Chromium: "Periksa data Anda" before a blank is used, and an A4 document whose TTE does not verify.

Witnesses: the simulated card printer's own hopper count and spool, the simulated central's
records (the data-rejected and failed reports, the PIN still redeems); axe-core on each screen.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from kiosk.model import DocumentKind
from tests.e2e.checks import screen_problems
from tests.e2e.live import LiveKiosk
from tests.e2e.walk import BUDI, SITI, enter_pin, identify_by_nik

pytestmark = pytest.mark.e2e


def test_data_wrong_uses_no_blank_and_tells_central(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    hopper = live.sim.queue("card_printer").hopper
    page.goto("/")
    identify_by_nik(page, BUDI)
    enter_pin(page, live.pins[BUDI].pin)
    page.wait_for_url("**/documents")
    with page.expect_navigation():
        page.locator("#print").tap()
    face = page.locator(".card-check img")
    expect(face).to_have_count(1)
    assert face.evaluate("img => img.complete && img.naturalWidth") == 720  # the rendered face, loaded
    assert screen_problems(page) == []
    with page.expect_navigation():
        page.locator("#data-wrong").tap()
    expect(page.locator("#result")).to_have_attribute("data-result", "data-rejected")
    expect(page.locator("#result")).to_contain_text("loket pelayanan kantor Disdukcapil")
    assert screen_problems(page) == []
    assert live.sim.queue("card_printer").hopper == hopper
    assert live.sim.cups.printed_files(live.sim.queue("card_printer").name) == []
    live.kiosk.outbox.flush()
    central = live.kiosk.central_server.sim
    assert central.report_count("data-rejected") == central.report_count() == 1
    [doc_id] = {d.document_id for d in central.deliveries()}
    assert [r["kind"] for r in central.reports_for(doc_id)] == ["ktp-el"]
    assert central.redeem("ANOTHER-KIOSK", BUDI, live.pins[BUDI].pin)[0] == 200


def test_a_tampered_kk_is_not_printed_and_the_citizen_is_told(kiosk_page: Page, live: LiveKiosk) -> None:
    central = live.kiosk.central_server.sim
    central.tte.mode = "tampered"
    issued = central.issue_pin(SITI, [DocumentKind.KK])
    central.tte.mode = "signed"
    page = kiosk_page
    page.goto("/")
    identify_by_nik(page, SITI)
    enter_pin(page, issued.pin)
    page.wait_for_url("**/documents")
    page.locator("#print").tap()
    page.wait_for_url("**/done", timeout=30_000)
    result = page.locator("#result")
    expect(result).to_have_attribute("data-result", "failed")
    expect(page.locator(".row.state-failed")).to_have_count(1)
    assert screen_problems(page) == []
    assert live.sim.cups.printed_files(live.sim.queue("document_printer").name) == []
    live.kiosk.outbox.flush()
    kk_id = central.document_qrs(issued.request_id)["kk"].split("|")[3]
    [report] = central.reports_for(kk_id)
    assert (report["outcome"], report["reason"]) == ("failed", "tte-invalid:modified")
    assert central.redeem("ANOTHER-KIOSK", SITI, issued.pin)[0] == 200

