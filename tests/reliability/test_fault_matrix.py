"""The fault matrix: faults mid-job with printers taking their (scaled) seconds, and at every step.

A citizen with a KTP-el and a KK walks the real screens (Flask test client): types the NIK
or taps the e-KTP, enters the PIN, chooses both documents, prints, sees the done page.

- **Mid-job** (``MID_JOB_CASES``): the card and the KK print side by side (a lane per printer);
  a fault waits in its own thread until a job is at the printer (printers take ``TIMING_S``
  seconds times ``SCALE``), so it hits one printer while the other prints, then jams it, empties its ribbon
  or tray, loses cupsd, takes central down or the receipt printer's paper. Each case says what
  the citizen must see, per document: the label and the message (Bahasa Indonesia, from the
  catalogue), and whether the receipt printed. A fault that found no job at the printer did
  not act: the case fails rather than pass for the wrong reason.
- **Between steps** (``FAULTS`` x ``STEPS``): each simulator switch just before a step. Such a
  fault *acted* when the citizen's visit or the journal differs from the fault-free visit; one
  that changed nothing (a printer jam switched on after the documents printed) is recorded and
  not counted as a fault survived.

After every case the technician clears the fault, the outbox drains, and the ledger must
balance against the witnesses (paper, the simulated hopper's count, central's deliveries).
The rows go to var/reliability/fault_matrix.json for tools/reliability_report.py, each with
its own lost and doubled (not the running totals).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hardware_sim import citizens
from kiosk.cli.composition import build_kiosk
from kiosk.i18n import translator
from kiosk.services import Kiosk
from tests.conftest import sim_config
from tests.reliability import ledger
from tests.reliability.results import record
from tests.reliability.soak import FAULTS, MID_JOB, Armed, Technician, fast_central, set_timing
from tests.screen import Screen
from ui import create_app

SCALE = 0.04  # mid-job: a card takes 1 s, an A4 page 0.24 s
STEP_SCALE = 0.004  # between steps the fault is on before the job: a card takes 0.1 s
STEPS = ["identify", "pin", "print", "report"]
_ = translator("id")  # the kiosk's default language
PRINTED, NOT_PRINTED = _("Printed"), _("Not printed")
NOT_PRINTED_MSG = _("The document was not printed. Your PIN is still valid.")
PIN_VALID = "PIN Anda tetap berlaku"
RECEIPT_FAILED = "Struk tidak dapat dicetak"
ROWS: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class Expect:
    """What the citizen must see: per document kind, the label and (for one not printed) the message;
    None: the kiosk cannot know (the printer went silent), but the row must end, with a message if not printed."""

    ktp: tuple[str, str] | None
    kk: tuple[str, str] | None
    receipt: bool = True
    pin_valid: bool = False


BOTH = Expect((PRINTED, ""), (PRINTED, ""))
MID_JOB_CASES: dict[str, Expect] = {
    "card-jam-mid-job": Expect((NOT_PRINTED, NOT_PRINTED_MSG), (PRINTED, ""), pin_valid=True),
    "card-ribbon-out-mid-job": Expect((NOT_PRINTED, NOT_PRINTED_MSG), (PRINTED, ""), pin_valid=True),
    "card-printer-error-mid-job": Expect((NOT_PRINTED, NOT_PRINTED_MSG), (PRINTED, ""), pin_valid=True),
    "a4-jam-mid-job": Expect((PRINTED, ""), (NOT_PRINTED, NOT_PRINTED_MSG), pin_valid=True),
    "a4-paper-out-mid-job": Expect((PRINTED, ""), (NOT_PRINTED, NOT_PRINTED_MSG), pin_valid=True),
    "cupsd-lost-mid-card-job": BOTH,  # back after 0.5 s: the job went on at the printer
    "cupsd-lost-mid-a4-job": BOTH,
    # both at their printers when cupsd goes: neither can be confirmed; the technician's re-check settles both
    "cupsd-gone-mid-card-job": Expect(None, None),
    "central-down-mid-job": BOTH,  # the reports wait in the outbox
    "central-503-mid-job": BOTH,
    "receipt-paper-out-mid-job": Expect((PRINTED, ""), (PRINTED, ""), receipt=False),
}
assert set(MID_JOB_CASES) == set(MID_JOB)


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    """One kiosk for the whole matrix (the ledger is checked after every case, over the whole history)."""
    base = tmp_path_factory.mktemp("matrix")
    with fast_central():
        k = build_kiosk(sim_config(base, **{"central.retries": 1, "session.print_timeout_s": 5,
                                            "status.heartbeat_interval_s": 0}))
        k.start()
        k.background.stop()  # the matrix decides when the outbox is flushed
        set_timing(k, SCALE)
        yield k
        k.stop()
    record("fault_matrix", {"steps": STEPS, "scale": SCALE, "step_scale": STEP_SCALE, "rows": [ROWS[k] for k in sorted(ROWS)]})


def message(html: str) -> str:
    """What the page tells the citizen; it fails the case when there is nothing (a page that says nothing, or
    markup this reading no longer finds: ``data-speak`` once hid every out-of-service message from it)."""
    m = re.search(r'role="alert"[^>]*>([^<]+)<', html) or re.search(r'class="lead"[^>]*>([^<]+)<', html)
    said = m.group(1).strip() if m else ""
    assert said, f"the citizen is told nothing: {html[-1500:]}"
    return said


@dataclass
class Visit:
    seen: list[str]
    rows: dict[str, tuple[str, str]]  # document kind title -> (label, message)
    receipt: bool = True
    statuses: tuple[int, ...] = ()


def walk(k: Kiosk, issued: Any, step_fault: tuple[str, str] | None = None, mid_job: str | None = None
         ) -> tuple[Visit, Armed | None]:
    """The citizen's visit; a between-steps fault (name, step) or a mid-job fault is switched on on the way."""
    ident = citizens.DEMO[0][0]
    seen: list[str] = []
    statuses: list[int] = []
    screen = Screen(create_app(k).test_client())

    def inject(at: str) -> None:
        if step_fault and step_fault[1] == at:
            FAULTS[step_fault[0]](k)
            k.monitor.refresh()

    def stopped(armed: Armed | None = None) -> tuple[Visit, Armed | None]:
        """The visit ended before the documents printed."""
        return Visit(seen, {}, True, tuple(statuses)), armed

    inject("identify")
    r = screen.get("/")
    statuses.append(r.status_code)
    if r.status_code == 503:
        seen.append(f"welcome: 503 '{message(r.text)}'")
        return stopped()
    k.sim.insert_card(ident.nik)
    r = screen.post_json("/card/read")
    k.sim.pull_card()
    statuses.append(r.status_code)
    if r.status_code != 200:
        seen.append(f"e-KTP: {r.status_code} '{r.json.get('error', '')}' -> types NIK")
        r = screen.post("/nik", nik=ident.nik)
        statuses.append(r.status_code)
        if r.status_code != 302:
            seen.append(f"NIK: {r.status_code} '{message(r.text)}'")
            return stopped()
    inject("pin")
    screen.get("/pin")
    r = screen.post("/pin", pin=issued.pin)
    statuses.append(r.status_code)
    if r.status_code != 302 or r.location != "/documents":
        seen.append(f"PIN: {r.status_code} '{message(r.text)}'")
        return stopped()
    inject("print")
    docs = re.findall(r'name="doc" value="([^"]+)"', screen.get("/documents").text)
    armed = Armed(k, mid_job, 10) if mid_job else None
    r = screen.post("/print", doc=docs)
    statuses.append(r.status_code)
    if r.status_code != 302:
        seen.append(f"print: {r.status_code} '{message(r.text)}'")
        return stopped(armed)
    deadline = time.monotonic() + 30
    status: dict[str, Any] = {}
    while time.monotonic() < deadline and not status.get("done"):
        status = screen.c.get("/printing/status").json
        time.sleep(0.02)
    assert status.get("done"), f"printing did not finish: {status}"
    rows = {}
    for row in status["rows"]:
        seen.append(f"{row['title']}: {row['label']}" + (f" '{row['message']}'" if row["message"] else ""))
        rows[row["title"]] = (row["label"], row["message"])
    done = screen.get("/done").text
    receipt = RECEIPT_FAILED not in done
    if not receipt:
        seen.append("receipt: not printed, reference shown on screen")
    screen.post("/end")
    inject("report")
    k.outbox.flush()
    return Visit(seen, rows, receipt, tuple(statuses)), armed


