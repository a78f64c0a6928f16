"""Call staff and assisted mode by touch in Debian's Chromium: what the citizen and the helper see,
and what central's own record says (the simulated central, a witness the kiosk does not own)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.checks import axe_violations, screen_problems
from tests.e2e.live import LiveKiosk
from tests.e2e.walk import BUDI, identify_by_nik, tap_digits
from tests.e2e.walk_help import add_operator, operator_signs_in, walk_help_screens

pytestmark = pytest.mark.e2e


def central_calls(live: LiveKiosk, until: Any, timeout: float = 10) -> list[dict[str, Any]]:
    """Central's record of calls once ``until(calls)`` holds (the kiosk's outbox delivers each second)."""
    deadline = time.monotonic() + timeout
    calls = live.kiosk.central_server.sim.help.calls()
    while not until(calls) and time.monotonic() < deadline:
        time.sleep(0.1)
        calls = live.kiosk.central_server.sim.help.calls()
    return calls


def test_tap_call_staff_see_help_coming_then_cancel(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    identify_by_nik(page, BUDI)
    page.wait_for_url("**/pin")
    button = page.locator("#call-staff-btn")
    expect(button).to_have_text("☎Panggil petugas")
    button.tap()
    coming = page.locator("#call-staff-coming")
    expect(coming).to_be_visible()
    expect(coming).to_contain_text("Petugas sedang menuju ke sini.")
    expect(button).to_be_hidden()
    assert axe_violations(page) == []
    calls = central_calls(live, lambda c: len(c) == 1)
    assert [(c["screen"], c["state"], c["location"]) for c in calls] == [("pin", "open", live.kiosk.cfg.kiosk.location)]

    page.reload()  # the call survives a reload: still "help is coming", still one call
    expect(page.locator("#call-staff-coming")).to_be_visible()
    page.locator("#call-staff-cancel").tap()
    expect(page.locator("#call-staff-btn")).to_be_visible()
    expect(page.locator("#call-staff-coming")).to_be_hidden()
    calls = central_calls(live, lambda c: c and c[0]["state"] != "open")
    assert [(c["screen"], c["state"]) for c in calls] == [("pin", "cancelled")]
    assert live.kiosk.staff_calls.current() is None
    tap_digits(page, "12")  # the citizen carries on where they were
    expect(page.locator(".typed-count").first).to_have_text("2")


def test_the_pin_screen_asks_the_helper_to_look_away(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    add_operator(live)
    page.goto("/assist/login?next=/")
    operator_signs_in(page)
    expect(page.locator("#assisted-bar")).to_contain_text("Dibantu petugas: OP-CIBINONG-01")
    expect(page.locator("#assist-finish")).to_be_visible()
    assert live.kiosk.mode == "in_service"
    identify_by_nik(page, BUDI)
    page.wait_for_url("**/pin")
    expect(page.locator("#look-away")).to_contain_text("Petugas, mohon berpaling")
    expect(page.locator("#assist-finish")).to_have_count(0)
    expect(page.locator("#assist-resume")).to_have_count(0)
    # a helper action sent from this screen anyway is refused
    status = page.evaluate("""async () => (await fetch('/assist/finish', {method: 'POST', headers: {
        'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content, 'Accept': 'application/json'}})).status""")
    assert status == 423
    assert live.kiosk.assisted.live().state == "suspended"


def test_help_screens_pass_the_screen_checks(kiosk_page: Page, live: LiveKiosk) -> None:
    """axe-clean, touch targets and text large enough (the staff sign-in page is a staff page: axe only)."""
    seen: list[str] = []

    def visit(name: str) -> None:
        seen.append(name)
        problems = axe_violations(kiosk_page) if name == "assist-login" else screen_problems(kiosk_page)
        assert problems == [], name

    walk_help_screens(kiosk_page, live, visit)
    assert seen == ["call-staff-coming", "assist-login", "assisted-pin-look-away", "assisted-documents"]
    (row,) = live.kiosk.store.query("SELECT operator, screens, outcome FROM assisted_sessions")
    assert row[0] == "OP-CIBINONG-01" and row[2] == "operator-finished"
