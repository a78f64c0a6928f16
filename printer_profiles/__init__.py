"""Printer profiles: what a printer physically is, as TOML data validated on load.

A profile may ``inherits = "base-card"``: tables deep-merge over the parent's. Document
layouts are not here (they live with the renderers).

Each ``[supplies.<name>]`` says what the printer holds (``capacity``, ``low_at``, ``unit``)
and what one print consumes of it (``per_print``: per card on a card printer, per page on
a document printer; default 1). The kiosk counts every consumable a profile names this
way (kiosk/journal/supplies.py); ``hopper`` is the blank cards, counted one by one by the
blank owner instead, so it takes no ``per_print``.
"""

from __future__ import annotations

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
