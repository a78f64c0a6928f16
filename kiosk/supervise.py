"""Supervised background loops: a loop that raises is logged once and restarted with backoff.

pyscard's card monitor dies silently when pcscd restarts; ours cannot: every background
thread runs ``step()`` under this supervisor, which records down/up transitions once each.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class SupervisedLoop:
    def __init__(self, name: str, step: Callable[[], None], interval_s: float,
                 on_transition: Callable[[str, str], None] | None = None, max_backoff_s: float = 30.0) -> None:
        self.name = name
        self._step = step
        self.interval_s = interval_s
        self._on_transition = on_transition
        self.max_backoff_s = max_backoff_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.last_error = ""

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    @property
    def alive(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # noqa: BLE001 - the supervisor's whole point
                self.failures += 1
                if self.failures == 1:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("%s failed; restarting with backoff", self.name)
                    if self._on_transition:
                        self._on_transition(self.name, "down")
                delay = min(self.max_backoff_s, self.interval_s * 2 ** min(self.failures, 6))
            else:
                if self.failures:
                    log.info("%s recovered after %d failures", self.name, self.failures)
                    if self._on_transition:
                        self._on_transition(self.name, "up")
                self.failures = 0
                delay = self.interval_s
            self._wake.wait(delay)
            self._wake.clear()
