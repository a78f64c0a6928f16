"""The status vocabulary and device contracts every driver speaks (after CEN/XFS4IoT).

The core only ever sees these types: a driver translates its library's signals
(PC/SC reader states, CUPS ``printer-state-reasons``, ESC/POS ``DLE EOT`` bits) into
them, so the UI, maintenance and the status endpoint never need to know the hardware.
"""

from __future__ import annotations

import enum
import re
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


def N_(msgid: str) -> str:  # noqa: N802 - the gettext_noop convention
    """Marks a translation msgid for extraction (gettext_noop); the UI translates it when shown."""
    return msgid


class DeviceState(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    BUSY = "busy"
    HARDWARE_ERROR = "hardwareError"
    USER_ERROR = "userError"
    NO_DEVICE = "noDevice"
    POWER_OFF = "powerOff"
    UNKNOWN = "unknown"

    @property
    def ready(self) -> bool:
        return self in (DeviceState.ONLINE, DeviceState.BUSY)


class SupplyLevel(enum.StrEnum):
    """A supply's state; ``UNKNOWN`` never reads as ``OUT`` (a silent sensor is not empty paper)."""

    OK = "ok"
    LOW = "low"
    OUT = "out"
    UNKNOWN = "unknown"


class Action(enum.StrEnum):
    """Who or what clears an error (XFS4IoT error-event actions)."""

    RESET = "reset"  # the kiosk retries by itself
    CLEAR = "clear"  # staff on site (load cards, clear a jam)
    MAINTENANCE = "maintenance"  # an engineer
    SUSPEND = "suspend"  # wait: it recovers by itself
    NONE = "none"


@dataclass(frozen=True)
class Supply:
    level: SupplyLevel = SupplyLevel.UNKNOWN
    remaining: int | None = None  # prints, cards or percent, as the unit says
    capacity: int | None = None
    unit: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"level": self.level.value, "remaining": self.remaining,
                "capacity": self.capacity, "unit": self.unit}


@dataclass(frozen=True)
class DeviceStatus:
    state: DeviceState
    detail: str = ""
    supplies: dict[str, Supply] = field(default_factory=dict)
    media: str = ""  # "jammed", "present", "" when nothing to say
    code: str = ""  # a stable machine-readable reason, e.g. "media-jam"
    since: float = field(default_factory=time.time)

    @property
    def ready(self) -> bool:
        return self.state.ready

    def same_condition(self, other: DeviceStatus | None) -> bool:
        """True when nothing a person would notice changed (ignores ``since``)."""
        return other is not None and (self.state, self.code, self.media, self.supplies) == (
            other.state, other.code, other.media, other.supplies)

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state.value, "detail": self.detail, "code": self.code,
                "media": self.media, "since": self.since,
                "supplies": {k: v.to_dict() for k, v in self.supplies.items()}}


KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class AdmError(Exception):
    """The project's one error base (CONVENTIONS.md 8): every error raised on purpose says what happened,
    who clears it and what a citizen sees.

    ``code`` is a stable kebab-case reason (``media-jam``, ``wrong-pin``): logs, audit rows, the status API,
    tests and the UI's choice of screen key on it, never on a class name. ``action`` says who clears it
    (XFS4IoT). ``citizen_message`` is a translation-catalogue msgid, never a raw library message. Subclasses
    set class defaults; an instance may narrow ``code``. It lives here, below the core, so drivers share it.
    """

    code: str = "error"
    action: Action = Action.NONE
    citizen_message: str = N_("Something went wrong. Please start again.")

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


class DeviceError(AdmError):
    """A device failure: ``detail`` for the technician, the rest as every ``AdmError``."""

    action = Action.CLEAR
    citizen_message = N_("The device is not ready. Please ask staff for help.")

    def __init__(self, code: str, detail: str, action: Action = Action.CLEAR,
                 citizen_message: str = N_("The device is not ready. Please ask staff for help.")) -> None:
        super().__init__(f"{code}: {detail}", code=code)
        self.detail = detail
        self.action = action
        self.citizen_message = citizen_message


class MissingLibraryError(DeviceError):
    """A hardware library is not installed; names the package that provides it."""

    def __init__(self, module: str, package: str) -> None:
        super().__init__("library-missing", f"Python module {module!r} is missing: install {package}",
                         Action.MAINTENANCE)


@runtime_checkable
class Device(Protocol):
    """What every device offers the core: a name and a status probe that never raises."""

    name: str

    def status(self) -> DeviceStatus: ...


def safe_status(device: Device) -> DeviceStatus:
    """A status probe for the monitor: a driver bug becomes ``hardwareError``, not a dead thread."""
    try:
        return device.status()
    except DeviceError as exc:
        return DeviceStatus(DeviceState.HARDWARE_ERROR, exc.detail, code=exc.code)
    except Exception as exc:  # noqa: BLE001 - the monitor must survive any driver fault
        return DeviceStatus(DeviceState.HARDWARE_ERROR, f"{type(exc).__name__}: {exc}", code="driver-error")
