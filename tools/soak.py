#!/usr/bin/env python3
"""The full soak (``make soak``): 5,000 simulated citizens with random faults, then the ledger.

    .venv/bin/python tools/soak.py [--sessions 5000] [--seed 2024] [--fault-rate 0.25] [--keep DIR]

Prints progress, then sessions per second, RSS growth and the ledger (lost, doubled);
exits 1 if anything was lost or doubled or the ledger disagrees. The figures also go to
var/reliability/soak-full.json for tools/reliability_report.py. See tests/reliability/soak.py.
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
    ap.add_argument("--sessions", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--fault-rate", type=float, default=0.25)
    ap.add_argument("--keep", type=Path, help="run in this directory and keep it (journal, paper, central)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the simulated central logs every request
    base = args.keep or Path(tempfile.mkdtemp(prefix="adm-soak-"))

    def progress(i: int, r: SoakResult) -> None:
        if i and i % 500 == 0:
            print(f"  {i} sessions, {sum(r.faults.values())} faults, rss {r.rss_mb[-1]} MB", flush=True)

    print(f"soak: {args.sessions} sessions, seed {args.seed}, fault rate {args.fault_rate}, in {base}", flush=True)
    try:
        result = run_soak(base, args.sessions, args.seed, args.fault_rate, progress)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    summary = {**result.summary(), "seed": args.seed, "fault_rate": args.fault_rate}
    record("soak-full", summary)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("ledger", "faults")}, indent=1))
    print(f"{result.sessions} sessions in {result.seconds:.0f} s = {result.per_second:.1f}/s; "
          f"RSS {summary['rss_mb_first']} -> {summary['rss_mb_last']} MB (growth after warm-up "
          f"{result.rss_growth_mb} MB); lost {summary['lost']}, doubled {summary['doubled']}")
    return 0 if summary["lost"] == 0 and summary["doubled"] == 0 and not summary["violations"] else 1


if __name__ == "__main__":
    sys.exit(main())
