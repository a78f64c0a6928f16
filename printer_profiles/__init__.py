"""Printer profiles: what a printer physically is, as TOML data validated on load.

A profile may ``inherits = "base-card"``: tables deep-merge over the parent's. Document
layouts are not here (they live with the renderers).

Each ``[supplies.<name>]`` says what the printer holds (``capacity``, ``low_at``, ``unit``)
and what one print consumes of it (``per_print``: per card on a card printer, per page on
a document printer; default 1). The kiosk counts every consumable a profile names this
way (kiosk/journal/supplies.py); ``hopper`` is the blank cards, counted one by one by the
blank owner instead, so it takes no ``per_print``.

``[timing]`` says how long the printer physically takes, from its data sheet: a card
printer ``side_s`` per printed side, ``encode_s`` per card through its encoder station and
``warm_up_s`` from standby (after ``standby_after_s`` idle); a document printer
``first_page_s`` (first page out, from ready) and ``pages_per_minute``; a receipt printer
``receipt_s`` per receipt or ``mm_per_s`` of paper. The simulated printers take exactly that
with ``[sim] realistic_timing``; the print benchmark computes the physical limit from it. A
profile without ``[timing]`` prints in no time (the default simulation).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from drivers.base import AdmError

HERE = Path(__file__).parent
KINDS = ("card", "document", "receipt")



class ProfileError(AdmError, ValueError):
    code = "profile-invalid"


SUPPLY_KEYS = {"capacity", "low_at", "unit", "per_print"}
TIMING_KEYS = {"card": {"warm_up_s", "side_s", "encode_s", "standby_after_s"},
               "document": {"first_page_s", "pages_per_minute"},
               "receipt": {"receipt_s", "mm_per_s"}}


@dataclass(frozen=True)
class Timing:
    """How long a printer takes (seconds; 0 everywhere: instantly). See the module docstring."""

    warm_up_s: float = 0.0
    side_s: float = 0.0
    encode_s: float = 0.0
    standby_after_s: float = 0.0  # idle this long, the next card warms up first (0: every job from idle)
    first_page_s: float = 0.0
    pages_per_minute: float = 0.0
    receipt_s: float = 0.0
    mm_per_s: float = 0.0

    def card_s(self, sides: int, warm: bool) -> float:
        """One card: through the encoder station, then each side; plus the warm-up unless ``warm``."""
        return (0.0 if warm else self.warm_up_s) + self.encode_s + self.side_s * max(1, sides)

    def document_s(self, pages: int) -> float:
        """One A4 job: the first page out, then each further page at the rated speed."""
        per_page = 60.0 / self.pages_per_minute if self.pages_per_minute else 0.0
        return self.first_page_s + per_page * max(0, pages - 1)

    def receipt_time_s(self, length_mm: float) -> float:
        return self.receipt_s if self.receipt_s else (length_mm / self.mm_per_s if self.mm_per_s else 0.0)


@dataclass(frozen=True)
class SupplySpec:
    capacity: int
    low_at: int
    unit: str
    per_print: int = 1  # consumed by one print (a card, or a page); 0: not used up by printing


@dataclass(frozen=True)
class PrinterProfile:
    name: str
    kind: str
    model: str
    media: str
    width_mm: float
    height_mm: float
    dpi: int
    duplex: bool = False
    margins_mm: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # left, top, right, bottom
    duty_limit_per_day: int = 0  # 0: no limit
    supplies: dict[str, SupplySpec] = field(default_factory=dict)
    cups_options: dict[str, str] = field(default_factory=dict)
    escpos: dict[str, Any] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)

    def job_s(self, pages: int, warm: bool = False) -> float:
        """The physical time of one CUPS job of ``pages`` pages (a card: its sides) on this printer."""
        return self.timing.card_s(pages, warm) if self.kind == "card" else self.timing.document_s(pages)

    @property
    def size_px(self) -> tuple[int, int]:
        return round(self.width_mm / 25.4 * self.dpi), round(self.height_mm / 25.4 * self.dpi)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _raw(name: str, seen: tuple[str, ...] = (), root: Path = HERE) -> dict[str, Any]:
    if name in seen:
        raise ProfileError(f"profile inheritance loops: {' -> '.join((*seen, name))}")
    path = root / f"{name}.toml"
    if not name.replace("-", "").replace("_", "").isalnum() or not path.is_file():
        raise ProfileError(f"no printer profile named {name!r} (known: {', '.join(names(root))})")
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{path.name}: {exc}") from exc
    parent = data.pop("inherits", None)
    if not parent:
        return data
    base = _raw(parent, (*seen, name), root)
    base.pop("abstract", None)  # being a base is not inherited
    return _merge(base, data)


@cache
def load(name: str) -> PrinterProfile:
    """The named profile from this package, validated (cached: profiles are immutable data)."""
    return parse(name, HERE)


def parse(name: str, root: Path) -> PrinterProfile:
    """Loads and validates ``root/<name>.toml``; raises ``ProfileError`` saying what is wrong."""
    data = _raw(name, root=root)
    if data.pop("abstract", False):
        raise ProfileError(f"profile {name!r} is a base profile, not a printer")
    supplies = {k: _supply(name, k, v) for k, v in data.pop("supplies", {}).items()}
    timing = data.pop("timing", {})
    try:
        prof = PrinterProfile(
            name=name, kind=str(data.pop("kind")), model=str(data.pop("model")), media=str(data.pop("media")),
            width_mm=float(data.pop("width_mm")), height_mm=float(data.pop("height_mm")), dpi=int(data.pop("dpi")),
            duplex=bool(data.pop("duplex", False)),
            margins_mm=tuple(float(x) for x in data.pop("margins_mm", (0, 0, 0, 0))),  # type: ignore[arg-type]
            duty_limit_per_day=int(data.pop("duty_limit_per_day", 0)),
            supplies=supplies, cups_options={k: str(v) for k, v in data.pop("cups", {}).get("options", {}).items()},
            escpos=dict(data.pop("escpos", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"profile {name!r}: missing or bad field {exc}") from exc
    data.pop("description", None)
    if data:
        raise ProfileError(f"profile {name!r}: unknown keys {sorted(data)}")
    if prof.kind not in KINDS:
        raise ProfileError(f"profile {name!r}: kind must be one of {KINDS}")
    prof = dataclasses.replace(prof, timing=_timing(name, prof.kind, timing))
    if len(prof.margins_mm) != 4 or prof.dpi <= 0 or prof.width_mm <= 0:
        raise ProfileError(f"profile {name!r}: bad geometry")
    for key, s in prof.supplies.items():
        if not 0 <= s.low_at < s.capacity:
            raise ProfileError(f"profile {name!r}: [supplies.{key}] low_at must be below capacity")
        if not 0 <= s.per_print <= s.capacity:
            raise ProfileError(f"profile {name!r}: [supplies.{key}] per_print must be between 0 and capacity")
    _check_kind(prof)
    return prof


def _supply(profile: str, key: str, table: Any) -> SupplySpec:
    if not isinstance(table, dict):
        raise ProfileError(f"profile {profile!r}: [supplies.{key}] must be a table")
    unknown = set(table) - SUPPLY_KEYS
    if unknown:
        raise ProfileError(f"profile {profile!r}: [supplies.{key}] unknown keys {sorted(unknown)}")
    if key == "hopper" and "per_print" in table:
        raise ProfileError(f"profile {profile!r}: [supplies.hopper] takes no per_print (blanks are counted one by one)")
    if "capacity" not in table:
        raise ProfileError(f"profile {profile!r}: [supplies.{key}] needs capacity")
    values = {k: v for k, v in table.items() if k != "unit"}
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values.values()):
        raise ProfileError(f"profile {profile!r}: [supplies.{key}] capacity, low_at and per_print must be integers")
    return SupplySpec(int(table["capacity"]), int(table.get("low_at", 0)), str(table.get("unit", "")),
                      0 if key == "hopper" else int(table.get("per_print", 1)))


def _timing(profile: str, kind: str, table: Any) -> Timing:
    """``[timing]``: only the keys the printer's kind has, each a finite number of seconds (or speed) >= 0."""
    if not isinstance(table, dict):
        raise ProfileError(f"profile {profile!r}: [timing] must be a table")
    allowed = TIMING_KEYS.get(kind, set())
    unknown = set(table) - allowed
    if unknown:
        raise ProfileError(f"profile {profile!r}: [timing] unknown keys {sorted(unknown)} for a {kind} printer "
                           f"(known: {', '.join(sorted(allowed))})")
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ProfileError(f"profile {profile!r}: [timing] {key} must be a number >= 0, got {value!r}")
    if kind == "document" and table.get("first_page_s") and not table.get("pages_per_minute"):
        raise ProfileError(f"profile {profile!r}: [timing] a document printer with first_page_s needs pages_per_minute")
    if kind == "receipt" and table.get("receipt_s") and table.get("mm_per_s"):
        raise ProfileError(f"profile {profile!r}: [timing] receipt_s or mm_per_s, not both")
    return Timing(**{k: float(v) for k, v in table.items()})


