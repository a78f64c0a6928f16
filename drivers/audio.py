"""The headset jack: whether a citizen has plugged headphones into the kiosk's audio socket.

Sound cards report jack detection as an ALSA control on the card interface (HDA codecs name
it ``Headphone Jack``, USB and SoC cards ``Headset Jack`` or similar, type BOOLEAN). We ask
``amixer`` (Debian's alsa-utils) for it rather than bind libasound: pyalsaaudio reads mixer
elements only, not card-interface controls. Every call runs ``amixer`` as a child process with
a timeout, so a wedged sound driver makes the answer ``None`` (unknown) after ``timeout_s``
and never holds the caller; unknown never reads as plugged in.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from typing import Protocol

VALUES = re.compile(r"^\s*:\s*values=(on|off)\b", re.MULTILINE)
JACK_CONTROL = re.compile(r"name='([^']*(?:Headphone|Headset)[^']*Jack[^']*)'", re.IGNORECASE)


class HeadsetJack(Protocol):
    def plugged(self) -> bool | None:
        """True when a headset is in, False when the socket is empty, None when the card does not say."""


def parse_cget(output: str) -> bool | None:
    """``amixer cget`` output -> the jack's state (``: values=on``), or None for anything else."""
    match = VALUES.search(output)
    return None if match is None else match.group(1) == "on"


def find_jack_control(controls: str) -> str | None:
    """The headphone or headset jack among ``amixer controls`` lines, or None when the card has none."""
    match = JACK_CONTROL.search(controls)
    return match.group(1) if match else None


class AlsaHeadsetJack:
    """Reads one card's jack control through ``amixer``; ``control`` empty means: find it on the card."""

    def __init__(self, card: str = "0", control: str = "", timeout_s: float = 1.0,
                 amixer: Sequence[str] = ("amixer",)) -> None:
        self.card = card
        self.control = control
        self.timeout_s = timeout_s
        self.amixer = list(amixer)
        self.last_error = ""

    def _run(self, *args: str) -> str | None:
        try:
            done = subprocess.run([*self.amixer, "-c", self.card, *args], capture_output=True, text=True,
                                  timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.last_error = f"amixer: {exc.__class__.__name__}: {exc}"
            return None
        if done.returncode != 0:
            self.last_error = f"amixer exit {done.returncode}: {done.stderr.strip()[:200]}"
            return None
        return done.stdout

    def plugged(self) -> bool | None:
        if not self.control:
            listing = self._run("controls")
            found = find_jack_control(listing) if listing is not None else None
            if found is None:
                self.last_error = self.last_error or f"card {self.card} has no headphone jack control"
                return None
            self.control = found
        output = self._run("cget", f"iface=CARD,name='{self.control}'")
        state = parse_cget(output) if output is not None else None
        if output is not None and state is None:
            self.last_error = f"unexpected amixer answer: {output.strip()[:200]}"
        return state
