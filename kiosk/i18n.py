"""Translations for text the core produces (receipts); the UI uses the same catalogue via Flask-Babel.

The catalogue lives in ``kiosk/translations`` (gettext .po); ``.mo`` files are compiled
from it on first use, so a fresh checkout needs no build step.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from pathlib import Path

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messages"
LANGUAGES = ("id", "en")


def compile_catalogues() -> None:
    """Compiles each .po to .mo when the .mo is missing or older (babel is Flask-Babel's dependency)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    for po in TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as fh:
                catalog = read_po(fh)
            tmp = mo.with_suffix(".mo.tmp")
            with tmp.open("wb") as fh:
                write_mo(fh, catalog)
            tmp.replace(mo)


@cache
def translator(lang: str) -> Callable[[str], str]:
    compile_catalogues()
    return gettext.translation(DOMAIN, TRANSLATIONS, languages=[lang], fallback=True).gettext
