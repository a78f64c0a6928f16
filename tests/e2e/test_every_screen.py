"""Every citizen screen, in both languages, passes axe-core (no serious or critical finding), has
touch targets of at least 64 px and large type, and needs nothing from outside the kiosk."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.checks import screen_problems
from tests.e2e.live import LiveKiosk
from tests.e2e.walk import walk_all_screens


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_screen_is_accessible_by_touch(kiosk_page: Page, live: LiveKiosk, lang: str) -> None:
    problems: dict[str, list[str]] = {}

    def visit(name: str) -> None:
        found = screen_problems(kiosk_page)
        if found:
            problems[name] = found
        assert kiosk_page.locator("html").get_attribute("lang") == lang, name

    seen = walk_all_screens(kiosk_page, live, lang, visit)
    assert {"welcome", "nik", "pin", "pin-wrong", "locked", "documents", "check", "printing", "done", "done-not-printed",
            "data-rejected",
            "idle-warning", "help", "out-of-service"} <= set(seen)
    assert not problems, "\n".join(f"{k}: {p}" for k, v in problems.items() for p in v)
