"""Shared fixtures: a kiosk in the default simulation, in its own temporary directories.

Kiosks are built as the CLI builds them, by the composition root (``build_kiosk``): a
``SimulatedKiosk`` whose ``sim`` is the in-process hardware, ``central_server.sim`` the
simulated central, ``issue_demo_pins()`` the demo citizens' PINs.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli.composition import build_kiosk
from kiosk.cli.simulation import SimulatedKiosk
from kiosk.config import Config, load

ROOT = Path(__file__).resolve().parent.parent
# python-escpos writes its capabilities pickle on first use without a temporary file: one directory per xdist
# worker, so no worker reads the pickle another is still writing
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR",
                      str(ROOT / "var" / "cache" / "escpos" / os.environ.get("PYTEST_XDIST_WORKER", "main")))


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


# Modules that start the machine's one pcscd (a private one, or through ``--sim=system``). `make test` runs modules on
# pytest-xdist workers side by side (``--dist loadfile``: a module whole on one worker), so each of these holds a
# machine-wide lock from its first test's setup to its last test's teardown: one such module at a time, and the next
# finds pcscd's socket gone (``hardware_sim.pcscd.unavailable()`` would otherwise skip it, not fail it).
ONE_PCSCD = {"test_cups.py", "test_hung_peers.py", "test_pcsc.py", "test_pcsc_personalise.py", "test_pcsc_system.py",
             "test_shutdown.py", "test_simulator_panel_system.py"}
PCSCD_LOCK = Path("/tmp/adm-pcscd.lock")
PCSCD_WAIT_S = 240.0  # the other pcscd modules take about 2 minutes together; under pytest-timeout's 300 s


@pytest.fixture(scope="module", autouse=True)
def _one_pcscd_module_at_a_time(request: pytest.FixtureRequest) -> Iterator[None]:
    path = Path(str(request.node.path))
    if path.name not in ONE_PCSCD or path.parent.name != "integration":
        yield
        return
    fd = os.open(PCSCD_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + PCSCD_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test module held {PCSCD_LOCK} (the machine's one pcscd) for {PCSCD_WAIT_S:g} s")
                time.sleep(0.2)
        _vpcd_ports_free()
        yield
    finally:
        os.close(fd)  # drops the lock


def _vpcd_ports_free(wait_s: float = 70.0) -> None:
    """Until no socket at all is on vpcd's ports: the last module's pcscd connections may linger (TIME-WAIT, up to
    a minute) and the next pcscd then fails its bind ("Address already in use"), seen with modules back to back."""
    from hardware_sim.pcscd import DEFAULT_PORT

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        out = subprocess.run(["ss", "-Htan", f"( sport = :{DEFAULT_PORT} or sport = :{DEFAULT_PORT + 1} )"],
                             capture_output=True, text=True, check=False).stdout
        if not out.strip():
            return
        time.sleep(0.5)


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
