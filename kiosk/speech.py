"""Spoken prompts made ahead from the translation catalogue, so what is said is what is shown.

``tools/speech.py`` (run by ``make speech``, before ``make run`` and ``make test``) reads the
catalogue's .po files and has espeak-ng say every translated message into
``kiosk/translations/speech/<lang>/``, one WAV file per spoken unit, named by a hash of the
voice and the exact text; ``manifest.json`` maps each text to its file. A message with
placeholders (``%(n)s dari %(total)s angka``) is spoken as its literal pieces with numbers
between them (``numbers`` in the manifest, 0 to ``MAX_NUMBER``), so nothing is synthesised at
run time and no secret can reach the synthesiser. The browser plays the files (ui/static/a11y.js
finds a shown text in the manifest); a changed translation has a new hash, so its old audio
can never be played for it, and ``problems()`` reports it missing until it is made again.

Where espeak-ng is absent the directory stays empty and the kiosk runs silent; ``status()``
says so for doctor. Nothing here runs espeak-ng or touches the network.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk.i18n import DOMAIN, LANGUAGES, TRANSLATIONS

SPEECH_DIR = TRANSLATIONS / "speech"
VOICES = {"id": "id", "en": "en-us"}
# Bump when the synthesis settings in tools/speech.py change, so every file is made again.
SYNTH_REVISION = "espeak-ng-1"
MAX_NUMBER = 120
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# Pieces that are only punctuation or space between placeholders are not spoken.
SPEAKABLE = re.compile(r"\w")


def normalise(text: str) -> str:
    """The text as the page shows it: the browser's textContent with runs of white space collapsed."""
    return " ".join(text.split())


def audio_name(lang: str, text: str) -> str:
    digest = hashlib.sha256(f"{SYNTH_REVISION}\0{VOICES[lang]}\0{text}".encode()).hexdigest()
    return digest[:24] + ".wav"


def pieces(message: str) -> list[str]:
    """The literal parts of a message with placeholders, as spoken: trimmed, speakable ones only."""
    return [p for p in (normalise(x) for x in PLACEHOLDER.split(message)) if SPEAKABLE.search(p)]


@dataclass(frozen=True)
class Catalogue:
    """Each language's translated messages, as the screens show them (English: the msgids themselves)."""

    messages: dict[str, list[str]]

    @classmethod
    def load(cls, translations: Path = TRANSLATIONS) -> Catalogue:
        from babel.messages.pofile import read_po  # Flask-Babel's dependency; only the tool and the checks need it
        out: dict[str, list[str]] = {}
        for lang in LANGUAGES:
            po = translations / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
            texts: list[str] = []
            with po.open("rb") as fh:
                for msg in read_po(fh):
                    if not msg.id:
                        continue
                    ids = list(msg.id) if isinstance(msg.id, tuple) else [msg.id]
                    strings = [s for s in (list(msg.string) if isinstance(msg.string, tuple) else [msg.string]) if s]
                    texts.extend(strings if strings and lang != "en" else ids)
            out[lang] = sorted({normalise(t) for t in texts if normalise(t)})
        return cls(out)

    def units(self, lang: str) -> Iterator[str]:
        """Every text that gets its own audio file: whole messages, pieces of templates, the numbers."""
        seen: set[str] = set()
        for message in self.messages[lang]:
            for unit in (pieces(message) if PLACEHOLDER.search(message) else [message]):
                if unit not in seen:
                    seen.add(unit)
                    yield unit
        for n in range(MAX_NUMBER + 1):
            if str(n) not in seen:
                seen.add(str(n))
                yield str(n)

    def manifest(self, lang: str) -> dict[str, object]:
        texts = {u: audio_name(lang, u) for u in self.units(lang)}
        return {"lang": lang, "voice": VOICES[lang], "revision": SYNTH_REVISION, "texts": texts,
                "numbers": {str(n): texts[str(n)] for n in range(MAX_NUMBER + 1)},
                "templates": [m for m in self.messages[lang] if PLACEHOLDER.search(m)],
                "tick": "tick.wav"}


def load_manifest(lang: str, speech_dir: Path = SPEECH_DIR) -> dict[str, object] | None:
    try:
        data = json.loads((speech_dir / lang / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def problems(catalogue: Catalogue, speech_dir: Path = SPEECH_DIR) -> list[str]:
    """What is missing or out of date, per language; empty when every prompt has its current audio."""
    out: list[str] = []
    for lang in LANGUAGES:
        manifest = load_manifest(lang, speech_dir)
        if manifest is None:
            out.append(f"{lang}: no speech manifest in {speech_dir / lang} (make speech)")
            continue
        if manifest != catalogue.manifest(lang):
            expected = catalogue.manifest(lang)["texts"]
            have = manifest.get("texts") if isinstance(manifest.get("texts"), dict) else {}
            stale = [t for t, f in expected.items() if have.get(t) != f]  # type: ignore[union-attr]
            out.append(f"{lang}: manifest out of date for {len(stale)} texts, e.g. {stale[:3]} (make speech)")
        for name in {*catalogue.manifest(lang)["texts"].values(), "tick.wav"}:  # type: ignore[union-attr]
            if not (speech_dir / lang / name).is_file():
                out.append(f"{lang}: audio file {name} missing (make speech)")
                break
    return out


def status(speech_dir: Path = SPEECH_DIR) -> dict[str, object]:
    """For doctor: whether the kiosk can speak, and why not. Cheap: reads the manifests, not the catalogue."""
    languages = {lang: (len(m["texts"]) if isinstance(m.get("texts"), dict) else 0)  # type: ignore[arg-type]
                 if (m := load_manifest(lang, speech_dir)) else 0 for lang in LANGUAGES}
    espeak = shutil.which("espeak-ng") is not None
    speaking = all(languages.values())
    if speaking:
        detail = "spoken prompts: " + ", ".join(f"{lang} {n}" for lang, n in languages.items())
    elif espeak:
        detail = "silent: spoken prompts not made yet (make speech)"
    else:
        detail = "silent: espeak-ng is not installed (apt-get install espeak-ng, then make speech)"
    return {"speaking": speaking, "espeak_ng": espeak, "prompts": languages, "detail": detail}
