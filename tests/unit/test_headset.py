"""The headset jack (drivers/audio.py through a stand-in amixer: no sound card here), the watch that caches it,
and the citizen's session-only preferences that ride on it (speech, large text, contrast)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from drivers.audio import AlsaHeadsetJack, find_jack_control, parse_cget
from kiosk.devices.headset import HeadsetWatch
from kiosk.services import Kiosk
from tests.screen import Screen
from ui import create_app

# What amixer prints on real cards (HDA Intel PCH on a NUC; a USB headset adapter); on, off and a control
# that is not a switch.
CGET_ON = """numid=18,iface=CARD,name='Headphone Jack'
  ; type=BOOLEAN,access=r-------,values=1
  : values=on
"""
CGET_OFF = CGET_ON.replace(": values=on", ": values=off")
CGET_INT = """numid=3,iface=MIXER,name='Master Playback Volume'
  ; type=INTEGER,access=rw---R--,values=1,min=0,max=87,step=0
  : values=52
"""
CONTROLS = """numid=14,iface=CARD,name='Front Mic Jack'
numid=18,iface=CARD,name='Headphone Jack'
numid=17,iface=CARD,name='Line Out Jack'
"""


@pytest.mark.parametrize(("output", "state"), [(CGET_ON, True), (CGET_OFF, False), (CGET_INT, None), ("", None)])
def test_amixer_answers(output: str, state: bool | None) -> None:
    assert parse_cget(output) is state


def test_the_headphone_jack_is_found_among_the_controls() -> None:
    assert find_jack_control(CONTROLS) == "Headphone Jack"
    assert find_jack_control("numid=14,iface=CARD,name='Front Mic Jack'\n") is None
    assert find_jack_control("numid=5,iface=CARD,name='Headset Mic Jack'\n") == "Headset Mic Jack"


def amixer(tmp_path: Path, state: str) -> list[str]:
    """hardware_sim's stand-in amixer, answering from a state file as a card with jack detection would."""
    (tmp_path / "jack").write_text(state)
    return [sys.executable, "-m", "hardware_sim.amixer", "--state", str(tmp_path / "jack")]


@pytest.mark.parametrize(("state", "plugged"), [("on", True), ("off", False), ("nojack", None)])
def test_the_driver_finds_and_reads_the_jack(tmp_path: Path, state: str, plugged: bool | None) -> None:
    jack = AlsaHeadsetJack("1", amixer=amixer(tmp_path, state), timeout_s=5.0)
    assert jack.plugged() is plugged
    if plugged is not None:
        assert jack.control == "Headphone Jack"
    else:
        assert "no headphone jack control" in jack.last_error


def test_a_hung_sound_driver_is_unknown_within_the_bound(tmp_path: Path) -> None:
    jack = AlsaHeadsetJack("0", "Headphone Jack", timeout_s=0.5, amixer=amixer(tmp_path, "hang"))
    started = time.monotonic()
    assert jack.plugged() is None
    assert time.monotonic() - started < 2.5
    assert "TimeoutExpired" in jack.last_error


def test_no_amixer_is_unknown_not_plugged() -> None:
    jack = AlsaHeadsetJack("0", "Headphone Jack", amixer=["/nonexistent/amixer"])
    assert jack.plugged() is None
    watch = HeadsetWatch(jack)
    watch.refresh()
    assert watch.plugged() is False and watch.known() is False


def test_a_stale_answer_reads_as_no_headset() -> None:
    class Plugged:
        def plugged(self) -> bool | None:
            return True

    watch = HeadsetWatch(Plugged(), stale_after_s=0.05)
    watch.refresh()
    assert watch.plugged() is True
    time.sleep(0.1)
    assert watch.plugged() is False


def wait_for(check, timeout: float = 3.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_the_simulator_panel_plugs_a_headset_in(kiosk: Kiosk) -> None:
    kiosk.start()
    client = create_app(kiosk).test_client()
    assert client.get("/a11y/state").json["headset"] is False
    kiosk.simulator.plug_headset()  # type: ignore[attr-defined]
    assert wait_for(lambda: client.get("/a11y/state").json["headset"] is True)
    kiosk.simulator.unplug_headset()  # type: ignore[attr-defined]
    assert wait_for(lambda: client.get("/a11y/state").json["headset"] is False)


def test_preferences_last_for_the_session_only(kiosk: Kiosk) -> None:
    screen = Screen(create_app(kiosk).test_client())
    screen.get("/")
    screen.post("/a11y/prefs", pref="large", next="/")
    screen.post("/a11y/prefs", pref="contrast", next="/")
    screen.post("/a11y/prefs", pref="speech", value="on", next="/")
    page = screen.get("/nik").text
    assert 'class="text-large contrast-high"' in page and 'data-speech="on"' in page
    assert 'aria-pressed="true"' in page
    screen.post("/end")  # Finish, cancel or the idle timeout
    page = screen.get("/").text
    assert "text-large" not in page and "contrast-high" not in page and 'data-speech="auto"' in page


def test_a_bad_preference_is_refused(kiosk: Kiosk) -> None:
    screen = Screen(create_app(kiosk).test_client())
    screen.get("/")
    assert screen.post("/a11y/prefs", pref="volume").status_code == 422
    assert screen.post("/a11y/prefs", pref="speech", value="loud").status_code == 422
    assert screen.c.get("/speech/id/../../kiosk.key").status_code == 404
    assert screen.c.get("/speech/xx/manifest.json").status_code == 404


def test_without_generated_speech_the_kiosk_runs_silent(kiosk: Kiosk, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """espeak-ng absent, so `make speech` made nothing: no audio is served, and every screen still works."""
    import ui.citizen_a11y
    monkeypatch.setattr(ui.citizen_a11y, "SPEECH_DIR", tmp_path / "no-speech")
    screen = Screen(create_app(kiosk).test_client())
    assert screen.get("/").status_code == 200
    assert screen.c.get("/speech/id/manifest.json").status_code == 404
    assert screen.post("/a11y/prefs", pref="speech", value="on", next="/nik").status_code == 302
    assert screen.get("/nik").status_code == 200


def test_doctor_says_when_the_jack_cannot_be_sensed(tmp_path: Path) -> None:
    from kiosk.cli.main import _headset_jack
    assert _headset_jack(HeadsetWatch(AlsaHeadsetJack(amixer=["/nonexistent/amixer"]))).startswith(
        "not sensed (amixer: FileNotFoundError")
    assert _headset_jack(HeadsetWatch(AlsaHeadsetJack(amixer=amixer(tmp_path, "on"), timeout_s=5.0))) == \
        "headset plugged in"
    assert _headset_jack(None).startswith("off")
