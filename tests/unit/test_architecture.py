"""The import rules of ARCHITECTURE.md section 1, as import-linter contracts (``[tool.importlinter]`` in pyproject.toml).

ui -> kiosk -> drivers; nothing in kiosk but kiosk.cli imports hardware_sim or ui, not even
inside a function; the core imports no web framework or hardware library; hardware_sim
uses drivers and the core's value types and wire formats only; no import cycles. A rule
that is not tested erodes: ``make test`` fails when a contract breaks, naming the import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "Contracts: 6 kept, 0 broken." in out.stdout


def test_a_kiosk_for_real_hardware_loads_no_simulator() -> None:
    """The composition root imports hardware_sim only when a simulation is asked for."""
    code = ("import sys, kiosk.cli.main, kiosk.cli.composition, kiosk.cli.devices, ui, ui.api; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'hardware_sim'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
