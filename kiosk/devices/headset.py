"""Whether a headset is plugged in, watched on a background thread and read from a cache.

Every citizen page asks about once a second (speech turns on when a headset goes in); asking
the sound card on the request thread would let a wedged driver hold server threads, as a
frozen pcscd once did. The watch asks the jack (bounded by the driver's own timeout) on its
supervised thread; a jack whose last answer is older than ``stale_after_s``, or that did not
know, reads as "no headset": unknown never turns speech on by itself.
"""

from __future__ import annotations

import threading
import time

from drivers.audio import HeadsetJack
from kiosk.supervise import SupervisedLoop


class HeadsetWatch:
    def __init__(self, jack: HeadsetJack, interval_s: float = 0.5, stale_after_s: float = 5.0) -> None:
        self.jack = jack
        self.stale_after_s = stale_after_s
        self._lock = threading.Lock()
        self._plugged: bool | None = None
        self._answered_at = 0.0
        self.loop = SupervisedLoop("headset-watch", self.refresh, interval_s)

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def refresh(self) -> None:
        state = self.jack.plugged()
        with self._lock:
            self._plugged = state
            self._answered_at = time.monotonic()

    def plugged(self) -> bool:
        with self._lock:
            fresh = time.monotonic() - self._answered_at < self.stale_after_s
            return fresh and self._plugged is True

    def known(self) -> bool:
        """Whether the jack answered recently with a state (for doctor: a kiosk whose card has no jack sensing)."""
        with self._lock:
            return time.monotonic() - self._answered_at < self.stale_after_s and self._plugged is not None
