"""``adm-kiosk token create|list|revoke`` as a technician types it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kiosk.cli.main import main
from kiosk.journal.store import Store
from kiosk.staff.tokens import Caller, Tokens
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
        assert Tokens(store).verify(secret) == Caller("prometheus-kab-bogor", "read")
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


def test_operate_scope_is_chosen_at_creation_and_listed(config: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "console-kab-bogor", "--scope", "operate", "--config", config]) == 0
    secret = capsys.readouterr().out.strip()
    assert main(["token", "create", "grafana", "--config", config]) == 0
    capsys.readouterr()
    assert main(["token", "list", "--json", "--config", config]) == 0
    assert {r["name"]: r["scope"] for r in json.loads(capsys.readouterr().out)} == {
        "console-kab-bogor": "operate", "grafana": "read"}
    assert main(["token", "list", "--config", config]) == 0
    assert re.search(r"console-kab-bogor\s+operate", capsys.readouterr().out)
    store = Store(tmp_path / "data" / "journal.sqlite3")
    try:
        assert Tokens(store).verify(secret) == Caller("console-kab-bogor", "operate")
    finally:
        store.close()
    with pytest.raises(SystemExit):
        main(["token", "create", "x", "--scope", "admin", "--config", config])


def test_tokens_made_before_scopes_stay_read_only(tmp_path: Path) -> None:
    """A journal at version 6 (tokens without a scope) upgrades with every token read-only."""
    import sqlite3

    from kiosk.journal.store import MIGRATIONS
    path = tmp_path / "journal.sqlite3"
    db = sqlite3.connect(path)
    for i, sql in enumerate(MIGRATIONS[:6], start=1):
        db.executescript(sql)
        db.execute(f"PRAGMA user_version={i}")
    db.execute("INSERT INTO api_tokens(name, token_hash, prefix, created_at) VALUES ('old', 'h', 'adm_xxxx', 1)")
    db.commit()
    db.close()
    store = Store(path)
    try:
        assert store.version == len(MIGRATIONS) and [(t.name, t.scope) for t in Tokens(store).list()] == [("old", "read")]
    finally:
        store.close()
