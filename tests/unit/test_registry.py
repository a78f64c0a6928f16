"""The transport registry: the core knows only real transports; simulated ones exist only where the composition root adds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware_sim.factory import SimHardware
from kiosk.devices.builder import build_devices, real_transports
from kiosk.devices.registry import UnknownTransport
from tests.conftest import sim_config


def test_the_cores_registry_has_no_simulator(tmp_path: Path) -> None:
    registry = real_transports()
    assert registry.transports("card_printer") == ["cups"]
    assert registry.transports("receipt_printer") == ["network", "serial", "usb"]
    cfg = sim_config(tmp_path)
    for name, dc in cfg.device_configs().items():
        dc.enabled = name == "card_printer"
    cfg.devices.card_printer.transport = "sim"
    with pytest.raises(UnknownTransport, match=r"devices.card_printer: no transport 'sim' is registered \(registered: cups\)"):
        build_devices(cfg, registry, b"")


def test_hardware_sim_plugs_its_transports_in(tmp_path: Path) -> None:
    cfg = sim_config(tmp_path)
    for dc in cfg.device_configs().values():
        dc.transport = "sim"
    registry = real_transports()
    sim = SimHardware(cfg, bytes(16))
    sim.register(registry)
    devices = build_devices(cfg, registry, bytes(16))
    assert set(devices.by_name) == {"card_reader", "camera", "card_printer", "document_printer", "receipt_printer"}
    assert set(sim.cups.queues) == {"card", "a4"}  # the printers are queues of the simulated spool
