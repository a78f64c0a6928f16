"""The adm-kiosk command as a technician uses it: doctor's exit status, issue-pin's message, config errors."""

from pathlib import Path

import pytest

from kiosk.cli.main import main
from kiosk.journal.store import Store


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
