"""Every word a citizen reads goes through the translation catalogue, in Bahasa Indonesia first.

Two checks: the msgids babel extracts from the code and templates all have an Indonesian
translation (in tools/i18n_id.py and in the committed .po), and the templates carry no bare
text outside ``_()`` (element text and the attributes people or screen readers see).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "ui" / "templates"
# Words shown as they are in every language: the language buttons name each language in itself,
# "ADM" is the kiosk's own acronym on its logo.
UNTRANSLATED_OK = {"English", "Bahasa Indonesia", "ADM"}
TEXT_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder", "aria-description", "aria-roledescription")


def _i18n_tool():
    spec = importlib.util.spec_from_file_location("i18n_id", ROOT / "tools" / "i18n_id.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "N_", "-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "--no-location",
                    "-o", str(pot), str(ROOT)], check=True, capture_output=True, cwd=ROOT)
    with pot.open("rb") as fh:
        return [m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(fh) if m.id]


def test_babel_finds_the_citizen_strings(extracted: list[str]) -> None:
    assert "Are you still there?" in extracted
    assert "The document was not printed. Your PIN is still valid." in extracted
    assert len(extracted) > 100


def test_every_msgid_has_an_indonesian_translation(extracted: list[str]) -> None:
    missing = [m for m in extracted if m not in _i18n_tool().ID]
    assert not missing, "untranslated (add them to tools/i18n_id.py and run it): " + repr(missing)


def test_the_committed_indonesian_catalogue_is_up_to_date(extracted: list[str]) -> None:
    with (ROOT / "kiosk" / "translations" / "id" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = {(m.id[0] if isinstance(m.id, tuple) else m.id): m.string for m in read_po(fh) if m.id}
    stale = [m for m in extracted if not catalogue.get(m)]
    assert not stale, "run `python tools/i18n_id.py`; not in the Indonesian .po: " + repr(stale)


def test_the_key_phrases_read_as_the_issue_asks() -> None:
    ids = _i18n_tool().ID
    assert ids["The document was not printed. Your PIN is still valid."] == "Dokumen belum tercetak. PIN Anda tetap berlaku."
    assert ids["Are you still there?"] == "Masih di sana?"
    assert ids["Need help?"] == "Butuh bantuan?"


def test_placeholders_survive_translation() -> None:
    for msgid, text in _i18n_tool().ID.items():
        texts = text if isinstance(text, tuple) else (text,)
        for t in texts:
            assert set(re.findall(r"%\(\w+\)s", msgid)) == set(re.findall(r"%\(\w+\)s", t)), msgid


def test_the_scanners_messages_are_in_the_catalogue() -> None:
    """kiosk/citizen/scanning.py returns plain msgids; ui/citizen.py lists them for extraction: they must stay equal."""
    scanning = pytest.importorskip("kiosk.citizen.scanning")
    from ui.citizen import QR_MESSAGES
    msgs = {v for k, v in vars(scanning).items() if k.startswith("MSG_")}
    assert msgs <= set(QR_MESSAGES), msgs - set(QR_MESSAGES)


class _BareText(HTMLParser):
    """Collects text and text-bearing attributes left after every Jinja construct is blanked out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value and _has_words(value):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and _has_words(data):
            self.found.append(data.replace("\x00", " ").strip())


def _has_words(text: str) -> bool:
    text = text.replace("\x00", " ").strip()
    return bool(text) and text not in UNTRANSLATED_OK and any(c.isalpha() for c in text)


def _blank_jinja(source: str) -> str:
    """The template with every {{ }}, {% %} and {# #} replaced by a marker, so only literal text is left."""
    source = re.sub(r"{%\s*block page\s*%}[\w-]*{%\s*endblock\s*%}", "", source)  # a page ID, not text
    out = []
    for _lineno, kind, value in Environment(extensions=["jinja2.ext.i18n"]).lex(source):
        out.append(value if kind == "data" else "\x00")
    return re.sub("\x00+", "\x00", "".join(out))


TEMPLATE_FILES = sorted(p.relative_to(TEMPLATES).as_posix() for p in (TEMPLATES / "citizen").glob("*.html")) + ["base.html"]


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_template_has_no_bare_text(name: str) -> None:
    parser = _BareText()
    parser.feed(_blank_jinja((TEMPLATES / name).read_text()))
    assert not parser.found, f"{name}: text outside _(): {parser.found}"


def test_the_bare_text_check_catches_bare_text() -> None:
    parser = _BareText()
    parser.feed(_blank_jinja('<p>{{ _("ok") }} Selamat</p><button aria-label="Close">{{ x }}</button>'))
    assert parser.found == ["Selamat", "<button aria-label='Close'>"]


def test_the_script_holds_no_user_facing_text() -> None:
    """kiosk.js shows only text the server put in the page (data-* attributes), so it needs no catalogue."""
    js = (ROOT / "ui" / "static" / "kiosk.js").read_text()
    code = re.sub(r"/\*.*?\*/", "", js, flags=re.S)
    strings = re.findall(r'"([^"\\]*(?:\\.[^"\\]*)*)"', code)
    prose = [s for s in strings if len(re.findall(r"(?:^|\s)[A-Za-z]{2,}(?=[\s.,!?]|$)", s)) >= 3]  # words, not selectors
    assert not prose, prose
