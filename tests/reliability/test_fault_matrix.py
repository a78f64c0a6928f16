"""The fault matrix: every fault the simulators can inject, at every step of the citizen flow.

For each (fault, step) a citizen with a KTP-el and a KK walks the real screens (Flask test
client): taps the e-KTP (typing the NIK instead if the card cannot be read, as the screen
tells them), enters the PIN, chooses both documents, prints, takes the receipt; then the
outbox delivers the reports. The fault is switched on just before its step. The row
records what the citizen saw and what the journal and central say; afterwards the
technician clears the fault, the outbox drains, and the ledger must balance (no blank
consumed, no paper without a record, nothing doubled, every print reported once, the PIN
still valid exactly when something did not print).

The rows go to var/reliability/fault_matrix.json; ``tools/reliability_report.py`` turns
them into the table in docs/reliability.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware_sim import citizens
from kiosk.cli.composition import build_kiosk
from kiosk.services import Kiosk
from tests.conftest import sim_config
from tests.reliability import ledger
from tests.reliability.results import record
from tests.reliability.soak import FAULTS, fast_central, technician_clears
from tests.screen import Screen
from ui import create_app

STEPS = ["identify", "pin", "print", "report"]
RECEIPT_FAILED = "Struk tidak dapat dicetak"  # the done page, in Bahasa Indonesia (the kiosk's default language)
ROWS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    """One kiosk for the whole matrix (the ledger is checked after every case, cumulatively)."""
    base = tmp_path_factory.mktemp("matrix")
    with fast_central():
        k = build_kiosk(sim_config(base, **{"central.retries": 1, "session.print_timeout_s": 10,
                                            "status.heartbeat_interval_s": 0}))
        k.start()
        k.background.stop()  # the matrix decides when the outbox is flushed
        for q in k.sim.cups.queues.values():
            q.seconds_per_job = 0.0
        yield k
        k.stop()
    record("fault_matrix", {"steps": STEPS, "faults": sorted(FAULTS), "rows": [ROWS[k] for k in sorted(ROWS)]})


def message(html: str) -> str:
    m = re.search(r'role="alert">([^<]+)<', html) or re.search(r'class="lead">([^<]+)<', html)
    return m.group(1).strip() if m else ""


def walk(k: Kiosk, fault: str, step: str) -> list[str]:
    """The citizen's visit; returns what they saw, step by step."""
    ident, _ = citizens.DEMO[0]
    issued = k.central_server.sim.issue_pin(ident.nik, citizens.DEMO[0][1])
    seen: list[str] = []
    screen = Screen(create_app(k).test_client())

    def inject(at: str) -> None:
        if at == step:
            FAULTS[fault](k)
            k.monitor.refresh()

    inject("identify")
    r = screen.get("/")
    if r.status_code == 503:
        return [f"welcome: 503 '{message(r.text)}'"]
    k.sim.insert_card(ident.nik)
    r = screen.post_json("/card/read")
    k.sim.pull_card()
    if r.status_code != 200:
        seen.append(f"e-KTP: {r.status_code} '{r.json.get('error', '')}' -> types NIK")
        r = screen.post("/nik", nik=ident.nik)
        if r.status_code != 302:
            return [*seen, f"NIK: {r.status_code} '{message(r.text)}'"]
    inject("pin")
    screen.get("/pin")
    r = screen.post("/pin", pin=issued.pin)
    if r.status_code != 302 or r.location != "/documents":
        return [*seen, f"PIN: {r.status_code} '{message(r.text)}'"]
    inject("print")
    docs = re.findall(r'name="doc" value="([^"]+)"', screen.get("/documents").text)
    r = screen.post("/print", doc=docs)
    if r.status_code != 302:
        return [*seen, f"print: {r.status_code} '{message(r.text)}'"]
    deadline = time.monotonic() + 30
    status: dict[str, Any] = {}
    while time.monotonic() < deadline and not status.get("done"):
        status = screen.c.get("/printing/status").json
        time.sleep(0.02)
    assert status.get("done"), "printing did not finish"
    for row in status["rows"]:
        seen.append(f"{row['title']}: {row['label']}" + (f" '{row['message']}'" if row["message"] else ""))
    done = screen.get("/done").text
    if RECEIPT_FAILED in done:
        seen.append("receipt: not printed, reference shown on screen")
    screen.post("/end")
    inject("report")
    k.outbox.flush()
    return seen


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


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_at_step(kiosk: Kiosk, fault: str, step: str, tmp_path: Path) -> None:
    k = kiosk
    first_job = k.store.query_one("SELECT COALESCE(MAX(id), 0) FROM print_jobs")[0]
    try:
        seen = walk(k, fault, step)
    finally:
        for s in k.sessions.active():
            k.sessions.wait_printed(s.id, 30)
            k.sessions.end(s.id, "abandoned")
    request = k.central_server.sim._db.execute(
        "SELECT id FROM requests WHERE nik=? ORDER BY created_at DESC LIMIT 1", (citizens.DEMO[0][0].nik,)).fetchone()[0]
    journal = journal_says(k, first_job, request)
    # the technician clears the fault; central is reachable again, the queued reports go out
    technician_clears(k)
    k.monitor.refresh()
    with k.store.tx() as db:
        db.execute("UPDATE outbox SET next_attempt_at=0 WHERE sent_at IS NULL")
    k.outbox.flush(500)
    base = Path(k.cfg.data_dir)
    led = ledger.audit(base, Path(k.cfg.sim.output_dir), Path(k.cfg.sim.state_dir) / "central.db", k.cfg.kiosk.id)
    printed = {r[0] for r in k.store.query("SELECT kind FROM print_jobs WHERE id>? AND state='printed'", (first_job,))}
    pin_state = k.central_server.sim.request_state(request)
    ROWS[f"{fault}|{STEPS.index(step)}"] = {"fault": fault, "step": step, "citizen_sees": seen, "journal": journal,
                                            "printed": sorted(printed), "lost": led.lost, "doubled": led.doubled}
    assert led.violations == [], led.violations
    assert (pin_state == "used") == (printed == {"ktp-el", "kk"}), (pin_state, printed)
