"""``adm-kiosk token create|list|revoke`` as a technician types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli.main import main
from kiosk.journal.store import Store
from kiosk.staff.tokens import Tokens
from tests.conftest import REAL_DEVICES_TOML


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[kiosk]\nid = "ADM-3201-0007"\ndata_dir = "{tmp_path / "data"}"\n[central]\nurl = "http://127.0.0.1:9"\n'
                    + REAL_DEVICES_TOML)
    return str(path)


def test_create_list_revoke(config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "prometheus-kab-bogor", "--config", config]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("adm_") and len(secret) >= 47
    assert main(["token", "create", "prometheus-kab-bogor", "--config", config]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["token", "list", "--json", "--config", config]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "prometheus-kab-bogor" and row["revoked_at"] is None and secret not in json.dumps(row)
    store = Store(tmp_path / "data" / "journal.sqlite3")
    try:
        assert Tokens(store).verify(secret) == "prometheus-kab-bogor"
        assert main(["token", "revoke", "prometheus-kab-bogor", "--config", config]) == 0
        assert Tokens(store).verify(secret) is None
    finally:
        store.close()
    assert main(["token", "revoke", "prometheus-kab-bogor", "--config", config]) == 2
    assert main(["token", "list", "--config", config]) == 0
    assert "revoked" in capsys.readouterr().out


def test_install_a_fleet_token_from_stdin(config: str, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import io

    shared = "adm_" + "x" * 43
    monkeypatch.setattr("sys.stdin", io.StringIO(shared + "\n"))
    assert main(["token", "create", "prometheus", "--stdin", "--config", config]) == 0
    assert shared not in capsys.readouterr().out  # nothing echoed
    monkeypatch.setattr("sys.stdin", io.StringIO("too-short\n"))
    assert main(["token", "create", "other", "--stdin", "--config", config]) == 2
