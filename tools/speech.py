"""Makes the spoken prompts from the translation catalogue with espeak-ng: ``make speech``.

For each language (voices ``id`` and ``en-us``) every spoken unit of kiosk/speech.py's
``Catalogue`` becomes ``kiosk/translations/speech/<lang>/<hash>.wav``, plus a neutral tick
(the PIN keypad's sound for each digit, never a digit's name) and ``manifest.json``. Files
already there are kept (their name is the hash of their text), files no message uses any more
are removed, and the manifest is written last, so a run killed half-way leaves the old
manifest, which ``kiosk.speech.problems`` then reports out of date. Without espeak-ng it says
so and exits 0: the kiosk runs silent, and doctor says why.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.i18n import LANGUAGES  # noqa: E402
from kiosk.speech import SPEECH_DIR, VOICES, Catalogue  # noqa: E402

RATE_WPM = "145"  # a little slower than espeak-ng's 175: the kiosk's listeners are often elderly
SYNTH_TIMEOUT_S = 20.0
TICK_HZ, TICK_MS, SAMPLE_RATE = 1200, 30, 22050


def synthesise(espeak: str, voice: str, text: str, out: Path) -> None:
    """One unit to a WAV file, written under a temporary name and renamed (a killed run leaves no half file)."""
    tmp = out.with_suffix(".tmp")
    subprocess.run([espeak, "-v", voice, "-s", RATE_WPM, "-w", str(tmp), "--stdin"], input=text.encode(),
                   check=True, capture_output=True, timeout=SYNTH_TIMEOUT_S)
    tmp.replace(out)


def write_tick(out: Path) -> None:
    """A short soft click with a fade in and out: the same sound for every PIN digit."""
    n = SAMPLE_RATE * TICK_MS // 1000
    frames = b"".join(
        struct.pack("<h", int(9000 * math.sin(2 * math.pi * TICK_HZ * i / SAMPLE_RATE) * min(1, i / 60, (n - i) / 60)))
        for i in range(n))
    tmp = out.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(frames)
    tmp.replace(out)


def make(catalogue: Catalogue, out_dir: Path, espeak: str, workers: int = 2) -> dict[str, int]:
    """Brings ``out_dir`` up to date with ``catalogue``; returns how many files were made per language."""
    made: dict[str, int] = {}
    for lang in LANGUAGES:
        d = out_dir / lang
        d.mkdir(parents=True, exist_ok=True)
        manifest = catalogue.manifest(lang)
        texts: dict[str, str] = manifest["texts"]  # type: ignore[assignment]
        todo = [(t, d / f) for t, f in texts.items() if not (d / f).is_file()]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda job, voice=VOICES[lang]: synthesise(espeak, voice, job[0], job[1]), todo))
        write_tick(d / "tick.wav")
        keep = {*texts.values(), "tick.wav", "manifest.json"}
        for old in d.iterdir():
            if old.name not in keep:
                old.unlink()
        tmp = d / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True))
        tmp.replace(d / "manifest.json")
        made[lang] = len(todo)
    return made


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=SPEECH_DIR)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("note: espeak-ng not installed (apt-get install espeak-ng): the kiosk runs without speech")
        return 0
    started = time.monotonic()
    made = make(Catalogue.load(), args.out, espeak, args.workers)
    print(f"speech: {made} new audio files in {args.out} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
