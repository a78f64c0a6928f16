"""Defect 6 (issue 13): a hung reader or print server must not take the UI down.

pyscard and libcups calls block for as long as pcscd or cupsd is frozen. Here the in-process
peers are made to hang the same way (the driver's call into them never returns); the welcome
page, its card poll and the maintenance login must still answer within a second, and the
device must read as not answering. tests/integration/test_hung_peers.py does the same with
the real pcscd and cupsd stopped by SIGSTOP.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher

from drivers.base import DeviceState
from drivers.card_reader import READER_DOWN
from kiosk.cli.simulation import SimulatedKiosk
from kiosk.staff.technicians import TechnicianAccounts
from tools.i18n_id import ID
from ui import create_app

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
BOUND_S = 1.0


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test: every hung call returns, so no thread outlives it."""
    event = threading.Event()
    yield event
    event.set()


def hang(obj: Any, method: str, release: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    original = getattr(obj, method)

    def frozen(*args: Any, **kw: Any) -> Any:
        release.wait()
        return original(*args, **kw)
    monkeypatch.setattr(obj, method, frozen)


def answers_within(call: Callable[[], Any], bound_s: float = BOUND_S) -> Any:
    """Runs ``call`` on its own thread; fails the test when it has not returned within ``bound_s``."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(bound_s)
    assert not worker.is_alive(), f"no answer within {bound_s} s"
    assert time.monotonic() - started < bound_s
    return out[0]


def until(check: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_hung_reader_leaves_the_welcome_page_poll_and_login_answering(
        kiosk: SimulatedKiosk, release: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(kiosk)
    app.extensions["maintenance"].accounts = accounts = TechnicianAccounts(kiosk.store, hasher=FAST)
    accounts.add("T01", "correct-horse-9")
    client = app.test_client()
    kiosk.sim.insert_card(next(iter(kiosk.sim.cards)))
    assert until(lambda: client.get("/poll").json["card"])  # the card watch sees the card

    hang(kiosk.sim.pcsc, "card_state", release, monkeypatch)  # pcscd frozen: every reader call blocks
    polls = [threading.Thread(target=lambda: app.test_client().get("/poll"), daemon=True) for _ in range(20)]
    started = time.monotonic()
    for p in polls:
        p.start()
    for p in polls:
        p.join(max(0.0, started + BOUND_S - time.monotonic()))
    assert not any(p.is_alive() for p in polls), "card polls wait on the hung reader"
    assert answers_within(lambda: client.get("/").status_code) == 200  # the reader is optional: still in service
    page = answers_within(lambda: client.get("/maintenance/login").text)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    login = answers_within(lambda: client.post("/maintenance/login", data={
        "csrf_token": token, "tech_id": "T01", "password": "correct-horse-9"}))
    assert login.status_code == 302

    answers_within(lambda: kiosk.monitor.refresh(), 2.0)
    reader = kiosk.monitor.status("card_reader")
    assert (reader.state, reader.code) == (DeviceState.UNKNOWN, "not-answering")
    assert until(lambda: not client.get("/poll").json["card"])  # an answer older than the bound is no card
    release.set()
    assert until(lambda: kiosk.monitor.refresh()["card_reader"].state is DeviceState.ONLINE)


def test_a_hung_print_server_reads_not_answering_and_the_kiosk_out_of_service(
        kiosk: SimulatedKiosk, release: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    client = create_app(kiosk).test_client()
    hang(kiosk.sim.cups, "getPrinterAttributes", release, monkeypatch)  # cupsd frozen
    status = answers_within(lambda: kiosk.monitor.fresh("card_printer"), 2.0)  # the plan's probe is bounded too
    assert (status.state, status.code) == (DeviceState.UNKNOWN, "not-answering")
    answers_within(lambda: kiosk.monitor.refresh(), 2.0)
    threads_before = threading.active_count()
    for _ in range(3):  # a probe still hanging is waited for again, never started twice
        answers_within(lambda: kiosk.monitor.refresh(), 2.0)
    assert threading.active_count() <= threads_before
    assert "card_printer: not-answering" in kiosk.availability().reasons
    assert answers_within(lambda: client.get("/").status_code) == 503  # told at once, not after a hang
    release.set()
    assert until(lambda: kiosk.monitor.refresh()["card_printer"].ready)


def test_a_card_tap_on_a_hung_reader_is_answered_within_its_deadline(
        kiosk: SimulatedKiosk, release: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(kiosk)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    kiosk.sim.insert_card(next(iter(kiosk.sim.cards)))
    kiosk.card_reads.deadline_s = 0.5
    hang(kiosk.sim.pcsc, "connect", release, monkeypatch)  # pcscd frozen in the middle of a tap
    first = answers_within(lambda: client.post("/card/read"))
    assert (first.status_code, first.json["code"]) == (409, "not-answering")
    assert first.json["error"] == ID[READER_DOWN]  # the citizen is told to type the NIK, in Bahasa Indonesia
    second = answers_within(lambda: client.post("/card/read"), 0.3)  # refused at once, not queued behind the hang
    assert (second.status_code, second.json["code"]) == (409, "reader-busy")
    release.set()
    assert until(lambda: client.post("/card/read").status_code == 200)  # pcscd back: the tap works again
