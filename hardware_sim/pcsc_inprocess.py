"""An in-process PC/SC stand-in for the default simulation: readers with slots for virtual cards.

A slot holds one chip; the card printer's encoder station is an ``EncoderSlot`` whose chip is
always the top blank of the printer's chip hopper (hardware_sim/blanks.py). A chip with the
``dead`` fault is powered but never answers (the transmit raises ``card-mute``); the station's
pseudo-APDU ``FF 7E 00 00`` (answered by the reader, not the chip) sends its card to the reject bin.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from drivers.card_reader import CardRemoved, CardState, CardUnreadable, NoReader, PcscConnection
from hardware_sim.ektp_card import ATR, VirtualEktp

EJECT = bytes.fromhex("FF7E0000")  # docs/ektp-card-protocol.md section 11: the station ejects its card


class SimSlot:
    def __init__(self, name: str) -> None:
        self.name = name
        self._card: VirtualEktp | None = None
        self.plugged = True
        self._lock = threading.Lock()

    @property
    def card(self) -> VirtualEktp | None:
        return self._card

    def insert(self, card: VirtualEktp) -> None:
        with self._lock:
            card.reset()
            card.apdu_count = 0
            card.removed.clear()
            self._card = card

    def pull(self) -> None:
        with self._lock:
            self._card = None

    def eject(self) -> None:
        """A reader without a mechanism cannot eject: the card stays in the field."""


class ChipFeeder(Protocol):
    def top(self) -> VirtualEktp | None: ...
    def reject(self) -> None: ...


class EncoderSlot(SimSlot):
    """The card printer's encoder station: it holds whichever blank the hopper feeds it."""

    def __init__(self, name: str, hopper: ChipFeeder) -> None:
        super().__init__(name)
        self.hopper = hopper

    @property
    def card(self) -> VirtualEktp | None:
        return self.hopper.top()

    def eject(self) -> None:
        self.hopper.reject()


class SimPcsc:
    """Implements the driver's ``PcscSystem`` against ``SimSlot``s."""

    def __init__(self, *names: str) -> None:
        self.slots: dict[str, SimSlot] = {n: SimSlot(n) for n in (names or ("ADM Sim Reader 00 00",))}

    @property
    def slot(self) -> SimSlot:
        return next(iter(self.slots.values()))

    def add_slot(self, slot: SimSlot) -> SimSlot:
        self.slots[slot.name] = slot
        return slot

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
            card = self._slot(reader).card
            state = (CardState.EMPTY if card is None else CardState.MUTE if card.faults.dead else CardState.PRESENT)
            if state is not unlike or time.monotonic() >= deadline:
                return state
            time.sleep(0.02)

    def connect(self, reader: str) -> PcscConnection:
        slot = self._slot(reader)
        card = slot.card
        if card is None:
            raise CardRemoved("no card on the reader")
        return _SimConnection(slot, card)


class _SimConnection:
    def __init__(self, slot: SimSlot, card: VirtualEktp) -> None:
        self.slot = slot
        self.card = card

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        if self.slot.card is not self.card or not self.slot.plugged:
            raise CardRemoved()
        if apdu[:1] == [0xFF]:  # class FF: a pseudo-APDU for the reader itself (PC/SC part 3), not the chip
            return self._reader_command(bytes(apdu))
        if self.card.faults.dead:
            raise CardUnreadable("card-mute", "the chip does not answer")
        try:
            resp = self.card.process(bytes(apdu))
        except ConnectionError as exc:
            self.slot.pull()
            raise CardRemoved() from exc
        return list(resp[:-2]), resp[-2], resp[-1]

    def atr(self) -> bytes:
        return ATR

    def _reader_command(self, apdu: bytes) -> tuple[list[int], int, int]:
        if apdu[:4] == EJECT and isinstance(self.slot, EncoderSlot):
            self.slot.eject()
            return [], 0x90, 0x00
        return [], 0x6D, 0x00

    def disconnect(self, eject: bool = False) -> None:
        """``eject`` (SCARD_EJECT_CARD) is ignored, as pcsc-lite's vpcd driver does: the station ejects on FF 7E."""
        self.card.reset()
