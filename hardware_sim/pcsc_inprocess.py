"""An in-process PC/SC stand-in for the default simulation: readers with slots for virtual cards."""

from __future__ import annotations

import threading
import time

from drivers.card_reader import CardRemoved, CardState, NoReader, PcscConnection
from hardware_sim.ektp_card import ATR, VirtualEktp


class SimSlot:
    def __init__(self, name: str) -> None:
        self.name = name
        self.card: VirtualEktp | None = None
        self.plugged = True
        self._lock = threading.Lock()

    def insert(self, card: VirtualEktp) -> None:
        with self._lock:
            card.reset()
            card.apdu_count = 0
            card.removed.clear()
            self.card = card

    def pull(self) -> None:
        with self._lock:
            self.card = None


class SimPcsc:
    """Implements the driver's ``PcscSystem`` against ``SimSlot``s."""

    def __init__(self, *names: str) -> None:
        self.slots = {n: SimSlot(n) for n in (names or ("ADM Sim Reader 00 00",))}

    @property
    def slot(self) -> SimSlot:
        return next(iter(self.slots.values()))

    def readers(self) -> list[str]:
        return [n for n, s in self.slots.items() if s.plugged]

    def _slot(self, reader: str) -> SimSlot:
        slot = self.slots.get(reader)
        if slot is None or not slot.plugged:
            raise NoReader(f"reader {reader!r} is gone")
        return slot

    def card_state(self, reader: str, wait_s: float = 0.0, unlike: CardState | None = None) -> CardState:
        deadline = time.monotonic() + wait_s
        while True:
            state = CardState.PRESENT if self._slot(reader).card is not None else CardState.EMPTY
            if state is not unlike or time.monotonic() >= deadline:
                return state
            time.sleep(0.02)

    def connect(self, reader: str) -> PcscConnection:
        slot = self._slot(reader)
        if slot.card is None:
            raise CardRemoved("no card on the reader")
        return _SimConnection(slot, slot.card)


class _SimConnection:
    def __init__(self, slot: SimSlot, card: VirtualEktp) -> None:
        self.slot = slot
        self.card = card

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        if self.slot.card is not self.card or not self.slot.plugged:
            raise CardRemoved()
        try:
            resp = self.card.process(bytes(apdu))
        except ConnectionError as exc:
            self.slot.pull()
            raise CardRemoved() from exc
        return list(resp[:-2]), resp[-2], resp[-1]

    def atr(self) -> bytes:
        return ATR

    def disconnect(self) -> None:
        self.card.reset()
