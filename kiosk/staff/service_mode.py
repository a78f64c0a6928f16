"""The kiosk's service mode and its availability to citizens (CUSS: required devices not ready -> unavailable).

The mode (in service, out of service, maintenance) is a journaled setting, so a restart
keeps it. Availability is worked out from the journal's health, the mode and the
monitor's cache of the devices marked required: it never asks a device itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.base import N_
from kiosk.devices.builder import Devices
from kiosk.devices.monitor import DeviceMonitor
from kiosk.journal.store import Store

MODES = ("in_service", "out_of_service", "maintenance")
OUT_OF_SERVICE = N_("This kiosk is temporarily out of service.")


@dataclass(frozen=True)
class Availability:
    available: bool
    mode: str
    reasons: list[str] = field(default_factory=list)  # technician-facing, e.g. "card_printer: media-jam"
    message: str = ""  # citizen-facing msgid


class ServiceMode:
    def __init__(self, store: Store, devices: Devices, monitor: DeviceMonitor) -> None:
        self.store = store
        self.devices = devices
        self.monitor = monitor

    @property
    def mode(self) -> str:
        return self.store.get_setting("mode", "in_service")

    def set_mode(self, mode: str, actor: str, message: str = "") -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.store.set_setting("mode", mode)
        self.store.set_setting("out_of_service_message", message)
        self.store.audit("service", f"mode-{mode}", actor=actor)

    def availability(self) -> Availability:
        if not self.store.healthy():  # nothing may be consumed that the journal cannot record
            return Availability(False, "out_of_service", [f"journal: {self.store.fault}"], OUT_OF_SERVICE)
        mode = self.mode
        if mode != "in_service":
            return Availability(False, mode, [mode], OUT_OF_SERVICE)
        configs = self.devices.configs
        reasons = [f"{name}: {st.code or st.state.value}" for name, st in self.monitor.statuses().items()
                   if configs[name].enabled and configs[name].required and not st.ready]
        if reasons:
            return Availability(False, mode, reasons, OUT_OF_SERVICE)
        return Availability(True, mode)
