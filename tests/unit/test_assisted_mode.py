"""Assisted mode through the web app: an operator helps one citizen; the PIN screen refuses the helper.

Witnesses outside the code under test: the simulated central's redeem calls (a PIN the
helper sent would show there) and its record of the staff call; the kiosk's audit as the
regency reads it (the journal export) must hold no personal data.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.cli.main import main as cli_main
from kiosk.cli.simulation import SimulatedKiosk
from kiosk.journal.store import Store
from kiosk.staff.technicians import TechnicianAccounts
from tests.unit.test_flow import Citizen
from ui import create_app

OPERATOR, PASSWORD = "OP-CIBINONG-01", "bantu-warga-2026"


@pytest.fixture
def screen(kiosk: SimulatedKiosk) -> Iterator[Citizen]:
    TechnicianAccounts(kiosk.store).add(OPERATOR, PASSWORD, name="Sari", role="operator")
    yield Citizen(create_app(kiosk).test_client())


def open_form(screen: Citizen, path: str) -> None:
    """GETs a staff login page (no citizen layout, so its CSRF token is in the form)."""
    screen.token = re.search(r'name="csrf_token" value="([^"]+)"', screen.c.get(path).text).group(1)  # type: ignore[union-attr]


def sign_in(screen: Citizen, next_path: str = "/") -> int:
    open_form(screen, f"/assist/login?next={next_path}")
    return int(screen.post("/assist/login", operator_id=OPERATOR, password=PASSWORD, next=next_path).status_code)


def test_an_operator_helps_and_the_pin_screen_refuses_the_helper(kiosk: SimulatedKiosk, screen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    screen.get("/")
    screen.post("/help/call", screen="welcome", next="/")
    assert sign_in(screen) == 302
    kiosk.outbox.flush()
    assert [(c["state"], c["reason"]) for c in kiosk.central_server.sim.help.calls()] == [("ended", "answered")]
    assert kiosk.mode == "in_service" and kiosk.availability().available  # citizen service, not maintenance
    assert "Dibantu petugas: OP-CIBINONG-01" in screen.get("/").text

    screen.get("/nik")  # the helper moves through the screens with the citizen
    screen.post("/nik", nik=issued.nik)
    pin_page = screen.get("/pin").text
    assert "Petugas, mohon berpaling" in pin_page and 'id="assist-finish"' not in pin_page
    headers = {"X-CSRFToken": screen.token, "Accept": "application/json"}
    assert screen.c.post("/assist/finish", headers=headers).status_code == 423  # no helper action on the PIN screen
    assert screen.c.post("/assist/resume", headers=headers).status_code == 423
    assert kiosk.assisted.live().state == "suspended"
    # nor from another browser holding the helper's cookie but no citizen session (a phone, a second tab)
    elsewhere = Citizen(create_app(kiosk).test_client())
    elsewhere.c.set_cookie("adm_assist", screen.c.get_cookie("adm_assist").value)  # type: ignore[union-attr]
    open_form(elsewhere, "/assist/login")
    assert elsewhere.c.post("/assist/resume", headers={"X-CSRFToken": elsewhere.token,
                                                       "Accept": "application/json"}).status_code == 423

    assert screen.post("/pin", pin=issued.pin).location == "/documents"  # the citizen's PIN
    documents = screen.get("/documents").text
    assert 'id="assist-resume"' in documents
    assert screen.c.post("/assist/resume", headers=headers).json == {"status": "active"}
    screen.post("/print", doc=screen.documents())
    screen.get("/printing")
    screen.wait_done()
    screen.get("/done")
    screen.post("/end")
    kiosk.assisted.sweep(lambda sid: kiosk.sessions.get(sid) is not None)  # the background loop's second

    (row,) = kiosk.store.query("SELECT detail, actor FROM audit WHERE event='assisted-ended'")
    detail = json.loads(row[0])
    assert row[1] == OPERATOR
    assert detail["screens"] == ["welcome", "nik", "pin", "documents", "printing", "done"]
    assert detail["outcome"] == "printed (2 printed, 0 failed)"
    assert detail["ended_at"] > detail["started_at"]
    audit = json.dumps([dict(r) for r in kiosk.store.query("SELECT * FROM audit WHERE category='assisted'")])
    assert issued.nik not in audit and issued.nik[-4:] not in audit.replace(OPERATOR, "")
    assert kiosk.assisted.live() is None


def test_a_pin_sent_before_the_helper_looked_away_never_reaches_central(kiosk: SimulatedKiosk,
                                                                        screen: Citizen) -> None:
    issued = kiosk.issue_demo_pins()[0]
    screen.get("/")
    screen.post("/nik", nik=issued.nik)
    assert sign_in(screen, "/documents") == 302  # signed in, but the PIN screen was never shown since
    r = screen.post("/pin", pin=issued.pin)
    assert r.status_code == 409 and "Petugas, mohon berpaling" in r.text
    assert kiosk.central_server.sim.redeems(issued.nik) == []
    screen.get("/pin")  # now the helper is asked to look away, and the citizen's PIN counts
    assert screen.post("/pin", pin=issued.pin).location == "/documents"
    assert kiosk.central_server.sim.redeems(issued.nik) == ["ok"]


def test_roles_do_not_cross(kiosk: SimulatedKiosk, screen: Citizen) -> None:
    """An operator never enters maintenance; a technician's account does not sign in to assist."""
    TechnicianAccounts(kiosk.store).add("T-BOGOR-01", "teknisi-pass-1")
    open_form(screen, "/maintenance/login")
    assert screen.post("/maintenance/login", tech_id=OPERATOR, password=PASSWORD).status_code == 401
    assert kiosk.mode == "in_service"
    open_form(screen, "/assist/login")
    assert screen.post("/assist/login", operator_id="T-BOGOR-01", password="teknisi-pass-1", next="/").status_code == 401
    assert kiosk.assisted.live() is None


