"""Screenshots of every citizen screen in both languages, for the README: ``make screens``.

Runs the default simulation behind a real HTTP server, drives Debian's Chromium through
``tests.e2e.walk.walk_all_screens`` in a 1080 x 1920 touch context, and writes
``docs/screens/<lang>-<nn>-<screen>.png`` plus ``docs/screens/README.md`` (the table the
project README shows). A fresh kiosk per language, because the walk ends with a jammed printer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.live import CHROMIUM, CHROMIUM_ARGS, kiosk_context_args, serve  # noqa: E402
from tests.e2e.walk import walk_accessibility_screens, walk_all_screens  # noqa: E402
from tests.e2e.walk_help import walk_help_screens  # noqa: E402

LANGS = ("id", "en")
CAPTIONS = {
    "welcome": "Welcome: three ways to start (tap the e-KTP, type the NIK, show the WhatsApp QR)",
    "help": "\"Butuh bantuan?\": how it works, the kiosk's help text and the assist code for staff",
    "nik": "Typing the NIK on the on-screen keypad (grouped 4-4-4-4, digits counted)",
    "nik-invalid": "A NIK that cannot exist, explained",
    "qr": "Showing the QR code from the WhatsApp message to the camera",
    "qr-not-ours": "A QR code that is not from Dukcapil",
    "pin": "The PIN, masked",
    "pin-wrong": "Wrong PIN, with the tries left",
    "documents": "The ready documents, all selected: plain names, medium, pages",
    "check": "\"Periksa data Anda\": the card as it will print, before a blank is used",
    "printing": "Printing, with live progress per document",
    "done": "Done: take the documents and the receipt",
    "data-rejected": "\"Data salah, jangan cetak\": nothing printed, the PIN stays valid, go to the office counter",
    "idle-warning": "\"Masih di sana?\": the idle countdown",
    "welcome-after-timeout": "Back at the start after the idle timeout, saying why",
    "welcome-card-removed": "Back at the start after the e-KTP was taken off mid-flow",
    "locked": "Too many wrong PINs: how long to wait",
    "done-not-printed": "A paper jam mid-print: \"Dokumen belum tercetak. PIN Anda tetap berlaku.\" and where to get help",
    "out-of-service": "Out of service (the jammed printer), the PIN stays valid",
    "error": "A stale form: start again",
    "call-staff-coming": "\"Panggil petugas\" tapped: help is coming, and the call can be cancelled",
    "assist-login": "An operator signs in on the kiosk to help the citizen (the kiosk stays in service)",
    "assisted-pin-look-away": "Assisted: the PIN screen asks the helper to look away; the helper's controls are off",
    "assisted-documents": "Assisted: past the PIN, the helper can continue helping",
    "card-fallback": "No blanks for the KTP-el: a surat keterangan to print instead, the nearest kiosk that can "
                     "print the card, a queue ticket",
    "card-fallback-ticket": "The queue number for the office counter, from central (or local, and said so)",
    "closed": "Outside the opening hours: the hours, when it opens again, the nearest open kiosk",
    "keypad-focus": "The tactile keypad: the first key starts on the main control, with a large focus ring",
    "nik-large-text": "Large text (one tap in the top bar, for this session)",
    "pin-large-contrast": "Large text and high contrast together, on the PIN screen",
    "documents-contrast": "High contrast: the documents",
    "done-contrast": "High contrast: done (Finish ends the session and its preferences)",
}


def shrink(path: Path) -> None:
    """A flat UI needs few colours: a 128-colour palette keeps the text crisp at about a quarter of the bytes,
    which matters because every regeneration lands in the repository's history."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def shoot(out: Path, lang: str) -> list[str]:
    """Every screen, then the accessibility states and the help screens, each walk on a fresh kiosk."""
    names: list[str] = []
    for walk in (walk_all_screens, walk_accessibility_screens, help_walk):
        names = shoot_walk(out, lang, walk, names)
    return names


def help_walk(page: Any, live: Any, lang: str, visit: Any) -> None:
    """Call staff and assisted mode, on a kiosk of their own (the first walk ends with a jammed printer)."""
    page.goto(live.url + "/")
    if lang == "en":
        page.locator("#lang").tap()
    walk_help_screens(page, live, visit)


def shoot_walk(out: Path, lang: str, walk: Any, names: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="adm-screens-") as tmp, serve(Path(tmp)) as live, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(**kiosk_context_args(live.url, lang))
            ctx.set_default_timeout(15_000)
            page = ctx.new_page()
            started = time.monotonic()

            def visit(name: str) -> None:
                names.append(name)
                print(f"{lang} {name:24s} {time.monotonic() - started:5.1f} s", flush=True)
                page.wait_for_timeout(150)  # let the page's own first poll settle
                path = out / f"{lang}-{len(names):02d}-{name}.png"
                page.screenshot(path=str(path), animations="disabled", caret="hide")
                shrink(path)

            walk(page, live, lang, visit)
            ctx.close()
            return names
        finally:
            browser.close()


def index(out: Path, names: list[str]) -> str:
    """The Markdown the README shows: one row per screen, Bahasa Indonesia beside English."""
    lines = ["| Screen | Bahasa Indonesia | English |", "| --- | --- | --- |"]
    for i, name in enumerate(names, 1):
        cells = [f'<img src="{lang}-{i:02d}-{name}.png" width="270" alt="{name} ({lang})">' for lang in LANGS]
        lines.append(f"| {CAPTIONS.get(name, name)} | {cells[0]} | {cells[1]} |")
    text = "# The citizen's screens\n\nRegenerate with `make screens` (tools/screens.py).\n\n" + "\n".join(lines) + "\n"
    (out / "README.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.png"):
        old.unlink()
    started = time.monotonic()
    names = {lang: shoot(args.out, lang) for lang in LANGS}
    if names["id"] != names["en"]:
        print(f"the two languages visited different screens: {names}", file=sys.stderr)
        return 1
    index(args.out, names["id"])
    print(f"{len(names['id'])} screens x {len(LANGS)} languages -> {args.out} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
