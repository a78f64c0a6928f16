"""The fleet alert rules: valid, and each alert fires (and stays quiet) as its promtool unit test says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROM = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(promtool is None, reason="promtool not installed (apt-get install prometheus)")


@needs_promtool
def test_rules_are_valid() -> None:
    out = subprocess.run([str(promtool), "check", "rules", str(PROM / "rules" / "adm-kiosk.rules.yml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_promtool
def test_rule_unit_tests_pass() -> None:
    out = subprocess.run([str(promtool), "test", "rules", str(PROM / "tests" / "adm-kiosk.test.yml")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout
