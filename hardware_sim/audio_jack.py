"""The simulated headset socket: what the simulator panel's "plug headset" and "unplug" change.

It stands where ``drivers.audio.AlsaHeadsetJack`` stands on a kiosk (no sound card here to
sense a real plug); the core's ``HeadsetWatch`` polls it the same way.
"""

from __future__ import annotations

import threading


class SimulatedHeadsetJack:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plugged = False

    def plug(self) -> None:
        with self._lock:
            self._plugged = True

    def unplug(self) -> None:
        with self._lock:
            self._plugged = False

    def plugged(self) -> bool | None:
        with self._lock:
            return self._plugged
