"""One kiosk process for the crash tests: ``python -m tests.reliability.crash_child BASE MODE [NIK PIN]``.

The parent sets ``ADM_CRASH_AT`` so this process dies with SIGKILL at a named point of the
print transaction (kiosk/faultpoints.py), then starts it again over the same directories.
Each run starts the kiosk the production way (``Kiosk.start()``, which runs recovery).

Modes:
- ``session``: a citizen identifies with NIK and PIN, chooses every document, prints,
  ends; the outbox is flushed. The crash is expected somewhere in here.
- ``recover``: start (recovery) and flush the outbox, nothing else.
- ``return``: start, flush, then the same citizen comes back with the same PIN and prints
  whatever central still offers (the PIN must still be valid for what did not print).
- ``selftest``: a technician runs the card printer's self-test on a slow printer (the
  parent kills the process while the card is in the printer).
- ``stuck``: without starting (no recovery), what the Faults page lists as stuck jobs.

The last line on stdout is a JSON summary for the parent. The printers outlive this
process: the in-process spool keeps its jobs under the output directory.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from kiosk.citizen.session import SessionError
from kiosk.cli.composition import build_kiosk
from kiosk.services import Kiosk
from kiosk.staff.maintenance import Maintenance
from tests.conftest import sim_config

# Long enough for "submitted" and "printer-done" to be different moments, and for the two lanes to overlap: the
# card and the KK are at their printers together, so a kill in one lane finds the other lane mid-job.
SECONDS_PER_JOB = {"card_printer": 0.3, "document_printer": 0.5}
SELF_TEST_SECONDS = 2.0  # a card self-test slow enough to be killed mid-print


def build(base: Path) -> Kiosk:
    k = build_kiosk(sim_config(base, **{"status.heartbeat_interval_s": 0}))
    for device, seconds in SECONDS_PER_JOB.items():
        k.sim.queue(device).seconds_per_job = seconds
    return k


def flush(k: Kiosk, timeout_s: float = 20) -> int:
    deadline = time.monotonic() + timeout_s
    while k.outbox.backlog() and time.monotonic() < deadline:
        k.outbox.flush()
        time.sleep(0.02)
    return k.outbox.backlog()


def citizen(k: Kiosk, nik: str, pin: str) -> dict[str, object]:
    """One visit: what central offered, what printed, what did not."""
    s = k.sessions.start(nik, "nik")
    try:
        result = k.sessions.submit_pin(s.id, pin)
    except SessionError as exc:
        k.sessions.end(s.id, "cancelled")
        return {"redeemed": False, "error": exc.code}
    if not result.ok:
        k.sessions.end(s.id, "cancelled")
        return {"redeemed": False, "error": "wrong-pin"}
    offered = sorted(d.kind.value for d in s.documents)
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 60)
    assert s.outcome is not None
    kinds = {d.id: d.kind.value for d in s.documents}
    out = {"redeemed": True, "offered": offered, "printed": sorted(kinds[i] for i in s.outcome.printed),
           "failed": sorted(kinds[i] for i in s.outcome.failed)}
    k.sessions.end(s.id)
    return out


def main(argv: list[str]) -> int:
    base, mode = Path(argv[0]), argv[1]
    k = build(base)
    summary: dict[str, object] = {"mode": mode}
    if mode == "stuck":
        summary["stuck"] = [{"purpose": j.purpose, "state": j.state, "serial": j.blank_serial}
                            for j in Maintenance(k).stuck_jobs()]
        k.stop()
        print(json.dumps(summary))
        return 0
    k.start()
    if mode == "selftest":
        k.sim.queue("card_printer").seconds_per_job = SELF_TEST_SECONDS
        summary["ok"] = Maintenance(k).self_test("T01", "card_printer").ok
    if mode == "session":
        summary["visit"] = citizen(k, argv[2], argv[3])
    summary["backlog"] = flush(k)
    if mode == "return":
        summary["visit"] = citizen(k, argv[2], argv[3])
        summary["backlog"] = flush(k)
    k.stop()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
