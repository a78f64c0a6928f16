"""One owner per scarce thing (CONVENTIONS.md 15): only the owner module writes its table.

A second writer is how the first release lost track of blanks (four modules wrote the
blank-card table). This reads every source file for SQL that changes a table and fails on
a write outside the table's owner; the journal's migrations (``kiosk/journal/store.py``)
create the tables and are the one other place allowed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {
    "blank_cards": "kiosk/journal/blanks.py",
    "supplies": "kiosk/journal/supplies.py",
    "duty_cycle": "kiosk/journal/supplies.py",
    "print_jobs": "kiosk/journal/jobs.py",
    "attempt_counters": "kiosk/journal/attempts.py",
    "attempt_reservations": "kiosk/journal/attempts.py",
    "staff_calls": "kiosk/citizen/staff_calls.py",
    "assisted_sessions": "kiosk/staff/assisted.py",
}
WRITE = re.compile(r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+(\w+)", re.IGNORECASE)
SOURCES = sorted(p for pkg in ("kiosk", "ui", "hardware_sim", "drivers", "tools") for p in (ROOT / pkg).rglob("*.py"))


def writes(path: Path) -> set[str]:
    return {m.group(1).lower() for m in WRITE.finditer(path.read_text())}


def test_every_owner_writes_its_table() -> None:
    for table, owner in OWNERS.items():
        assert table in writes(ROOT / owner), f"{owner} no longer writes {table}: update OWNERS"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_owner_writes_its_table(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    if rel == "kiosk/journal/store.py":  # the migrations create and move the tables
        return
    foreign = sorted(t for t in writes(path) if t in OWNERS and OWNERS[t] != rel)
    assert foreign == [], f"{rel} writes {foreign}; ask the owner ({', '.join(OWNERS[t] for t in foreign)})"
