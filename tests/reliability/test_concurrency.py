"""Two requests at once: double taps, two sessions for one NIK, a cancel while a printer is slow.

The first release assumed one request at a time; these tests send them together, through
the real screens (Flask test client, one thread per tap), against printers that take time
(the simulated CUPS queues' ``seconds_per_job``) and a print server slow to answer a status
probe. Each asserts what a citizen, the hopper and central would notice, read from witnesses
the kiosk does not own: the files that came out of the simulated printers, the simulated
hopper's own count, the simulated central's reports and request states; the ledger
(tests/reliability/ledger.py) then compares those with the journal.

Timing offsets come from a seeded generator, so a failing run repeats with the same seed.
"""

from __future__ import annotations

import random
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware_sim import citizens
from hardware_sim.central import IssuedPin
from kiosk.model import DocumentKind
from kiosk.services import Kiosk
from tests.reliability import ledger
from tests.screen import Screen
from ui import create_app

COOKIE = "adm_citizen"
STILL_PRINTING = "Dokumen Anda sedang dicetak. Silakan tunggu sampai selesai."
NOTHING_READY = "Tidak ada dokumen yang siap dicetak untuk NIK ini."


class Citizen(Screen):
    """One browser on the touchscreen; ``tap()`` is a second request from the same browser (same cookie)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app.test_client())
        self.app = app

    def authenticated(self, issued: IssuedPin) -> list[str]:
        self.get("/")
        assert self.post("/nik", nik=issued.nik).location == "/pin"
        self.get("/pin")
        assert self.post("/pin", pin=issued.pin).location == "/documents"
        return re.findall(r'name="doc" value="([^"]+)"', self.get("/documents").text)

    def tap(self) -> Screen:
        other = Screen(self.app.test_client())
        cookie = self.c.get_cookie(COOKIE)
        assert cookie is not None
        other.c.set_cookie(COOKIE, cookie.value)
        other.token = self.token
        return other


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Iterator[Kiosk]:
    k = make_kiosk(**{"status.heartbeat_interval_s": 0})
    yield k


@pytest.fixture
def app(kiosk: Kiosk) -> Any:
    return create_app(kiosk)


def slow_print_server(kiosk: Kiosk, seconds: float) -> None:
    """cupsd answers a printer-status probe only after ``seconds`` (a loaded or half-frozen print server)."""
    cups = kiosk.sim.cups
    answer = cups.getPrinterAttributes

    def slow(*args: Any, **kw: Any) -> Any:
        time.sleep(seconds)
        return answer(*args, **kw)

    cups.getPrinterAttributes = slow


def slow_printers(kiosk: Kiosk, card_s: float, a4_s: float) -> None:
    kiosk.sim.queue("card_printer").seconds_per_job = card_s
    kiosk.sim.queue("document_printer").seconds_per_job = a4_s


# -- witnesses outside the journal ------------------------------------------------------------

def paper(kiosk: Kiosk) -> dict[str, int]:
    """What came out of the simulated printers: files in each queue's output."""
    return {q: len(kiosk.sim.cups.printed_files(q)) for q in ("card", "a4")}


def hopper(kiosk: Kiosk) -> int:
    """The simulated card printer's own count of blanks left in its hopper."""
    return int(kiosk.sim.queue("card_printer").hopper or 0)


def central_db(kiosk: Kiosk) -> Path:
    return Path(kiosk.cfg.sim.state_dir) / "central.db"


def printed_at_central(kiosk: Kiosk) -> Counter[str]:
    """Central's own records: how many "printed" reports it holds per document."""
    con = sqlite3.connect(f"file:{central_db(kiosk)}?mode=ro", uri=True)
    try:
        return Counter(r[0] for r in con.execute("SELECT document_id FROM reports WHERE outcome='printed'"))
    finally:
        con.close()


