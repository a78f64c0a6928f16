"""Tap "Cetak" to "Selesai" for a KTP-el, a KK and an akta, against the printers' physical limit.

A fresh simulated kiosk per run (cold printers, as the first citizen of the morning finds
them), printers taking their profiles' ``[timing]`` (``[sim] realistic_timing``) times
``--scale``. A citizen (NIK and PIN already accepted) taps "Cetak"; the clock stops when the
session reaches "Selesai" (the done screen: every outcome known and the receipt cut). Each
run is done twice in the same process, with lanes (``[printing] parallel = true``) and in
today's sequential order (``parallel = false``), alternating, so both see the same machine.

The limit is measured in the same run from the simulated printers' own records (the spool's
start and end of each job, the receipt printer's first line and cut): the slowest printer's
busy time for its documents, plus the receipt, which can only start once the last outcome is
known. Its value from the profiles is shown beside it as a check on the simulator.

Reported at scale 1: the printers' time on the citizen's path (from the receipt back, each
time the job that ended last before the next began, again by the printers' own records) is
divided by the scale; the kiosk's own time on that path (planning, rendering, journaling,
polling the printers) is not, since it does not shrink with the printers. Medians over ``--runs``;
never fails on timing.

    .venv/bin/python bench/bench_print_flow.py [--runs N] [--scale S]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardware_sim import citizens  # noqa: E402
from kiosk.citizen.session import Step  # noqa: E402
from kiosk.cli.composition import build_kiosk  # noqa: E402
from kiosk.cli.simulation import SimulatedKiosk  # noqa: E402
from kiosk.config import load  # noqa: E402
from kiosk.model import Medium  # noqa: E402

TARGET = 1.05  # within 5% of the physical limit
CITIZEN = 1  # citizens.DEMO[1]: KTP-el, KK, akta kelahiran


@dataclass
class Run:
    flow_s: float  # "Cetak" to "Selesai", scaled
    card_s: float  # the card printer's own busy time for its documents, scaled
    a4_s: float
    receipt_s: float
    printing_s: float  # printers at work on the path from the tap to the cut receipt, scaled
    profile_limit_s: float  # the same limit from the profiles (scale 1)

    @property
    def limit_s(self) -> float:
        return max(self.card_s, self.a4_s) + self.receipt_s

    @property
    def own_s(self) -> float:
        """The kiosk's own time on the path: no printer on it at work."""
        return self.flow_s - self.printing_s


def path_s(jobs: list[tuple[float, float]], receipt: tuple[float, float]) -> float:
    """The printers' time on the path to the receipt's cut: the receipt, the job that ended last before it
    began, the job that ended last before that one began, and so on back to the tap."""
    total, (start, end), left = 0.0, receipt, list(jobs)
    while True:
        total += end - start
        before = [j for j in left if j[1] <= start + 1e-6]
        if not before:
            return total
        start, end = max(before, key=lambda j: j[1])
        left.remove((start, end))


def one_run(base: Path, scale: float, parallel: bool) -> Run:
    cfg = load(env={}, overrides={
        "sim.mode": "inprocess", "kiosk.data_dir": str(base / "data"), "sim.state_dir": str(base / "sim"),
        "sim.output_dir": str(base / "sim" / "output"), "sim.realistic_timing": True, "sim.timing_scale": scale,
        "printing.parallel": parallel, "status.heartbeat_interval_s": 0, "devices.poll_interval_s": 0.5})
    k = build_kiosk(cfg)
    assert isinstance(k, SimulatedKiosk) and k.sim is not None and k.central_server is not None
    k.start()
    try:
        ident, kinds = citizens.DEMO[CITIZEN]
        issued = k.central_server.sim.issue_pin(ident.nik, kinds)
        s = k.sessions.start(issued.nik, "nik")
        assert k.sessions.submit_pin(s.id, issued.pin).ok
        docs = list(s.documents)
        t0 = time.time()
        k.sessions.start_printing(s.id, [d.id for d in docs])  # the tap on "Cetak"
        while s.step is not Step.DONE and time.time() - t0 < 600 * scale + 30:
            time.sleep(0.005)
        flow = time.time() - t0
        assert s.outcome is not None and not s.outcome.failed, s.outcome
        jobs = {q: [(start, end) for _t, start, end, _o in k.sim.cups.timeline(q)] for q in ("card", "a4")}
        busy = {q: sum(end - start for start, end in intervals) for q, intervals in jobs.items()}
        receipt = k.sim.escpos.receipts[-1]
        printing = path_s([*jobs["card"], *jobs["a4"]], (receipt.started, receipt.ended))
        profiles = k.devices.profiles
        card_1 = sum(profiles["card_printer"].job_s(2) for d in docs if d.medium is Medium.CARD)
        a4_1 = sum(profiles["document_printer"].job_s(d.pages) for d in docs if d.medium is not Medium.CARD)
        receipt_1 = profiles["receipt_printer"].timing.receipt_time_s(k.sim.escpos.length_mm(receipt))
        k.sessions.end(s.id)
        return Run(flow, busy["card"], busy["a4"], receipt.ended - receipt.started, printing,
                   max(card_1, a4_1) + receipt_1)
    finally:
        k.stop()


def at_scale_1(r: Run, scale: float) -> tuple[float, float]:
    """(flow, limit) at scale 1: the printers' time unscaled, the kiosk's own time as it was."""
    return r.printing_s / scale + r.own_s, r.limit_s / scale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale", type=float, default=0.1)
    args = ap.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the simulated central's request log
    runs: dict[bool, list[Run]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="adm-bench-flow-") as tmp:
        for i in range(args.runs):
            for parallel in (True, False):
                runs[parallel].append(one_run(Path(tmp) / f"{i}-{parallel}", args.scale, parallel))
    print(f"Tap 'Cetak' to 'Selesai', KTP-el + KK + akta, cold printers; medians of {args.runs} runs at scale "
          f"{args.scale}, shown at scale 1")
    header = f"{'order':28} {'Cetak->Selesai':>15} {'limit':>8} {'x limit':>8} {'kiosk own':>10}  {'card / A4 / receipt':>22}"
    print(header)
    print("-" * len(header))
    for parallel, label in ((True, "lanes (parallel = true)"), (False, "sequential (parallel = false)")):
        rs = runs[parallel]
        flows, limits = zip(*(at_scale_1(r, args.scale) for r in rs), strict=True)
        flow, limit = statistics.median(flows), statistics.median(limits)
        own = statistics.median(r.own_s for r in rs)
        parts = " / ".join(f"{statistics.median(getattr(r, f) for r in rs) / args.scale:5.1f}"
                           for f in ("card_s", "a4_s", "receipt_s"))
        print(f"{label:28} {flow:13.2f} s {limit:6.2f} s {flow / limit:8.3f} {own * 1000:7.0f} ms  {parts:>20} s")
    profile_limit = statistics.median(r.profile_limit_s for r in runs[True])
    print(f"\nlimit = the slowest printer's own busy time for its documents + the receipt (after the last outcome),"
          f"\nfrom the simulated printers' timestamps; from the profiles: {profile_limit:.2f} s. "
          f"Target: lanes within {TARGET - 1:.0%} of the limit.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
