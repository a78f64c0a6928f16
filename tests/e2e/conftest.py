"""E2E fixtures: Debian's Chromium (never a downloaded browser), a simulated kiosk per test behind
a real HTTP server, and a 1080 x 1920 touch page that may reach nothing but the kiosk itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.e2e.live import CHROMIUM, CHROMIUM_ARGS, LiveKiosk, kiosk_context_args, serve


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kiosk_config(**overrides): settings for the test's simulated kiosk")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Keeps --headed / --slowmo from the command line; adds Debian's Chromium and its flags."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveKiosk]:
    marker = request.node.get_closest_marker("kiosk_config")
    with serve(tmp_path, **(marker.kwargs if marker else {})) as k:
        yield k


@pytest.fixture
def kiosk_page(browser: Browser, live: LiveKiosk) -> Iterator[Page]:
    """The kiosk's touchscreen. Any request off the kiosk (a CDN font, an icon) is refused and fails the test,
    and so does any script error."""
    ctx = browser.new_context(**kiosk_context_args(live.url))
    ctx.set_default_timeout(10_000)
    outside: list[str] = []
    errors: list[str] = []

    def gate(route: Route) -> None:
        url = route.request.url
        if url.startswith(live.url + "/") or url == live.url or url.startswith("data:"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    ctx.route("**/*", gate)
    page = ctx.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    ctx.close()
    assert not outside, f"the kiosk page asked for something off the kiosk: {outside}"
    assert not errors, f"script errors: {errors}"
