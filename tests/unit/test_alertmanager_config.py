"""deploy/alertmanager's routing: valid for Debian's Alertmanager, calls for staff to the staff, no secret in it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.yml"
amtool = shutil.which("amtool")
needs_amtool = pytest.mark.skipif(amtool is None, reason="amtool not installed (apt-get install prometheus-alertmanager)")


@needs_amtool
def test_config_is_valid() -> None:
    out = subprocess.run([str(amtool), "check-config", str(CONFIG)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_amtool
@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=AdmStaffCalled", "kiosk=K1", "severity=assist"], "regency-staff"),
    (["alertname=AdmRequiredDeviceNotReady", "kiosk=K1", "severity=critical"], "regency-it"),
    (["alertname=AdmBlanksLow", "kiosk=K1", "severity=warning"], "regency-it"),
])
def test_alerts_reach_the_right_receiver(labels: list[str], receiver: str) -> None:
    out = subprocess.run([str(amtool), "config", "routes", "test", f"--config.file={CONFIG}", *labels],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == receiver, out.stdout + out.stderr


def test_no_secret_in_the_file() -> None:
    """Receivers name the gateway's address; its token comes from a root-only file."""
    config = yaml.safe_load(CONFIG.read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            auth = hook["http_config"]["authorization"]
            assert "credentials" not in auth and auth["credentials_file"].startswith("/etc/")
            assert not re.search(r"(token|key|secret|apikey)=", hook["url"], re.I)
