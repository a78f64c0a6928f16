"""The kiosk's service mode and its availability to citizens (CUSS: required devices not ready -> unavailable).

The mode (in service, out of service, maintenance) is a journaled setting, so a restart
keeps it. Availability is worked out from the journal's health, the mode and the
monitor's cache of the devices marked required: it never asks a device itself. A kiosk
clock past central's signing window (``ClockCheck``) is a reason too: it clears itself
when central's next answer shows the clock right again.

Central staff change the mode from afar (``request``): at once when no citizen is
mid-print, else it waits, journaled as the ``pending_mode`` setting (a restart keeps it),
until that citizen's session has ended; ``apply_pending`` (the background tick) then sets
it. A print is never interrupted. While a technician is on site (maintenance) a remote
change is refused: the technician decides what the kiosk shows when they leave.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from drivers.base import N_, AdmError
from kiosk.citizen.clock import ClockCheck
from kiosk.devices.builder import Devices
from kiosk.devices.monitor import DeviceMonitor
from kiosk.journal.store import Store

MODES = ("in_service", "out_of_service", "maintenance")
REMOTE_MODES = ("in_service", "out_of_service")
OUT_OF_SERVICE = N_("This kiosk is temporarily out of service.")
PENDING_MODE = "pending_mode"  # JSON {"mode", "message", "actor"}: a remote change waiting for a print to end
MESSAGE_MAX = 200
# a citizen whose documents print, or are printed and not yet collected: their session is not interrupted
MID_PRINT_SQL = "SELECT 1 FROM sessions WHERE ended_at IS NULL AND state IN ('printing', 'done') LIMIT 1"


class ModeRefused(AdmError):
    """A remote mode change cannot be made now (a technician is on site)."""

    code = "mode-refused"


@dataclass(frozen=True)
class ModeChange:
    mode: str
    applied: bool  # False: pending until the citizen mid-print has finished


@dataclass(frozen=True)
class Availability:
    available: bool
    mode: str
    reasons: list[str] = field(default_factory=list)  # technician-facing, e.g. "card_printer: media-jam"
    message: str = ""  # citizen-facing msgid


class ServiceMode:
    def __init__(self, store: Store, devices: Devices, monitor: DeviceMonitor, clock: ClockCheck | None = None) -> None:
        self.store = store
        self.devices = devices
        self.monitor = monitor
        self.clock = clock  # a kiosk clock past central's signing window is a reason (kiosk/citizen/clock.py)

    @property
    def mode(self) -> str:
        return self.store.get_setting("mode", "in_service")

    def set_mode(self, mode: str, actor: str, message: str = "") -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.store.set_setting("mode", mode)
        self.store.set_setting("out_of_service_message", message)
        self.store.audit("service", f"mode-{mode}", actor=actor)

    def request(self, mode: str, actor: str, message: str = "") -> ModeChange:
        """A remote change to ``mode`` (in or out of service): at once, or pending while a citizen is mid-print.

        One ``BEGIN IMMEDIATE`` transaction checks for a print and writes the mode or the
        pending change, so a print that starts at the same moment is either seen or starts
        after the kiosk has left service (and is then refused by availability).
        """
        if mode not in REMOTE_MODES:
            raise ValueError(mode)
        message = " ".join(message.split())[:MESSAGE_MAX] if mode == "out_of_service" else ""
        with self.store.tx() as db:
            current = db.execute("SELECT value FROM settings WHERE key='mode'").fetchone()
            if current is not None and current[0] == "maintenance":
                raise ModeRefused("a technician is on site (maintenance); the kiosk's mode is theirs to set")
            if db.execute(MID_PRINT_SQL).fetchone():
                self._put(db, PENDING_MODE, json.dumps({"mode": mode, "message": message, "actor": actor}))
                self.store.audit("service", f"mode-{mode}-pending", actor=actor, db=db, message_length=len(message))
                return ModeChange(mode, applied=False)
            self._apply(db, mode, message, actor)
        return ModeChange(mode, applied=True)

    def pending(self) -> str:
        """The mode a remote change waits to set, or ''."""
        raw = self.store.get_setting(PENDING_MODE)
        return str(json.loads(raw)["mode"]) if raw else ""

    def apply_pending(self) -> str:
        """Sets a pending remote mode once no citizen is mid-print (and no technician on site); returns it or ''."""
        if not self.store.get_setting(PENDING_MODE):
            return ""
        with self.store.tx() as db:
            row = db.execute("SELECT value FROM settings WHERE key=?", (PENDING_MODE,)).fetchone()
            current = db.execute("SELECT value FROM settings WHERE key='mode'").fetchone()
            if row is None or not row[0] or (current is not None and current[0] == "maintenance") \
                    or db.execute(MID_PRINT_SQL).fetchone():
                return ""
            change = json.loads(row[0])
            self._apply(db, change["mode"], change["message"], change["actor"])
        return str(change["mode"])

    def _apply(self, db: sqlite3.Connection, mode: str, message: str, actor: str) -> None:
        self._put(db, "mode", mode)
        self._put(db, "out_of_service_message", message)
        db.execute("DELETE FROM settings WHERE key=?", (PENDING_MODE,))
        self.store.audit("service", f"mode-{mode}", actor=actor, db=db, message_length=len(message))

    @staticmethod
    def _put(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT INTO settings(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                   (key, value))

    def availability(self) -> Availability:
        if not self.store.healthy():  # nothing may be consumed that the journal cannot record
            return Availability(False, "out_of_service", [f"journal: {self.store.fault}"], OUT_OF_SERVICE)
        mode = self.mode
        if mode != "in_service":
            return Availability(False, mode, [mode], OUT_OF_SERVICE)
        configs = self.devices.configs
        reasons = [f"{name}: {st.code or st.state.value}" for name, st in self.monitor.statuses().items()
                   if configs[name].enabled and configs[name].required and not st.ready]
        clock = self.clock.reason() if self.clock else ""
        if clock:  # every signed request would be refused: say so, not a stream of "central unavailable"
            reasons.append(clock)
        if reasons:
            return Availability(False, mode, reasons, OUT_OF_SERVICE)
        return Availability(True, mode)
