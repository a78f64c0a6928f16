"""Crash safety: SIGKILL the kiosk at every step of a print transaction, restart, check the ledger.

A citizen with a KTP-el (a blank card) and a KK (A4) prints, each in its printer's lane at
the same time; the kiosk process is killed at a named point (kiosk/faultpoints.py) the first
or second time it is reached, i.e. in the card job or the A4 job, mostly while the other
lane's job is at its printer (the spool's records at the kill say so, and the test checks
that most kills found both lanes at their printers). The printers outlive it (the spool is on disk, as cupsd's
is). Then the kiosk starts again (recovery), sometimes is killed again *during* recovery,
and finally starts cleanly and the same citizen comes back with the same PIN.

Afterwards journal, paper and central must agree (tests/reliability/ledger.py): no blank
left consumed, no paper without a record, nothing printed twice, every print reported to
central exactly once, and the PIN still valid for exactly what did not print.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hardware_sim import citizens
from hardware_sim.central import CentralSim
from tests.reliability import ledger
from tests.reliability.results import ROOT, record

KIOSK_ID = "ADM-SIM-0001"
# In transaction order. "report-delivered" is in the outbox: central has the report, the journal does not know yet.
POINTS = ["planned", "journaled", "blank-taken", "submitted", "job-id-written", "printer-done", "finished",
          "report-delivered"]
ONCE_PER_SESSION = {"planned", "journaled"}
SCENARIOS: list[tuple[str, ...]] = (
    [(f"{p}:1",) for p in POINTS]
    + [(f"{p}:2",) for p in POINTS if p not in ONCE_PER_SESSION]
    # killed again while recovery settles the first open job
    + [("printer-done:1", "recovery-settled:1"), ("submitted:2", "recovery-settled:1"),
       ("blank-taken:1", "recovery-settled:1")]
)


def run_child(base: Path, mode: str, crash_at: str | None, nik: str, pin: str) -> tuple[int, dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADM_")}
    if crash_at:
        env["ADM_CRASH_AT"] = crash_at
    proc = subprocess.run([sys.executable, "-m", "tests.reliability.crash_child", str(base), mode, nik, pin],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    summary: dict[str, object] = {}
    if proc.returncode == 0:
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
    elif proc.returncode != -signal.SIGKILL:
        raise AssertionError(f"{mode} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc.returncode, summary


def scenario(base: Path, crashes: tuple[str, ...]) -> dict[str, object]:
    """Runs one scenario; returns what happened and every invariant it broke."""
    ident, kinds = citizens.DEMO[0]  # KTP-el + KK
    sim = CentralSim(base / "sim" / "central.db")
    issued = sim.issue_pin(ident.nik, kinds)
    sim._db.close()
    problems: list[str] = []
    killed = 0
    lanes_at_kill: list[str] = []
    for i, point in enumerate(crashes):
        rc, _ = run_child(base, "session" if i == 0 else "recover", point, issued.nik, issued.pin)
        if rc != -signal.SIGKILL:
            problems.append(f"{point}: the crash point was never reached")
        killed += rc == -signal.SIGKILL
        if i == 0:
            lanes_at_kill = at_the_printers(base / "sim" / "output")
    rc, summary = run_child(base, "return", None, issued.nik, issued.pin)
    visit = summary.get("visit", {})
    assert isinstance(visit, dict)
    led = ledger.audit(base / "data", base / "sim" / "output", base / "sim" / "central.db", KIOSK_ID, hopper=True)
    problems += led.violations
    sim = CentralSim(base / "sim" / "central.db")
    states = sim.document_states(issued.request_id)
    request_state = sim.request_state(issued.request_id)
    sim._db.close()
    if states != {k.value: "printed" for k in kinds} or request_state != "used":
        problems.append(f"after the citizen's return central has {states}, request {request_state}")
    if led.paper != len(kinds):
        problems.append(f"{led.paper} documents on paper, expected {len(kinds)}")
    if visit.get("redeemed"):  # the PIN was still valid: for exactly what had not printed, and it printed now
        if visit.get("failed") or visit.get("printed") != visit.get("offered"):
            problems.append(f"the return visit did not print what central offered: {visit}")
    elif visit.get("error") not in ("no-documents", "wrong-pin"):  # all printed: central's "nothing ready" reads as a wrong PIN
        problems.append(f"the PIN was refused although not everything had printed: {visit}")
    return {"crashes": list(crashes), "killed": killed, "return_visit": visit, "problems": problems,
            "ledger": led.figures(), "lanes_at_kill": lanes_at_kill}


def at_the_printers(output_dir: Path) -> list[str]:
    """The queues that had received a job when the kiosk died: the simulated printers' own spool records."""
    return sorted({json.loads(p.read_text())["queue"] for p in (output_dir / ".spool").glob("*.json")})