def _check_kind(prof: PrinterProfile) -> None:
    """What each kind of printer must declare for the kiosk to plan, print and count supplies."""
    def bad(why: str) -> ProfileError:
        return ProfileError(f"profile {prof.name!r}: {why}")

    if prof.kind in ("card", "document") and prof.cups_options.get("media") != prof.media:
        raise bad(f"[cups.options] media must be the profile's media {prof.media!r}")
    if prof.kind == "card":
        if "hopper" not in prof.supplies:
            raise bad("a card printer needs [supplies.hopper] (blank cards it holds)")
        if "ribbon" not in prof.supplies:
            raise bad("a card printer needs [supplies.ribbon] (prints per ribbon)")
        if prof.duty_limit_per_day <= 0:
            raise bad("a card printer needs duty_limit_per_day (overheating melts blanks)")
        if prof.duplex and not prof.cups_options.get("sides", "").startswith("two-sided"):
            raise bad("a duplex card printer needs [cups.options] sides = two-sided-...")
    if prof.kind == "document" and "paper" not in prof.supplies:
        raise bad("a document printer needs [supplies.paper]")
    if prof.kind == "receipt":
        esc = prof.escpos
        for key in ("capabilities", "width_dots", "columns", "near_end_sensor"):
            if key not in esc:
                raise bad(f"[escpos] needs {key}")
        if not isinstance(esc["width_dots"], int) or not isinstance(esc["columns"], int) or esc["columns"] <= 0 \
                or esc["width_dots"] < esc["columns"] * 8:
            raise bad("[escpos] width_dots and columns must be positive integers, at least 8 dots per column")
        if not isinstance(esc["near_end_sensor"], bool):
            raise bad("[escpos] near_end_sensor must be true or false")


def names(root: Path = HERE) -> list[str]:
    return sorted(p.stem for p in root.glob("*.toml"))


def printers() -> list[str]:
    """Every concrete (non-base) profile."""
    out = []
    for n in names():
        with (HERE / f"{n}.toml").open("rb") as fh:
            if not tomllib.load(fh).get("abstract"):
                out.append(n)
    return out
