"""The blanks a simulated kiosk starts with, and the KTP-el chips physically in the card printer.

``seed_first_start`` loads what a technician would on the first start, through the blank
owner (kiosk/journal/blanks.py) like any batch, so the reconciliation declares them.
Together they fill the default card printer profile's hopper (100 cards), which the
simulated spool starts with: journal and hopper agree.

``ChipHopper`` is the same KTP-el blanks as chips: each a blank ``VirtualEktp`` with the
serial the journal loaded, the lowest serial on top, sitting in the encoder station. It is
a witness the kiosk does not own: its state is a JSON file beside the spool's hopper count,
and only what the printer physically does changes it: a card fed to the print head after
its chip was locked (a KTP-el) or by a test print leaves for the output tray (the last one
is "the card just printed"); a card the encoder ejects goes to the reject bin and leaves
the spool's hopper count too. A KIA card has no chip: its feed leaves the chips alone.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from hardware_sim.ektp_card import VirtualEktp

FIRST_BATCHES = (("ktp-el", "KTP", 80), ("kia", "KIA", 20))  # kind, serial prefix, count
TEST_TITLES = ("adm-selftest-", "adm-print-test-")  # a card test print takes the top KTP-el blank


class BlankLoader(Protocol):
    def any_loaded(self) -> bool: ...
    def load(self, kind: str, batch: str, serials: Sequence[str], actor: str = "kiosk") -> int: ...


def first_serials(kind: str) -> list[str]:
    return [f"{prefix}-SIM-{i:06d}" for k, prefix, count in FIRST_BATCHES if k == kind for i in range(1, count + 1)]


def seed_first_start(blanks: BlankLoader) -> int:
    """The first batches, once: a journal that ever had a blank is left alone. Returns how many were loaded."""
    if blanks.any_loaded():
        return 0
    return sum(blanks.load(kind, f"SIM-{prefix}-1", first_serials(kind), actor="simulator")
               for kind, prefix, _count in FIRST_BATCHES)


class ChipHopper:
    """The KTP-el chips in the card printer, top first; ``output`` and ``rejected`` are where cards went."""

    def __init__(self, state_file: Path, sam_key: bytes, take_from_hopper: Callable[[], None] = lambda: None) -> None:
        self.state_file = state_file
        self.sam_key = sam_key
        self.take_from_hopper = take_from_hopper  # the spool's hopper count, for a card ejected to the reject bin
        self._lock = threading.RLock()
        self.chips: list[VirtualEktp] = []
        self.output: list[VirtualEktp] = []
        self.rejected: list[str] = []
        self._load()

    def _load(self) -> None:
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            state = {"chips": first_serials("ktp-el"), "rejected": []}
        self.chips = [self._chip(entry) for entry in state["chips"]]
        self.rejected = list(state.get("rejected", []))
        self._save()

    def _chip(self, entry: str | dict[str, object]) -> VirtualEktp:
        """A chip from its saved entry: a serial (a blank), or a locked chip's serial and files (a card personalised
        and not yet fed: a kiosk killed then finds it still at the station, as a printer keeps it)."""
        if isinstance(entry, str):
            chip = VirtualEktp(self.sam_key, entry)
        else:
            files = {int(sfi): bytes.fromhex(str(body)) for sfi, body in dict(entry["files"]).items()}  # type: ignore[call-overload]
            chip = VirtualEktp(self.sam_key, str(entry["serial"]), files=files, locked=True)
        return self._watch(chip)

    def _watch(self, chip: VirtualEktp) -> VirtualEktp:
        chip.on_locked = lambda _c: self._save()  # a lock is what decides the feed: on disk at once
        return chip

    def _save(self) -> None:
        with self._lock:
            chips = [{"serial": c.serial, "files": {str(k): v.hex() for k, v in c.files.items()}} if c.locked
                     else c.serial for c in self.chips]
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"chips": chips, "rejected": self.rejected}))
            os.replace(tmp, self.state_file)

    def top(self) -> VirtualEktp | None:
        with self._lock:
            return self.chips[0] if self.chips else None

    def count(self) -> int:
        with self._lock:
            return len(self.chips)

    def last_printed(self) -> VirtualEktp | None:
        with self._lock:
            return self.output[-1] if self.output else None

    def fed(self, title: str) -> None:
        """The printer fed a card to its print head (spool.py calls this): a locked chip, or a test card, left."""
        with self._lock:
            top = self.top()
            if top is not None and (top.locked or title.startswith(TEST_TITLES)):
                self.output.append(self.chips.pop(0))
                self._save()

    def reject(self) -> None:
        """The encoder ejected its card to the reject bin: it leaves the hopper (the spool's count too)."""
        with self._lock:
            if not self.chips:
                return
            self.rejected.append(self.chips.pop(0).serial)
            self._save()
            self.take_from_hopper()

    def load(self, serials: Sequence[str]) -> None:
        """A technician's hands: a batch of blank KTP-el cards behind the cards still in the hopper."""
        with self._lock:
            self.chips.extend(self._watch(VirtualEktp(self.sam_key, serial)) for serial in serials)
            self._save()

    def remove(self, serial: str) -> bool:
        """A technician took the card ``serial`` out of the hopper (found damaged); False when it is not there."""
        with self._lock:
            for i, chip in enumerate(self.chips):
                if chip.serial == serial:
                    del self.chips[i]
                    self._save()
                    return True
            return False

    def serials(self) -> list[str]:
        with self._lock:
            return [c.serial for c in self.chips]

    def put_on_top(self, chip: VirtualEktp, add_to_hopper: Callable[[], None]) -> None:
        """A technician's hand: a card (a foreign blank) put on top of the stack."""
        with self._lock:
            self.chips.insert(0, self._watch(chip))
            self._save()
            add_to_hopper()
