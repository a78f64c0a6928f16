"""Walks the help screens by touch: call staff, help coming, an operator signs in, the PIN screen asks the helper
to look away, the helper back on the documents screen. Shared by tests/e2e/test_call_staff.py and
tools/screens.py (which photographs each ``visit``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from kiosk.staff.technicians import TechnicianAccounts
from tests.e2e.live import LiveKiosk
from tests.e2e.walk import BUDI, enter_pin, identify_by_nik

OPERATOR, OPERATOR_PASSWORD = "OP-CIBINONG-01", "bantu-warga-2026"


def add_operator(live: LiveKiosk) -> None:
    TechnicianAccounts(live.kiosk.store).add(OPERATOR, OPERATOR_PASSWORD, name="Sari", role="operator")


def operator_signs_in(page: Page) -> None:
    """On the sign-in page: the fields are the on-screen keyboard's (read-only to the system keyboard)."""
    page.locator("#operator_id").evaluate("(el, v) => { el.value = v; }", OPERATOR)
    page.locator("#password").evaluate("(el, v) => { el.value = v; }", OPERATOR_PASSWORD)
    with page.expect_navigation():
        page.locator("#assist-login").tap()


def walk_help_screens(page: Page, live: LiveKiosk, visit: Callable[[str], Any]) -> None:
    add_operator(live)
    page.goto(live.url + "/")
    page.locator("#call-staff-btn").tap()
    expect(page.locator("#call-staff-coming")).to_be_visible()
    visit("call-staff-coming")
    page.locator("#assist-signin").tap()
    page.wait_for_url("**/assist/login**")
    visit("assist-login")
    operator_signs_in(page)
    expect(page.locator("#assisted-bar")).to_be_visible()
    identify_by_nik(page, BUDI)
    page.wait_for_url("**/pin")
    expect(page.locator("#look-away")).to_be_visible()
    visit("assisted-pin-look-away")
    enter_pin(page, live.pins[BUDI].pin)
    page.wait_for_url("**/documents")
    visit("assisted-documents")
    page.locator("#assist-resume").tap()
    expect(page.locator("#assist-finish")).to_be_visible()
    page.locator("#assist-finish").tap()
    expect(page.locator("#assisted-bar")).to_have_count(0)
