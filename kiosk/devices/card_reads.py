"""Reads an e-KTP for a citizen's request within a deadline, on the reader's own worker thread.

A frozen pcscd blocks ``SCardTransmit`` for as long as it stays frozen, and the driver's own
read timeout cannot interrupt a call that never returns. The read therefore runs on one
long-lived worker (pyscard keeps a PC/SC context per thread, so a thread per read would
leak contexts); the request waits at most ``deadline_s`` and then tells the citizen to type
the NIK. While a read hangs, a second tap is refused at once instead of queueing behind it.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import cast

from drivers.base import Action, DeviceError
from drivers.card_reader import READER_DOWN, CardData, CardReader


@dataclass
class _Read:
    done: threading.Event = field(default_factory=threading.Event)
    outcome: CardData | Exception | None = None


class CardReads:
    def __init__(self, reader: CardReader, deadline_s: float | None = None) -> None:
        self.reader = reader
        self.deadline_s = deadline_s if deadline_s is not None else reader.read_timeout_s + 1.0
        self._lock = threading.Lock()
        self._current: _Read | None = None
        self._queue: queue.SimpleQueue[_Read] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="card-reads", daemon=True).start()

    def read(self) -> CardData:
        """The card's verified data; a ``DeviceError`` when it cannot be read or the reader does not answer in time."""
        with self._lock:
            if self._current is not None and not self._current.done.is_set():
                raise DeviceError("reader-busy", "a read of this reader has not finished", Action.SUSPEND, READER_DOWN)
            job = self._current = _Read()
        self._queue.put(job)
        if not job.done.wait(self.deadline_s):
            raise DeviceError("not-answering", f"the reader did not answer within {self.deadline_s:g} s",
                              Action.SUSPEND, READER_DOWN)
        if isinstance(job.outcome, Exception):
            raise job.outcome
        return cast(CardData, job.outcome)

    def _serve(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job.outcome = self.reader.read()
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request, raised there
                job.outcome = exc
            job.done.set()
