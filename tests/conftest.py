"""Shared fixtures: a kiosk in the default simulation, in its own temporary directories."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import Config, load
from kiosk.services import Kiosk

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(ROOT / "var" / "cache" / "escpos"))


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


@pytest.fixture
def make_kiosk(tmp_path: Path) -> Iterator[Callable[..., Kiosk]]:
    """Builds and starts simulated kiosks; stops them at the end of the test."""
    started: list[Kiosk] = []

    def make(base: Path | None = None, start: bool = True, **overrides: Any) -> Kiosk:
        k = Kiosk.build(sim_config(base or tmp_path, **overrides))
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
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    return make_kiosk()


def build_kiosk(cfg: Config) -> Kiosk:
    """The composition call the reliability harness uses outside a fixture (tests/reliability/soak.py)."""
    return Kiosk.build(cfg)
