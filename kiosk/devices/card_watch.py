"""Whether a card lies on the reader, watched on a background thread and read from a cache.

The welcome screen asks twice a second; asking pcscd on the request thread let a frozen
pcscd fill every server thread (and then even the maintenance login stopped answering).
The watch blocks in the reader's own change wait (PC/SC ``SCardGetStatusChange`` with a
timeout) on its supervised thread, so a change shows within milliseconds, and a reader
that stops answering reads as "no card" once its answer is older than ``stale_after_s``.
Each wait is short (``wait_s``): stopping the kiosk waits for the wait in progress, and
every wait starts by asking the state as it is, so nothing changes unseen between two.
"""

from __future__ import annotations

import threading
import time

from drivers.card_reader import CardReader, CardState
from kiosk.supervise import SupervisedLoop


class CardWatch:
    def __init__(self, reader: CardReader, wait_s: float = 0.25, stale_after_s: float = 2.5) -> None:
        self.reader = reader
        self.wait_s = wait_s
        self.stale_after_s = stale_after_s
        self._lock = threading.Lock()
        self._state: CardState | None = None
        self._answered_at = 0.0
        self._changed_at = 0.0  # wall clock of the last change the reader reported (sessions start on the wall clock)
        self.loop = SupervisedLoop("card-watch", self._step, 0.0)

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop(timeout=self.wait_s + 0.5)

    def _step(self) -> None:
        with self._lock:
            last = self._state
        state = self.reader.wait_for_change(last, self.wait_s)
        with self._lock:
            self._answered_at = time.monotonic()
            if state is not None:
                if state is not self._state:
                    self._changed_at = time.time()
                self._state = state

    def present(self) -> bool:
        """A card is on the reader, as the reader said less than ``stale_after_s`` ago."""
        with self._lock:
            fresh = time.monotonic() - self._answered_at < self.stale_after_s
            return fresh and self._state in (CardState.PRESENT, CardState.MUTE)

    def saw_card(self) -> None:
        """A read just succeeded, so a card is on the reader now, whether or not the watch's own wait has
        noticed yet: its removal from here on is a change the watch will report."""
        with self._lock:
            if self._state is not CardState.PRESENT:
                self._state = CardState.PRESENT
                self._changed_at = time.time()
            self._answered_at = time.monotonic()

    def removed(self, since: float) -> bool:
        """The reader said, less than ``stale_after_s`` ago, that no card is on it, and the card went after
        ``since`` (a wall-clock time: a session's start; the watch may not have seen the card arrive yet). A
        reader that does not answer is neither present nor removed: unknown never reads as out (CONVENTIONS.md 7)."""
        with self._lock:
            fresh = time.monotonic() - self._answered_at < self.stale_after_s
            return fresh and self._state is CardState.EMPTY and self._changed_at >= since
