"""The deployment files a regency IT officer installs: they load, and Prometheus accepts them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kiosk.config import load

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(promtool is None, reason="promtool not installed (apt-get install prometheus)")


def test_example_config_loads_with_a_status_listener() -> None:
    cfg = load(DEPLOY / "adm-kiosk.example.toml", env={})
    assert cfg.status.port == 9100 and cfg.status.host != "0.0.0.0" and cfg.ui.host == "127.0.0.1"
    assert cfg.central.kiosk_key == "" and cfg.central.kiosk_key_file  # secrets live in files


@needs_promtool
def test_scrape_config_is_valid(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (tmp_path / "token").write_text("adm_x\n")
    shutil.copy(DEPLOY / "prometheus" / "rules" / "adm-kiosk.rules.yml", tmp_path / "rules.yml")
    config["rule_files"] = [str(tmp_path / "rules.yml")]
    job = config["scrape_configs"][0]
    job["authorization"]["credentials_file"] = str(tmp_path / "token")
    job["file_sd_configs"][0]["files"] = [str(DEPLOY / "prometheus" / "targets" / "*.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    out = subprocess.run([str(promtool), "check", "config", str(tmp_path / "prometheus.yml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert job["honor_labels"] is True  # the kiosk's own `kiosk` label wins


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Each panel's query, with the dashboard variable filled in, must parse (as a recording rule)."""
    dash = json.loads((DEPLOY / "prometheus" / "grafana" / "adm-kiosk-fleet.json").read_text())
    exprs = [t["expr"].replace("$regency", ".*") for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 10 and all("adm_" in e or "up{" in e or "ALERTS" in e for e in exprs)
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e}
                                                        for i, e in enumerate(exprs)]}]}
    (tmp_path / "dash.yml").write_text(yaml.safe_dump(rules))
    out = subprocess.run([str(promtool), "check", "rules", str(tmp_path / "dash.yml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