def drain(kiosk: Kiosk, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while kiosk.outbox.backlog() and time.monotonic() < deadline:
        with kiosk.store.tx() as db:
            db.execute("UPDATE outbox SET next_attempt_at=0 WHERE sent_at IS NULL")
        kiosk.outbox.flush()
        time.sleep(0.05)
    assert kiosk.outbox.backlog() == 0


def wait_workers(timeout_s: float = 30) -> None:
    """Every print worker has finished (a cancelled session's worker outlives the session)."""
    deadline = time.monotonic() + timeout_s
    for t in [t for t in threading.enumerate() if t.name.startswith("print-")]:
        t.join(max(0.0, deadline - time.monotonic()))
        assert not t.is_alive(), f"{t.name} still printing"


def balanced(kiosk: Kiosk) -> ledger.Ledger:
    wait_workers()
    drain(kiosk)
    led = ledger.audit(kiosk.cfg.data_dir, Path(kiosk.cfg.sim.output_dir), central_db(kiosk), kiosk.cfg.kiosk.id)
    assert led.violations == [] and led.lost == 0 and led.doubled == 0, led.violations
    return led


def wait_done(screen: Screen, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = screen.c.get("/printing/status").json
        if status and status.get("done"):
            return status  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("printing did not finish")


def at_once(*calls: tuple[float, Callable[[], Any]]) -> list[Any]:
    """Runs each call on its own thread after its delay; returns their results in order."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int, delay: float, fn: Callable[[], Any]) -> None:
        start.wait()
        time.sleep(delay)
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i, d, fn)) for i, (d, fn) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def card_kinds(kinds: list[DocumentKind]) -> int:
    return sum(1 for k in kinds if k.medium == "card")


# -- defect 1: a double tap on "Cetak" ------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_double_tap_on_print_prints_each_document_once(kiosk: Kiosk, app: Any, seed: int) -> None:
    rng = random.Random(seed)
    slow_print_server(kiosk, 0.05)  # what made the old window wide: the plan probed the printer
    slow_printers(kiosk, 0.1, 0.05)
    central = kiosk.central_server.sim
    for ident, kinds in citizens.DEMO[:3]:
        before_paper, before_hopper = paper(kiosk), hopper(kiosk)
        before_receipts = len(kiosk.sim.escpos.receipts)
        issued = central.issue_pin(ident.nik, kinds)
        citizen = Citizen(app)
        docs = citizen.authenticated(issued)
        second = citizen.tap()
        first_r, second_r = at_once(*[(delay, lambda s=screen, d=docs: s.post("/print", doc=d))
                                      for delay, screen in ((0.0, citizen), (rng.uniform(0, 0.03), second))])
        for r in (first_r, second_r):  # the second tap shows the same progress page, never an error
            assert r.status_code == 302 and r.location == "/printing", (r.status_code, r.location)
        status = wait_done(citizen)
        assert [row["state"] for row in status["rows"]] == ["done"] * len(kinds)
        citizen.post("/end")
        cards = card_kinds(kinds)
        assert paper(kiosk) == {"card": before_paper["card"] + cards, "a4": before_paper["a4"] + len(kinds) - cards}
        assert hopper(kiosk) == before_hopper - cards
        assert len(kiosk.sim.escpos.receipts) == before_receipts + 1  # one receipt, not two
    led = balanced(kiosk)
    assert set(printed_at_central(kiosk).values()) == {1} and led.reports_at_central == led.paper


def test_many_taps_at_once_print_once(kiosk: Kiosk, app: Any) -> None:
    slow_print_server(kiosk, 0.05)
    issued = kiosk.issue_demo_pins()[0]
    citizen = Citizen(app)
    docs = citizen.authenticated(issued)
    taps = [citizen.tap() for _ in range(6)]
    rng = random.Random(7)
    results = at_once(*[(rng.uniform(0, 0.02), lambda t=t: t.post("/print", doc=docs)) for t in taps])
    assert {(r.status_code, r.location) for r in results} == {(302, "/printing")}
    wait_done(citizen)
    assert paper(kiosk) == {"card": 1, "a4": 1}
    balanced(kiosk)
    assert printed_at_central(kiosk) == Counter({d: 1 for d in docs})


# -- defect 2: one live session per NIK; nothing printed again ------------------------------------

def test_the_same_nik_and_pin_again_while_the_first_prints(kiosk: Kiosk, app: Any) -> None:
    slow_print_server(kiosk, 0.3)
    slow_printers(kiosk, 0.5, 0.2)
    issued = kiosk.issue_demo_pins()[0]
    first = Citizen(app)
    docs = first.authenticated(issued)
    printing = threading.Thread(target=lambda: first.post("/print", doc=docs))
    printing.start()
    time.sleep(0.1)
    answers = []
    for _ in range(4):  # the citizen thinks it hung and starts over, again and again
        again = Citizen(app)
        again.get("/")
        r = again.post("/nik", nik=issued.nik)
        if r.status_code == 302:
            again.get("/pin")
            r = again.post("/pin", pin=issued.pin)
            if r.location == "/documents":
                again.post("/print", doc=re.findall(r'name="doc" value="([^"]+)"', again.get("/documents").text))
        answers.append(re.findall(r'role="alert">([^<]+)<', r.text))
    printing.join(30)
    wait_workers()
    assert paper(kiosk) == {"card": 1, "a4": 1}
    assert hopper(kiosk) == kiosk.devices.profiles["card_printer"].supplies["hopper"].capacity - 1
    assert [STILL_PRINTING] in answers  # told why, in the kiosk's language
    after = Citizen(app)  # once it is done: the documents are not offered again
    after.get("/")
    after.post("/nik", nik=issued.nik)
    after.get("/pin")
    r = after.post("/pin", pin=issued.pin)
    assert re.findall(r'role="alert">([^<]+)<', r.text) == [NOTHING_READY]
    balanced(kiosk)
    assert printed_at_central(kiosk) == Counter({d: 1 for d in docs})


def test_two_sessions_for_one_nik_at_once(kiosk: Kiosk, app: Any) -> None:
    """Two browsers authenticate the same NIK; both tap "Cetak" together: one session is live, one print."""
    slow_print_server(kiosk, 0.05)
    issued = kiosk.issue_demo_pins()[0]
    a, b = Citizen(app), Citizen(app)
    docs_a = a.authenticated(issued)
    docs_b = b.authenticated(issued)  # ends a's session: one live session per NIK
    results = at_once((0.0, lambda: a.post("/print", doc=docs_a)), (0.0, lambda: b.post("/print", doc=docs_b)))
    assert sorted(r.location for r in results) == ["/", "/printing"]
    wait_workers()
    assert paper(kiosk) == {"card": 1, "a4": 1}
    balanced(kiosk)
    assert set(printed_at_central(kiosk).values()) == {1}


# -- defect 2: a session that ends before a job reaches the printer prints nothing more ------------

def test_cancel_during_a_slow_print_stops_what_is_not_at_the_printer(kiosk: Kiosk, app: Any) -> None:
    """With a lane per printer the KTP-el and the KK are at their printers together; the akta waits its turn
    behind the KK. The citizen walks away then: both jobs at a printer finish, the akta never starts."""
    slow_printers(kiosk, 1.0, 0.3)
    central = kiosk.central_server.sim
    ident, kinds = citizens.DEMO[1]  # KTP-el, KK, akta kelahiran
    issued = central.issue_pin(ident.nik, kinds)
    citizen = Citizen(app)
    docs = citizen.authenticated(issued)
    assert citizen.post("/print", doc=docs).location == "/printing"
    deadline = time.monotonic() + 10
    while {j.queue for j in list(kiosk.sim.cups.jobs.values())} != {"card", "a4"} and time.monotonic() < deadline:
        time.sleep(0.01)  # the card and the KK are each at their printer
    assert citizen.post("/end").location == "/"  # the citizen walks away mid-print
    wait_workers()
    assert paper(kiosk) == {"card": 1, "a4": 1}  # what was at a printer finishes; the akta never starts
    assert kiosk.sim.escpos.receipts == []  # no receipt for the next person to pick up
    led = balanced(kiosk)
    assert led.reports_at_central == 2
    assert central.document_states(issued.request_id) == {"ktp-el": "printed", "kk": "printed",
                                                          "akta-kelahiran": "ready"}
    assert central.request_state(issued.request_id) == "ready"  # the PIN still valid for the akta
    again = Citizen(app)
    assert [d for d in again.authenticated(issued)] == [d for d in docs[2:]]
    assert again.post("/print", doc=docs[2:]).location == "/printing"
    wait_done(again)
    assert paper(kiosk) == {"card": 1, "a4": 2}
    balanced(kiosk)


@pytest.mark.parametrize("offset", [0.0, 0.05, 0.2])
def test_cancel_while_the_print_server_is_slow_prints_nothing(kiosk: Kiosk, app: Any, offset: float) -> None:
    slow_print_server(kiosk, 0.5)
    central = kiosk.central_server.sim
    issued = kiosk.issue_demo_pins()[0]
    citizen = Citizen(app)
    docs = citizen.authenticated(issued)
    cancel = citizen.tap()
    started = time.monotonic()
    printed_r, _ = at_once((0.0, lambda: citizen.post("/print", doc=docs)), (offset, lambda: cancel.post("/end")))
    answered_s = time.monotonic() - started
    assert printed_r.status_code == 302
    wait_workers()
    assert paper(kiosk) == {"card": 0, "a4": 0}
    assert answered_s < 0.5 + offset  # the print request never waited on the slow probe
    assert hopper(kiosk) == kiosk.devices.profiles["card_printer"].supplies["hopper"].capacity
    assert kiosk.printing.blanks_in_stock("ktp-el") == 80
    balanced(kiosk)
    assert printed_at_central(kiosk) == Counter()
    assert central.request_state(issued.request_id) == "ready"
    assert {e for (e,) in kiosk.store.query("SELECT error FROM print_jobs")} <= {"cancelled"}
    assert sorted(Citizen(app).authenticated(issued)) == sorted(docs)  # the same PIN offers both again


def test_a_session_that_ends_while_its_plan_is_made_prints_nothing(kiosk: Kiosk, app: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen = Citizen(app)
    docs = citizen.authenticated(issued)
    plan = kiosk.printing.plan

    def plan_then_timeout(documents: Any, **kw: Any) -> Any:
        made = plan(documents, **kw)
        kiosk.sessions.end(kiosk.sessions.active()[0].id, "timeout")  # the reaper, a new session, a cancel
        return made

    monkeypatch.setattr(kiosk.printing, "plan", plan_then_timeout)
    assert citizen.post("/print", doc=docs).location == "/printing"
    assert citizen.get("/printing").location == "/"
    wait_workers()
    assert paper(kiosk) == {"card": 0, "a4": 0}
    assert kiosk.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 0
    assert kiosk.central_server.sim.request_state(issued.request_id) == "ready"


def test_a_refused_plan_leaves_the_session_choosing(kiosk: Kiosk, app: Any) -> None:
    issued = kiosk.issue_demo_pins()[0]
    citizen = Citizen(app)
    docs = citizen.authenticated(issued)
    with kiosk.store.tx() as db:
        db.execute("UPDATE supplies SET remaining=0 WHERE name='paper'")
    r = citizen.post("/print", doc=docs)
    assert r.status_code == 409 and "Kertas printer dokumen habis" in r.text
    assert kiosk.store.query_one("SELECT state FROM sessions")[0] == "authenticated"
    with kiosk.store.tx() as db:
        db.execute("UPDATE supplies SET remaining=capacity WHERE name='paper'")
    assert citizen.post("/print", doc=docs).location == "/printing"
    wait_done(citizen)
    assert paper(kiosk) == {"card": 1, "a4": 1}
    balanced(kiosk)
