"""A kiosk's opening hours (``[kiosk] opening_hours``): when citizens may start a session.

Per weekday ``mon = "08:00-16:00"`` (several ranges as ``"08:00-12:00,13:00-16:00"``); a day
that is not named is closed; no table at all means always open. Times are the kiosk's
local time. Closing never interrupts a citizen: only *starting* a session is refused
outside the hours (``kiosk.citizen.session``), so a session started at 15:59 may finish.
What can go wrong: a clock that is wrong opens or closes the kiosk at the wrong time (clock
sanity is reported separately); a range past midnight is refused by validation, not guessed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES_ID = {"mon": "Senin", "tue": "Selasa", "wed": "Rabu", "thu": "Kamis", "fri": "Jumat", "sat": "Sabtu",
                "sun": "Minggu"}
DAY_NAMES_EN = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
                "sat": "Saturday", "sun": "Sunday"}
Range = tuple[int, int]  # minutes after local midnight, [start, end)


def _minutes(text: str, where: str) -> int:
    hh, sep, mm = text.strip().partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and 0 <= int(hh) <= 24 and 0 <= int(mm) < 60):
        raise ValueError(f"{where}: {text.strip()!r} is not a time like 08:00")
    value = int(hh) * 60 + int(mm)
    if value > 24 * 60:
        raise ValueError(f"{where}: {text.strip()!r} is after 24:00")
    return value


def parse_day(text: str, where: str) -> list[Range]:
    """``"08:00-12:00,13:00-16:00"`` -> [(480, 720), (780, 960)]; raises ``ValueError`` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: expected hours like \"08:00-16:00\" (leave the day out when closed)")
    ranges: list[Range] = []
    for part in text.split(","):
        start, sep, end = part.partition("-")
        if not sep:
            raise ValueError(f"{where}: {part.strip()!r} is not a range like 08:00-16:00")
        a, b = _minutes(start, where), _minutes(end, where)
        if b <= a:
            raise ValueError(f"{where}: {part.strip()!r} closes before it opens (a range past midnight: split it "
                             "over two days)")
        if ranges and a < ranges[-1][1]:
            raise ValueError(f"{where}: {part.strip()!r} overlaps or comes before the range before it")
        ranges.append((a, b))
    return ranges


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class OpeningHours:
    """Parsed hours; ``always_open`` when none are configured. ``clock`` is the kiosk's time (tests move it)."""

    days: dict[str, list[Range]] = field(default_factory=dict)
    always_open: bool = True
    clock: Callable[[], float] = time.time

    @classmethod
    def parse(cls, table: Mapping[str, str]) -> OpeningHours:
        """Raises ``ValueError`` listing every problem (one per line)."""
        problems: list[str] = []
        days: dict[str, list[Range]] = {}
        for key, value in table.items():
            where = f"'kiosk.opening_hours.{key}'"
            if key not in DAYS:
                problems.append(f"{where}: not a weekday (expected one of {', '.join(DAYS)})")
                continue
            try:
                days[key] = parse_day(value, where)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("\n".join(problems))
        return cls(days, always_open=not table)

    def is_open(self, now: float | None = None) -> bool:
        if self.always_open:
            return True
        t = dt.datetime.fromtimestamp(self.clock() if now is None else now)
        minute = t.hour * 60 + t.minute
        return any(a <= minute < b for a, b in self.days.get(DAYS[t.weekday()], []))

    def next_open(self, now: float | None = None) -> float | None:
        """When the kiosk opens next (Unix time), None when it is open now or never opens."""
        now = self.clock() if now is None else now
        if self.is_open(now):
            return None
        t = dt.datetime.fromtimestamp(now)
        for ahead in range(8):
            day = (t + dt.timedelta(days=ahead)).date()
            for a, _b in self.days.get(DAYS[day.weekday()], []):
                start = dt.datetime.combine(day, dt.time.min) + dt.timedelta(minutes=a)
                if start.timestamp() > now:
                    return start.timestamp()
        return None

    def table(self) -> dict[str, str]:
        """Every weekday's hours as text ('' = closed), for the fleet's public page and the closed screen."""
        if self.always_open:
            return {}
        return {d: ",".join(f"{_fmt(a)}-{_fmt(b)}" for a, b in self.days.get(d, [])) for d in DAYS}
