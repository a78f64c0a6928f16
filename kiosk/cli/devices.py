"""Drivers for a config: the real transports always, hardware_sim's ``sim`` ones only where a device uses them.

Shared by the simulated kiosk and ``adm-kiosk print-test``; outside simulation config
validation has refused ``sim``, so the simulators are not even imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.config import Config
from kiosk.devices.builder import DEVICE_NAMES, Devices, build_devices, real_transports

if TYPE_CHECKING:
    from hardware_sim.factory import SimHardware


def devices_for(cfg: Config, sam_key: bytes) -> tuple[Devices, SimHardware | None]:
    """Drivers for ``cfg`` (a kiosk or a test print) and the in-process peers behind them, if any.

    The real transports are always registered. In-process simulation puts every device on
    hardware_sim's ``sim`` transport; in ``--sim=system`` the system peers have pointed the
    devices at real transports, and ``sim`` serves only those whose peer could not start.
    Outside simulation config validation has refused ``sim``, so only real drivers come out.
    """
    if cfg.sim.mode == "inprocess":
        for name in DEVICE_NAMES:
            getattr(cfg.devices, name).transport = "sim"
    registry = real_transports()
    sim = None
    if any(dc.enabled and dc.transport == "sim" for dc in cfg.device_configs().values()):
        from hardware_sim.factory import SimHardware
        sim = SimHardware(cfg, sam_key)
        sim.register(registry)
    return build_devices(cfg, registry, sam_key), sim
