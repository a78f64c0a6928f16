"""Builds drivers from config and printer profiles, and caches their status.

The monitor polls every device on its own supervised thread; the UI, maintenance and the
status endpoint read the cache, never the hardware. A device that fails is reported, not
fatal: availability is worked out from the devices each service requires.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import printer_profiles
from drivers.base import Device, DeviceState, DeviceStatus, safe_status
from kiosk.config import Config, DeviceSection, secret
from kiosk.journal.store import Store
from kiosk.supervise import SupervisedLoop

log = logging.getLogger(__name__)
DEVICE_NAMES = ("card_reader", "camera", "card_printer", "document_printer", "receipt_printer")


@dataclass
class Devices:
    by_name: dict[str, Device] = field(default_factory=dict)
    profiles: dict[str, printer_profiles.PrinterProfile] = field(default_factory=dict)
    configs: dict[str, DeviceSection] = field(default_factory=dict)
    sim: Any = None  # hardware_sim.factory.SimHardware in simulated modes

    def get(self, name: str) -> Any:
        return self.by_name.get(name)


def _escpos_cache() -> None:
    """python-escpos pickles its capability database on import (0.3 s otherwise), into a dir that must exist."""
    path = os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR",
                                 str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "adm-kiosk" / "escpos"))
    Path(path).mkdir(parents=True, exist_ok=True)


def build_devices(cfg: Config, sam_key: bytes) -> Devices:
    """Real drivers for real transports; ``sim`` transports come from hardware_sim (imported lazily)."""
    _escpos_cache()
    devices = Devices(configs=cfg.device_configs())
    sim = None
    for name, dc in devices.configs.items():
        if dc.profile:
            devices.profiles[name] = printer_profiles.load(dc.profile)
        if not dc.enabled:
            continue
        if dc.transport == "sim":
            if sim is None:
                from hardware_sim.factory import SimHardware
                sim = SimHardware(cfg, sam_key)
            devices.by_name[name] = sim.build(name, dc, devices.profiles.get(name))
        else:
            devices.by_name[name] = _build_real(name, dc, devices.profiles.get(name), sam_key)
    devices.sim = sim
    return devices


def _build_real(name: str, dc: DeviceSection, profile: printer_profiles.PrinterProfile | None,
                sam_key: bytes) -> Device:
    if name == "card_reader":
        from drivers.card_reader import CardReader, PyscardSystem
        return CardReader(name, PyscardSystem(), sam_key, dc.reader)
    if name in ("card_printer", "document_printer"):
        from drivers.printers import CupsPrinter, pycups_connect
        assert profile is not None
        return CupsPrinter(name, dc.queue, pycups_connect(dc.port), profile.cups_options)
    if name == "receipt_printer":
        from drivers.receipt import ReceiptPrinter, connection_printer
        assert profile is not None
        esc = profile.escpos
        printer = connection_printer(dc.transport, dc.port, dc.baudrate, dc.usb_vendor, dc.usb_product,
                                     str(esc.get("capabilities", "default")))
        return ReceiptPrinter(name, printer, int(esc.get("columns", 48)), bool(esc.get("near_end_sensor", True)))
    if name == "camera":
        from drivers.camera import Camera, opencv_source
        from drivers.decoders import make_decoder
        return Camera(name, opencv_source(dc.source or "0"), make_decoder(dc.decoder))
    raise ValueError(f"unknown device {name!r}")


def load_sam_key(cfg: Config) -> bytes:
    dc = cfg.devices.card_reader
    value = secret(dc.sam_key, dc.sam_key_file)
    return bytes.fromhex(value) if value else b""


class DeviceMonitor:
    def __init__(self, devices: Devices, store: Store, interval_s: float) -> None:
        self.devices = devices
        self.store = store
        self._cache: dict[str, DeviceStatus] = {}
        self._lock = threading.Lock()
        self.loop = SupervisedLoop("device-monitor", self.refresh, interval_s, self._loop_transition)

    def start(self) -> None:
        self.refresh()
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def refresh(self, names: tuple[str, ...] | None = None) -> dict[str, DeviceStatus]:
        for name, dev in list(self.devices.by_name.items()):
            if names and name not in names:
                continue
            new = safe_status(dev)
            with self._lock:
                old = self._cache.get(name)
                if new.same_condition(old):
                    continue
                self._cache[name] = new
            self._transition(name, old, new)
        return self.statuses()

    def _transition(self, name: str, old: DeviceStatus | None, new: DeviceStatus) -> None:
        """Logged once when a device changes condition (HA's rule), and journaled for maintenance."""
        if old is None and new.ready:
            return
        level = logging.INFO if new.ready else logging.WARNING
        log.log(level, "device %s: %s%s", name, new.state.value, f" ({new.code})" if new.code else "")
        self.store.audit("device", "status", name=name, state=new.state.value, code=new.code, detail=new.detail,
                         previous=old.state.value if old else "")

    def _loop_transition(self, loop: str, what: str) -> None:
        self.store.audit("device", f"monitor-{what}", loop=loop)

    def statuses(self) -> dict[str, DeviceStatus]:
        with self._lock:
            out = dict(self._cache)
        for name, dc in self.devices.configs.items():
            if name not in out:
                out[name] = DeviceStatus(DeviceState.NO_DEVICE, "disabled" if not dc.enabled else "not polled yet",
                                         code="disabled" if not dc.enabled else "")
        return out

    def status(self, name: str) -> DeviceStatus:
        return self.statuses()[name]

    def fresh(self, name: str) -> DeviceStatus:
        """A synchronous probe (before a print job: the cache may be seconds old)."""
        self.refresh((name,))
        return self.status(name)
