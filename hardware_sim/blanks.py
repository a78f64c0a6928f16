"""The blanks a simulated kiosk starts with: what a technician would load on its first start.

Loaded through the blank owner (kiosk/journal/blanks.py) like any batch, so the
reconciliation declares them. Together they fill the default card printer profile's
hopper (100 cards), which the simulated spool starts with: journal and hopper agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

FIRST_BATCHES = (("ktp-el", "KTP", 80), ("kia", "KIA", 20))  # kind, serial prefix, count


class BlankLoader(Protocol):
    def any_loaded(self) -> bool: ...
    def load(self, kind: str, batch: str, serials: Sequence[str], actor: str = "kiosk") -> int: ...


def seed_first_start(blanks: BlankLoader) -> int:
    """The first batches, once: a journal that ever had a blank is left alone. Returns how many were loaded."""
    if blanks.any_loaded():
        return 0
    return sum(blanks.load(kind, f"SIM-{prefix}-1", [f"{prefix}-SIM-{i:06d}" for i in range(1, count + 1)],
                           actor="simulator") for kind, prefix, count in FIRST_BATCHES)