def journal_says(k: Kiosk, first_job: int, request_id: str) -> str:
    jobs = k.store.query("SELECT kind, state, error, blank_serial FROM print_jobs WHERE id>? ORDER BY id", (first_job,))
    parts = []
    for kind, state, error, serial in jobs:
        blank = ""
        if serial:
            blank = ", blank " + k.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (serial,))[0]
        parts.append(f"{kind} {state}{f' ({error})' if error else ''}{blank}")
    pending = k.outbox.backlog()
    if pending:
        parts.append(f"{pending} report(s) queued for retry")
    state = k.central_server.sim.request_state(request_id)
    parts.append("PIN still valid" if state == "ready" else f"PIN {state}")
    return "; ".join(parts) if jobs else "no job; " + parts[-1]


class Case:
    """One row: the visit, then the technician, the outbox, the ledger (only this case's lost and doubled)."""

    def __init__(self, k: Kiosk) -> None:
        self.k = k
        self.first_job = k.store.query_one("SELECT COALESCE(MAX(id), 0) FROM print_jobs")[0]
        self.before = ledger.audit_kiosk(k)
        ident, kinds = citizens.DEMO[0]
        self.issued = k.central_server.sim.issue_pin(ident.nik, kinds)

    def settle(self) -> tuple[str, ledger.Ledger, str]:
        k = self.k
        for s in k.sessions.active():
            k.sessions.wait_printed(s.id, 30)
            k.sessions.end(s.id, "abandoned")
        journal = journal_says(k, self.first_job, self.issued.request_id)
        tech = Technician(k)
        tech.clears()
        k.monitor.refresh()
        if tech.rechecks_stuck_jobs():
            journal += "; the technician settled a stuck job"
        end = time.monotonic() + 30
        while k.outbox.backlog() and time.monotonic() < end:
            with k.store.tx() as db:
                db.execute("UPDATE outbox SET next_attempt_at=0 WHERE sent_at IS NULL")
            k.outbox.flush(500)
        return journal, ledger.audit_kiosk(k), k.central_server.sim.request_state(self.issued.request_id)

    def row(self, key: str, **fields: Any) -> dict[str, Any]:
        ROWS[key] = fields
        return fields


