#!/usr/bin/env python3
"""The full concurrent soak (``make soak``): simulated citizens on kiosks running at once, faults mid-job.

    .venv/bin/python tools/soak.py [--sessions 2000] [--kiosks 2] [--seed 2024] [--fault-rate 0.3]
                                   [--time-scale 0.01] [--keep DIR]

Printers take realistic seconds times ``--time-scale``. Prints progress, then sessions per
second, RSS growth and the witnesses' verdict (lost, doubled: from the paper, the simulated
hopper and central's deliveries); exits 1 if anything was lost or doubled or any check failed.
The figures go to var/reliability/soak-full.json for tools/reliability_report.py, with
``passed`` so the report refuses a failed run. See tests/reliability/soak.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reliability.results import record  # noqa: E402
from tests.reliability.soak import SoakResult, run_soak  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--kiosks", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--fault-rate", type=float, default=0.3)
    ap.add_argument("--time-scale", type=float, default=0.01, help="printer seconds are multiplied by this")
    ap.add_argument("--keep", type=Path, help="run in this directory and keep it (journals, paper, centrals)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the simulated central logs every request
    base = args.keep or Path(tempfile.mkdtemp(prefix="adm-soak-"))

    def progress(i: int, r: SoakResult) -> None:
        if i % 250 == 0:
            print(f"  {i} sessions, rss {r.rss_mb[-1]} MB", flush=True)

    print(f"soak: {args.sessions} sessions on {args.kiosks} kiosks, seed {args.seed}, fault rate {args.fault_rate}, "
          f"time scale {args.time_scale}, in {base}", flush=True)
    try:
        result = run_soak(base, args.sessions, args.seed, args.fault_rate, args.kiosks, args.time_scale,
                          progress=progress)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    summary = result.summary()
    passed = summary["lost"] == 0 and summary["doubled"] == 0 and not summary["violation_count"] \
        and result.sessions == args.sessions
    summary.update(seed=args.seed, fault_rate=args.fault_rate, time_scale=args.time_scale, passed=passed)
    record("soak-full", summary)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("violations", "faults")}, indent=1))
    for v in summary["violations"][:30]:
        print("violation:", v)
    print(f"{result.sessions} sessions in {result.seconds:.0f} s = {result.per_second:.1f}/s; "
          f"RSS {summary['rss_mb_first']} -> {summary['rss_mb_last']} MB (growth after warm-up "
          f"{result.rss_growth_mb} MB); lost {summary['lost']}, doubled {summary['doubled']}, "
          f"{summary['violation_count']} violation(s)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
