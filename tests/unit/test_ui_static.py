"""Static rules for the citizen UI that need no browser: a touchscreen has no hover, the CSP
allows no inline script or style, and nothing is fetched from outside the kiosk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
TEMPLATES = sorted((UI / "templates").rglob("*.html"))
CITIZEN_TEMPLATES = [p for p in TEMPLATES if "maintenance" not in p.parts]


def test_no_hover_only_styles() -> None:
    """Nothing may appear or change only under a hovering pointer: a finger never hovers."""
    css = (UI / "static" / "kiosk.css").read_text()
    assert ":hover" not in css


@pytest.mark.parametrize("path", CITIZEN_TEMPLATES, ids=lambda p: p.name)
def test_no_inline_script_or_style(path: Path) -> None:
    """The CSP has no 'unsafe-inline': an inline handler or style= would silently do nothing."""
    html = path.read_text()
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html)
    assert "<style" not in html


@pytest.mark.parametrize("path", [*CITIZEN_TEMPLATES, UI / "static" / "kiosk.css", UI / "static" / "kiosk.js"],
                         ids=lambda p: p.name)
def test_everything_is_local(path: Path) -> None:
    """Fonts, icons and scripts come from the kiosk itself: it may be offline."""
    text = path.read_text()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), re.findall(r"https?://\S+", text)


def test_every_icon_the_css_uses_exists() -> None:
    css = (UI / "static" / "kiosk.css").read_text()
    for name in re.findall(r'url\("([^"]+)"\)', css):
        assert (UI / "static" / name).is_file(), name
