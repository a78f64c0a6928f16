"""Shared fixtures: a kiosk in the default simulation, in its own temporary directories.

Kiosks are built as the CLI builds them, by the composition root (``build_kiosk``): a
``SimulatedKiosk`` whose ``sim`` is the in-process hardware, ``central_server.sim`` the
simulated central, ``issue_demo_pins()`` the demo citizens' PINs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli.composition import build_kiosk
from kiosk.cli.simulation import SimulatedKiosk
from kiosk.config import Config, load

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(ROOT / "var" / "cache" / "escpos"))


# A config file's device sections for real hardware: outside simulation every device names a real transport.
REAL_DEVICES_TOML = "".join(f'[devices.{name}]\ntransport = "{transport}"\n' for name, transport in (
    ("card_reader", "pcsc"), ("camera", "opencv"), ("card_printer", "cups"), ("document_printer", "cups"),
    ("receipt_printer", "serial")))


def sim_config(base: Path, **overrides: Any) -> Config:
    """Settings for an in-process simulated kiosk whose every file lives under ``base``."""
    values: dict[str, Any] = {
        "sim.mode": "inprocess",
        "kiosk.data_dir": str(base / "data"),
        "sim.state_dir": str(base / "sim"),
        "sim.output_dir": str(base / "sim" / "output"),
        "devices.poll_interval_s": 0.2,
    }
    values.update(overrides)
    return load(env={}, overrides=values)


# Modules that start the machine's one pcscd (a private one, or through ``--sim=system``): under pytest-xdist they
# share one worker, one after another; any other module runs whole on one worker (its module-scoped peers and its
# figures for tests/reliability/results.py stay together).
ONE_PCSCD = {"test_cups.py", "test_hung_peers.py", "test_pcsc.py", "test_pcsc_personalise.py", "test_pcsc_system.py",
             "test_shutdown.py", "test_simulator_panel_system.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::")[0]
        group = "pcscd" if Path(module).name in ONE_PCSCD and "integration" in module else module
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def make_kiosk(tmp_path: Path) -> Iterator[Callable[..., SimulatedKiosk]]:
    """Builds and starts simulated kiosks; stops them at the end of the test."""
    started: list[SimulatedKiosk] = []

    def make(base: Path | None = None, start: bool = True, **overrides: Any) -> SimulatedKiosk:
        k = build_kiosk(sim_config(base or tmp_path, **overrides))
        assert isinstance(k, SimulatedKiosk)
        if start:
            k.start()
        started.append(k)
        return k

    yield make
    for k in started:
        try:
            k.stop()
        except Exception:  # noqa: BLE001 - a test may have stopped it already
            pass


@pytest.fixture
def kiosk(make_kiosk: Callable[..., SimulatedKiosk]) -> SimulatedKiosk:
    return make_kiosk()
