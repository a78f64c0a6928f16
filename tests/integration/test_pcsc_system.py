"""``--sim=system`` for the card reader: SystemSim starts real pcscd + the virtual e-KTP and
points the config at it; the driver kiosk.devices builds from that config reads the card."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drivers.base import DeviceState
from hardware_sim import citizens
from hardware_sim.pcscd import running_pcscd, unavailable
from hardware_sim.system import SystemSim
from kiosk.config import load
from kiosk.devices.builder import DEVICE_NAMES, build_devices, real_transports

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
_reason = unavailable()
if _reason:
    pytest.skip(f"real PC/SC unavailable: {_reason}", allow_module_level=True)


def test_system_sim_card_reader_is_real_pcsc(tmp_path: Path) -> None:
    cfg = load(env={}, overrides={"sim.mode": "system", "kiosk.data_dir": str(tmp_path / "data"),
                                  "sim.state_dir": str(tmp_path / "sim"), "sim.output_dir": str(tmp_path / "out")})
    for name in DEVICE_NAMES:
        if name != "card_reader":
            getattr(cfg.devices, name).enabled = False
    key = os.urandom(16)
    sim = SystemSim(cfg, key)
    sim.work.mkdir(parents=True, exist_ok=True)
    sim._start_pcsc()
    try:
        dc = cfg.devices.card_reader
        assert dc.transport == "pcsc" and dc.reader == "ADM Virtual PCD 00 00"
        reader = build_devices(cfg, real_transports(), key).get("card_reader")
        assert reader.status().state is DeviceState.ONLINE and reader.status().media == ""
        nik = citizens.DEMO[2][0].nik
        sim.peers["pcsc"].control.insert(nik)
        assert reader.wait_for_card(10)
        assert reader.read().identity["nik"] == nik
    finally:
        sim.stop()
    assert running_pcscd() is None  # the registered stop took pcscd down
