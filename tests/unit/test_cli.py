"""The adm-kiosk command as a technician uses it: doctor's exit status, issue-pin's message, config errors."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli.main import main
from kiosk.journal.store import Store
from tests.conftest import REAL_DEVICES_TOML, ROOT


@pytest.fixture
def sim_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADM_KIOSK__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADM_SIM__STATE_DIR", str(tmp_path / "sim"))
    monkeypatch.setenv("ADM_SIM__OUTPUT_DIR", str(tmp_path / "sim" / "out"))
    return tmp_path


def test_doctor_passes_in_simulation_and_fails_out_of_service(sim_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--sim"]) == 0
    out = capsys.readouterr().out
    assert "card_printer" in out and "available" in out
    store = Store(sim_env / "data" / "journal.sqlite3")
    store.set_setting("mode", "out_of_service")
    store.close()
    assert main(["doctor", "--sim", "--json"]) == 1
    assert '"available": false' in capsys.readouterr().out


def test_issue_pin_prints_the_whatsapp_message(sim_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "issue-pin", "--nik", "3201010508900001", "--documents", "ktp-el,kk"]) == 0
    out = capsys.readouterr().out
    assert "BUDI SANTOSO" in out and "3201********0001" in out
    assert "PIN: " in out
    assert main(["sim", "issue-pin", "--nik", "3201010508900001", "--documents", "passport"]) == 2
    assert main(["sim", "issue-pin", "--nik", "1234"]) == 2
    assert "16 digits" in capsys.readouterr().err


def test_a_wrong_config_key_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text("[devices.card_printer]\nqueu = 'x'\n[sim]\nmode = 'inprocess'\n")
    assert main(["doctor", "--config", str(cfg)]) == 2
    assert "unknown key 'devices.card_printer.queu' (did you mean 'devices.card_printer.queue'?)" in capsys.readouterr().err


# -- Defect 3: outside simulation a device without a real transport stops run and doctor ----------------

def _hardware_config(tmp_path: Path, devices: str) -> Path:
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n[central]\nurl = "http://127.0.0.1:9"\n'
                   f'[sim]\noutput_dir = "{tmp_path / "out"}"\nstate_dir = "{tmp_path / "sim"}"\n' + devices)
    return cfg


def test_doctor_refuses_devices_without_transport_outside_simulation(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """No device section at all: the in-process simulator must not stand in for the hardware."""
    cfg = _hardware_config(tmp_path, "")
    assert main(["doctor", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    for name, transport in (("card_reader", "pcsc"), ("card_printer", "cups"), ("document_printer", "cups"),
                            ("receipt_printer", "serial or network or usb"), ("camera", "opencv")):
        assert f"'devices.{name}.transport': a real transport ({transport}) is required outside simulation" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "data").exists()  # nothing started, nothing printed


def test_run_refuses_to_start_with_a_simulated_device_outside_simulation(tmp_path: Path) -> None:
    cfg = _hardware_config(tmp_path, REAL_DEVICES_TOML.replace('transport = "cups"', 'transport = "sim"', 1))
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "run", "--config", str(cfg), "--port", "0"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2, out.stderr
    assert "'devices.card_printer.transport': a real transport (cups) is required outside simulation; " \
           "'sim' is the simulator, for --sim only" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "out").exists()


# -- Defect 15: config mistakes give the report, and doctor tells when central is unreachable ------------------

def test_doctor_reports_a_missing_secret_file_without_a_traceback(sim_env: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADM_CENTRAL__KIOSK_KEY_FILE", str(sim_env / "missing.key"))
    assert main(["doctor", "--sim"]) == 2
    assert f"'central.kiosk_key_file': cannot read '{sim_env / 'missing.key'}'" in capsys.readouterr().err


def test_doctor_is_not_available_when_central_is_unreachable(sim_env: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADM_CENTRAL__URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("ADM_CENTRAL__TIMEOUT_S", "1")
    monkeypatch.setenv("ADM_CENTRAL__RETRIES", "0")
    assert main(["doctor", "--sim"]) == 1
    out = capsys.readouterr().out
    assert "central: UNREACHABLE" in out
    assert "NOT AVAILABLE: central: unreachable (" in out
