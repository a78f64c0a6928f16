"""``adm-kiosk blanks report [--date YYYY-MM-DD] [--json]``: the daily blank report, from the journal.

Reads the kiosk's journal directly (no devices are started), so it works while the kiosk
runs: the same numbers central receives after midnight and the receipt printer prints from
the maintenance screen (kiosk/staff/blank_report.py). Exits 1 when the day does not
balance, 2 for a date that is not YYYY-MM-DD.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from typing import Any

from kiosk.config import load
from kiosk.journal.store import Store
from kiosk.staff.blank_report import DailyBlankReports, report_receipt


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("blanks", help="blank cards: the daily report")
    sub = p.add_subparsers(dest="blanks_command", required=True)
    r = sub.add_parser("report", help="a day's loaded, printed, spoiled and remaining blanks per kind")
    r.add_argument("--config", help="TOML settings file (ADM_* environment variables override it)")
    r.add_argument("--sim", action="store_true", help="the simulated kiosk's journal")
    r.add_argument("--date", default="", help="local date YYYY-MM-DD ([kiosk] timezone); default today so far")
    r.add_argument("--json", action="store_true", help="what central receives, as JSON")
    r.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    cfg = load(args.config, overrides={"sim.mode": "inprocess"} if args.sim else None)
    store = Store(cfg.data_dir / "journal.sqlite3")
    try:
        reports = DailyBlankReports(store, cfg.kiosk.id, cfg.kiosk.timezone)
        try:
            day = dt.date.fromisoformat(args.date) if args.date else reports.local_day(time.time())
        except ValueError:
            print(f"--date: expected YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
            return 2
        report, delivered = reports.build(day), reports.delivered(day)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"day": report.day.isoformat(), "timezone": report.timezone, "closed": report.closed,
                          "balanced": report.balanced, "delivered": delivered,
                          "kinds": [dataclasses.asdict(m) for m in report.kinds]}, indent=2))
    else:
        print(report_receipt(report, cfg.kiosk.location, delivered).text())
    return 0 if report.balanced else 1