def test_sigkill_at_every_step_of_the_print_transaction(tmp_path: Path) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:  # the machine has two cores; each child is one process
        futures = {crashes: pool.submit(scenario, tmp_path / f"s{i}", crashes)
                   for i, crashes in enumerate(SCENARIOS)}
        results = {" then ".join(c): f.result() for c, f in futures.items()}
    failures = {name: r["problems"] for name, r in results.items() if r["problems"]}
    both = [name for name, r in results.items() if r["lanes_at_kill"] == ["a4", "card"]]
    record("crash", {
        "killed_with_both_lanes_at_their_printers": len(both),
        "scenarios": len(results), "crashes_survived": sum(int(r["killed"]) for r in results.values()),
        "lost": sum(int(r["ledger"]["lost"]) for r in results.values()),  # type: ignore[index]
        "doubled": sum(int(r["ledger"]["doubled"]) for r in results.values()),  # type: ignore[index]
        "failures": len(failures), "seconds": round(time.monotonic() - started, 1),
        "by_scenario": {name: {"return_visit": r["return_visit"], "paper": r["ledger"]["paper"],  # type: ignore[index]
                               "blanks": r["ledger"]["blanks"], "problems": r["problems"]}  # type: ignore[index]
                        for name, r in results.items()},
    })
    assert not failures, json.dumps(failures, indent=1)
    # the card's data downloads first and the A4 lane waits for its PDF, so fewer kills find both printers busy
    # than before downloads overlapped printing (7 to 10 of 17 seen): the guard is that lanes really overlap
    assert len(both) >= len(results) // 3, f"only {both} were killed with both lanes at their printers"


def test_sigkill_during_a_card_self_test_is_settled_by_recovery(tmp_path: Path) -> None:
    """Issue 12: a kill -9 during a card self-test left its blank ``consumed`` for good; recovery, the Faults
    page and "record damaged blank" ignored it. A self-test is a journaled job: the Faults page lists it,
    recovery asks the printer and settles it, and journal, hopper and printer output agree."""
    base = tmp_path / "selftest"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADM_")}
    child = subprocess.Popen([sys.executable, "-m", "tests.reliability.crash_child", str(base), "selftest"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    spool = base / "sim" / "output" / ".spool"
    deadline = time.monotonic() + 60
    while not list(spool.glob("*.pdf")) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)  # the card is in the printer once cupsd holds its file
    assert child.poll() is None, "the self-test ended before it could be killed"
    child.send_signal(signal.SIGKILL)  # a real kill -9, mid-print
    child.wait(30)
    child.stderr.close()  # type: ignore[union-attr]

    rc, stuck = run_child(base, "stuck", None, "", "")
    assert rc == 0 and [(j["purpose"], j["state"]) for j in stuck["stuck"]] == [("self-test", "submitted")]  # type: ignore[index]
    rc, _ = run_child(base, "recover", None, "", "")
    assert rc == 0
    led = ledger.audit(base / "data", base / "sim" / "output", base / "sim" / "central.db", KIOSK_ID, hopper=True)
    assert led.violations == []
    assert led.blanks.get("consumed", 0) == 0 and led.blanks.get("spoiled") == 1  # the test card, spoiled
    assert led.test_prints == 1  # it did come out: the printer finished it while the kiosk was dead
