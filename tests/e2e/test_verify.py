""""Cek keaslian dokumen" in Chromium: a printed document's QR to the camera, central's verdict on screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from hardware_sim.documents import document_qr_payload
from kiosk.model import DocumentKind
from tests.e2e.checks import screen_problems
from tests.e2e.live import LiveKiosk
from tests.e2e.walk import SITI


def test_authentic_then_superseded_then_forged(kiosk_page: Page, live: LiveKiosk) -> None:
    if getattr(live.kiosk, "scanner", None) is None:
        pytest.skip("this kiosk has no QR scanner")
    central = live.kiosk.central_server.sim
    qrs = central.document_qrs(live.pins[SITI].request_id)
    page = kiosk_page
    page.goto("/")
    page.locator("#check-doc").tap()
    page.wait_for_url("**/verify")
    assert screen_problems(page) == []

    live.sim.show_qr(qrs["kk"])
    verdict = page.locator("#verdict")
    expect(verdict).to_be_visible(timeout=15_000)
    expect(page.locator("#verdict-text")).to_have_text("Dokumen ini asli dan berlaku.")
    expect(page.locator("#verdict-kind")).to_have_text("Kartu Keluarga")
    expect(page.locator("#verdict-signer")).to_have_text(  # who signed the TTE, from central's record
        "Kepala Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bogor")
    expect(page.locator("#verdict-signed-at")).to_have_text(re.compile(r"\d\d-\d\d-20\d\d \d\d\.\d\d"))
    expect(verdict).to_have_class("verdict verdict-valid")
    assert screen_problems(page) == []  # the verdict panel too: contrast, targets, type size
    assert "3201014501920002" not in page.content()  # no more personal data than the document shows

    live.sim.hide_qr()
    central.supersede_document(qrs["akta-kelahiran"].split("|")[3])
    page.locator("#verify-again").tap()
    live.sim.show_qr(qrs["akta-kelahiran"])
    expect(page.locator("#verdict-text")).to_have_text(
        "Dokumen ini asli, tetapi sudah diganti dengan dokumen yang lebih baru.", timeout=15_000)

    live.sim.hide_qr()
    page.locator("#verify-again").tap()
    forged = document_qr_payload(b"not central's key" * 2, DocumentKind.KK, "3201012402240011", "D0123456789AB")
    live.sim.show_qr(forged)
    expect(page.locator("#verdict-text")).to_have_text("Dokumen ini tidak terdaftar di database Dukcapil.",
                                                        timeout=15_000)
    expect(verdict).to_have_class("verdict verdict-unknown")
    live.sim.hide_qr()


def test_a_whatsapp_code_is_explained(kiosk_page: Page, live: LiveKiosk) -> None:
    if getattr(live.kiosk, "scanner", None) is None:
        pytest.skip("this kiosk has no QR scanner")
    page = kiosk_page
    page.goto("/verify")
    live.sim.show_qr(live.kiosk.central_server.sim.whatsapp_qr(live.pins[SITI]))
    expect(page.locator("#verify-status")).to_have_text(
        "Ini kode QR WhatsApp. Untuk memeriksa dokumen, tunjukkan kode QR yang tercetak pada dokumen.", timeout=15_000)
    live.sim.hide_qr()