def _delta(before: ledger.Ledger, after: ledger.Ledger) -> tuple[int, int, list[str]]:
    """This case's lost, doubled and violations: what the ledger says now and did not say before it
    (a hopper gap an earlier case left counts once, in that case)."""
    new = [v for v in after.violations if v not in before.violations and not v.startswith("the hopper holds")]
    if after.hopper_gap != before.hopper_gap:
        new.append(f"the hopper disagrees with the journal's stock by {after.hopper_gap:+d} (before: "
                   f"{before.hopper_gap:+d}): {[v for v in after.violations if v.startswith('the hopper holds')]}")
    return after.lost - before.lost, after.doubled - before.doubled, new


@pytest.fixture(scope="module")
def baseline(kiosk: Kiosk) -> Visit:
    """The fault-free visit every between-steps case is compared with."""
    case = Case(kiosk)
    visit, _armed = walk(kiosk, case.issued)
    _journal, led, pin = case.settle()
    assert led.violations == [] and pin == "used", (led.violations, pin)
    assert [label for label, _msg in visit.rows.values()] == [PRINTED, PRINTED], visit.seen
    return visit


@pytest.mark.parametrize("fault", sorted(MID_JOB_CASES))
def test_fault_mid_job(kiosk: Kiosk, baseline: Visit, fault: str) -> None:
    set_timing(kiosk, SCALE)
    case = Case(kiosk)
    visit, armed = walk(kiosk, case.issued, mid_job=fault)
    acted = armed is not None and armed.done()
    journal, led, pin = case.settle()
    lost, doubled, new = _delta(case.before, led)
    case.row(f"mid|{fault}", fault=fault, step="mid-job", acted=acted, citizen_sees=visit.seen, journal=journal,
             lost=lost, doubled=doubled)
    assert acted, f"{fault}: the fault found no job at the printer, so this case tested nothing"
    want = MID_JOB_CASES[fault]
    titles = {_(kind.title): kind.value for kind in citizens.DEMO[0][1]}
    got = {titles[t]: v for t, v in visit.rows.items()}
    assert set(got) == {"ktp-el", "kk"}, visit.seen
    for kind, expected in (("ktp-el", want.ktp), ("kk", want.kk)):
        label, msg = got[kind]
        if expected is None:
            assert label == PRINTED or (label == NOT_PRINTED and msg), visit.seen
        else:
            assert (label, msg) == expected, visit.seen
    assert visit.receipt == want.receipt, visit.seen
    assert (pin == "ready") == want.pin_valid, (pin, journal)
    assert new == [] and lost == 0 and doubled == 0, new


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_at_step(kiosk: Kiosk, baseline: Visit, fault: str, step: str) -> None:
    set_timing(kiosk, STEP_SCALE)
    case = Case(kiosk)
    visit, _armed = walk(kiosk, case.issued, step_fault=(fault, step))
    journal, led, pin = case.settle()
    lost, doubled, new = _delta(case.before, led)
    printed = {r[0] for r in kiosk.store.query("SELECT kind FROM print_jobs WHERE id>? AND state='printed'",
                                               (case.first_job,))}
    acted = visit.seen != baseline.seen or printed != {"ktp-el", "kk"} or "retry" in journal
    case.row(f"{fault}|{STEPS.index(step)}", fault=fault, step=step, acted=acted, citizen_sees=visit.seen,
             journal=journal, lost=lost, doubled=doubled)
    assert all(s < 500 or s == 503 for s in visit.statuses), visit.statuses  # 503: the out-of-service page
    for label, msg in visit.rows.values():
        assert label == PRINTED or PIN_VALID in msg, visit.seen  # a document not printed: the PIN is still valid
    assert new == [] and lost == 0 and doubled == 0, new
    assert (pin == "used") == (printed == {"ktp-el", "kk"}), (pin, printed)
