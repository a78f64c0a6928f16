"""The spoken prompts are made from the catalogue and checked against it: a prompt whose audio is missing or was
made for an older translation fails here, and so does the generated directory when it lags the catalogue."""

from __future__ import annotations

import json
import shutil
import sys
import wave
from pathlib import Path

import pytest

from kiosk import speech
from kiosk.speech import Catalogue, audio_name, pieces, problems

ROOT = Path(__file__).resolve().parents[2]
ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng not installed (apt-get install espeak-ng)")
sys.path.insert(0, str(ROOT / "tools"))
import speech as speech_tool  # noqa: E402  (tools/speech.py)

SMALL = Catalogue({"id": ["Masukkan PIN Anda", "%(n)s dari %(total)s angka"],
                   "en": ["Enter your PIN", "%(n)s of %(total)s digits"]})


def test_a_message_with_numbers_is_spoken_as_its_pieces() -> None:
    assert pieces("%(n)s dari %(total)s angka") == ["dari", "angka"]
    assert pieces("Anda dapat mencoba lagi setelah pukul %(time)s.") == ["Anda dapat mencoba lagi setelah pukul"]
    units = list(SMALL.units("id"))
    assert "Masukkan PIN Anda" in units and "dari" in units and "120" in units
    assert not any("%(" in u for u in units)


@needs_espeak
def test_made_prompts_are_current_and_real_audio(tmp_path: Path) -> None:
    speech_tool.make(SMALL, tmp_path, ESPEAK)
    assert problems(SMALL, tmp_path) == []
    with wave.open(str(tmp_path / "id" / audio_name("id", "Masukkan PIN Anda"))) as w:
        assert w.getnframes() / w.getframerate() > 0.5  # espeak-ng said something, not an empty file
    manifest = json.loads((tmp_path / "en" / "manifest.json").read_text())
    assert manifest["texts"]["Enter your PIN"] == audio_name("en", "Enter your PIN")
    assert manifest["voice"] == "en-us"


@needs_espeak
def test_a_changed_translation_makes_its_prompt_out_of_date(tmp_path: Path) -> None:
    speech_tool.make(SMALL, tmp_path, ESPEAK)
    changed = Catalogue({**SMALL.messages, "id": ["Ketik PIN Anda", "%(n)s dari %(total)s angka"]})
    found = problems(changed, tmp_path)
    assert found and found[0].startswith("id: manifest out of date") and "Ketik PIN Anda" in found[0]
    speech_tool.make(changed, tmp_path, ESPEAK)
    assert problems(changed, tmp_path) == []
    assert not (tmp_path / "id" / audio_name("id", "Masukkan PIN Anda")).exists()  # the old audio is gone


@needs_espeak
def test_a_missing_audio_file_or_manifest_is_reported(tmp_path: Path) -> None:
    speech_tool.make(SMALL, tmp_path, ESPEAK)
    (tmp_path / "en" / audio_name("en", "Enter your PIN")).unlink()
    assert problems(SMALL, tmp_path) == [f"en: audio file {audio_name('en', 'Enter your PIN')} missing (make speech)"]
    shutil.rmtree(tmp_path / "id")
    assert any(p.startswith("id: no speech manifest") for p in problems(SMALL, tmp_path))


@needs_espeak
def test_the_generated_prompts_match_the_catalogue() -> None:
    """`make speech` (run by `make run` and `make test`) has made every prompt for the catalogue as committed."""
    assert problems(Catalogue.load()) == []


def test_doctor_says_why_the_kiosk_is_silent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status = speech.status(tmp_path)
    assert status["speaking"] is False
    monkeypatch.setattr(speech.shutil, "which", lambda _name: None)
    assert speech.status(tmp_path)["detail"].startswith("silent: espeak-ng is not installed")


def test_no_espeak_means_no_prompts_and_exit_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(speech_tool.shutil, "which", lambda _name: None)
    assert speech_tool.main(["--out", str(tmp_path)]) == 0
    assert "without speech" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())


def test_doctor_reports_whether_the_kiosk_speaks(kiosk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kiosk.staff.status import doctor_report
    report = doctor_report(kiosk.status.build(), "", str(tmp_path), True, "")
    assert report["speech"] == speech.status()
    assert report["available"] is True  # a silent kiosk still serves citizens
