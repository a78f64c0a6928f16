"""The supply owner: the only code that writes ``supplies`` and ``duty_cycle``.

What one print consumes comes from the printer's profile, for every consumable it names
(``per_print`` of ribbon panels, retransfer film, paper, toner, cleaning...; a print is
one card on a card printer, one page on a document printer). Blank cards are not here:
they are counted card by card by the blank owner (kiosk/journal/blanks.py).

    seeded from the profile (capacity) -> drawn down by every print -> replaced by a technician

Invariant: a counter never goes below 0 nor above its capacity; the plan asks ``short``
before anything is consumed, so a citizen's job is not started that a consumable cannot
finish; ``draw`` runs inside the transaction that records the print (citizen job,
self-test or a technician's test print alike), so a counter never misses a print nor
counts one twice. ``duty_cycle`` counts cards fed per day (a card printer overheats):
``count_duty`` runs in the transaction that submits the card.

What can go wrong: a profile without a consumable the printer really has cannot be
counted (the profile loader refuses card printers without a ribbon, document printers
without paper); a technician's count out of range is refused (``SupplyError``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from drivers.base import AdmError
from kiosk.journal.store import Store
from printer_profiles import PrinterProfile

COUNTED_ELSEWHERE = {"hopper"}  # blanks: kiosk/journal/blanks.py


class SupplyError(AdmError, ValueError):
    """A refused supply change; ``code`` is stable (no-supply, supply-range), ``info`` fills the message."""

    code = "supply-refused"

    def __init__(self, code: str, **info: Any) -> None:
        super().__init__(code)
        self.code = code
        self.info = info


class Supplies:
    def __init__(self, store: Store, profiles: Mapping[str, PrinterProfile]) -> None:
        self.store = store
        self.profiles = profiles

    def seed(self) -> None:
        """A row per profile consumable the first time a printer is configured (a row never resets by itself)."""
        now = time.time()
        with self.store.tx() as db:
            for device, prof in self.profiles.items():
                for name, spec in prof.supplies.items():
                    if name in COUNTED_ELSEWHERE:
                        continue
                    db.execute("INSERT OR IGNORE INTO supplies(device, name, remaining, capacity, low_at, unit, "
                               "updated_at) VALUES (?,?,?,?,?,?,?)",
                               (device, name, spec.capacity, spec.capacity, spec.low_at, spec.unit, now))

    # -- reads ---------------------------------------------------------------------------------

    def remaining(self, device: str, name: str) -> int | None:
        row = self.store.query_one("SELECT remaining FROM supplies WHERE device=? AND name=?", (device, name))
        return int(row[0]) if row else None

    def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store.query("SELECT device, name, remaining, capacity, low_at, unit, updated_at "
                                                  "FROM supplies ORDER BY device, name")]

    def consumption(self, device: str, prints: int) -> dict[str, int]:
        """What ``prints`` prints on ``device`` use of each consumable its profile names."""
        prof = self.profiles.get(device)
        if prof is None or prints <= 0:
            return {}
        return {name: spec.per_print * prints for name, spec in prof.supplies.items()
                if name not in COUNTED_ELSEWHERE and spec.per_print}

    def short(self, device: str, prints: int) -> list[str]:
        """The consumables that cannot last ``prints`` more prints (checked by the plan before anything is used)."""
        out = []
        for name, need in self.consumption(device, prints).items():
            left = self.remaining(device, name)
            if left is not None and left < need:
                out.append(name)
        return out

    def duty_today(self, device: str = "card_printer") -> int:
        row = self.store.query_one("SELECT prints FROM duty_cycle WHERE device=? AND day=?", (device, _today()))
        return int(row[0]) if row else 0

    # -- writes ------------------------------------------------------------------------------------

    def draw(self, db: sqlite3.Connection, device: str, prints: int) -> dict[str, int]:
        """Counts ``prints`` prints down from every consumable (inside the caller's transaction); returns what it drew."""
        used = self.consumption(device, prints)
        now = time.time()
        for name, n in used.items():
            db.execute("UPDATE supplies SET remaining=MAX(0, remaining-?), updated_at=? WHERE device=? AND name=?",
                       (n, now, device, name))
        return used

    def count_duty(self, db: sqlite3.Connection, device: str, cards: int = 1) -> None:
        db.execute("INSERT INTO duty_cycle(device, day, prints) VALUES (?, ?, ?) "
                   "ON CONFLICT(device, day) DO UPDATE SET prints=prints+excluded.prints", (device, _today(), cards))

    def replace(self, device: str, name: str, actor: str, remaining: int | None = None) -> tuple[int, int]:
        """A new ribbon, film, toner or paper: back to capacity (or the count given), audited. Returns (before, now)."""
        with self.store.tx() as db:
            row = db.execute("SELECT remaining, capacity FROM supplies WHERE device=? AND name=?",
                             (device, name)).fetchone()
            if row is None:
                raise SupplyError("no-supply")
            new = int(row[1]) if remaining is None else remaining
            if not 0 <= new <= row[1]:
                raise SupplyError("supply-range", capacity=row[1])
            db.execute("UPDATE supplies SET remaining=?, updated_at=? WHERE device=? AND name=?",
                       (new, time.time(), device, name))
            self.store.audit("supplies", "supply-replaced", actor=actor, db=db, device=device, supply=name,
                             previous=row[0], remaining=new)
        return int(row[0]), new


def _today() -> str:
    return dt.date.today().isoformat()