def test_a_second_operator_cannot_take_over(kiosk: SimulatedKiosk, screen: Citizen) -> None:
    TechnicianAccounts(kiosk.store).add("OP-CIBINONG-02", PASSWORD, role="operator")
    assert sign_in(screen) == 302
    other = Citizen(create_app(kiosk).test_client())
    open_form(other, "/assist/login")
    assert other.post("/assist/login", operator_id="OP-CIBINONG-02", password=PASSWORD, next="/").status_code == 409
    assert kiosk.assisted.live().operator == OPERATOR


def test_one_citizen_per_assisted_session(kiosk: SimulatedKiosk, screen: Citizen) -> None:
    """The next citizen (a new session before the background loop noticed the first one ended) is not helped."""
    first, second = kiosk.issue_demo_pins()[:2]
    assert sign_in(screen, "/nik") == 302
    screen.post("/nik", nik=first.nik)
    screen.get("/pin")
    screen.post("/end")
    screen.get("/nik")
    screen.post("/nik", nik=second.nik)
    page = screen.get("/pin").text
    assert kiosk.assisted.live() is None and "Petugas, mohon berpaling" not in page
    (row,) = kiosk.store.query("SELECT screens, outcome FROM assisted_sessions")
    assert json.loads(row[0])[0] == "pin" and row[1] == "cancelled (0 printed, 0 failed)"


def test_operator_cli_add_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """``adm-kiosk operator add`` makes an operator account (argon2id), listed apart from the technicians."""
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path}/data"\n[sim]\nmode = "inprocess"\n')
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli_main(["operator", "add", "op-bogor-01", "--name", "Sari", "--password-stdin", "--config", str(cfg)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli_main(["technician", "add", "T-BOGOR-01", "--password-stdin", "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert cli_main(["operator", "list", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "OP-BOGOR-01" in out and "T-BOGOR-01" not in out and PASSWORD not in out
    store = Store(tmp_path / "data" / "journal.sqlite3")
    (row,) = store.query("SELECT role, password_hash FROM technicians WHERE id='OP-BOGOR-01'")
    store.close()
    assert row[0] == "operator" and row[1].startswith("$argon2id$")
