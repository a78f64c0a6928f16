"""The daily blank report that Disdukcapil offices publish: per day and blank kind, loaded, printed, spoiled, remaining.

Each local day (``[kiosk] timezone``; the day closes at local midnight) is reported to
central once, through the outbox: the report is built from the blank owner's journal
(``blanks.blank_movements``, a read) and queued in one transaction with the
``blank_report_through`` setting, under the key ``<kiosk>:<journal>:blank-report:<day>``.
A kill before that commit leaves nothing queued and the same report is built again; a
kill after it leaves the report queued and the outbox sends it; a kill after central
acknowledged but before the outbox noted it sends it again and central answers
``duplicate``. Printed and spoiled are final states, so a rebuilt report of a closed day
is byte-for-byte the first one. Technicians print any day (today so far included) on the
receipt printer from the maintenance screen or ``adm-kiosk blanks report``.

What can go wrong: a kiosk off for weeks catches up at most ``CATCH_UP_DAYS`` days per
tick (oldest first); a journal with no blank yet reports nothing; the numbers always
balance (``opening + loaded - printed - spoiled == remaining``) because they are counted
from the same rows, and central refuses a report that does not.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from dataclasses import asdict, dataclass
from typing import Any

from kiosk.faultpoints import crash_point
from kiosk.journal.blanks import BlankMovement, blank_movements
from kiosk.journal.store import Store
from kiosk.printing.receipt import Line, Receipt

THROUGH_SETTING = "blank_report_through"  # the last local day queued for central (ISO date)
CATCH_UP_DAYS = 31
OUTBOX_KIND = "blank-report"
KIND_TITLES = {"ktp-el": "KTP-el", "kia": "KIA"}


@dataclass(frozen=True)
class BlankReport:
    kiosk: str
    day: dt.date
    timezone: str
    start: float
    end: float  # the day's end, or "now" for today so far
    closed: bool
    kinds: list[BlankMovement]

    @property
    def balanced(self) -> bool:
        return all(m.balanced for m in self.kinds)

    def payload(self, key: str) -> dict[str, Any]:
        """What central receives (docs/central-api.yaml, BlankReport): no time of building, so a rebuild is identical."""
        return {"idempotency_key": key, "kiosk": self.kiosk, "day": self.day.isoformat(), "timezone": self.timezone,
                "period": {"start": self.start, "end": self.end},
                "kinds": [asdict(m) for m in self.kinds]}


class DailyBlankReports:
    def __init__(self, store: Store, kiosk_id: str, timezone: str) -> None:
        self.store = store
        self.kiosk_id = kiosk_id
        self.timezone = timezone
        self._tz = zoneinfo.ZoneInfo(timezone)

    def local_day(self, ts: float) -> dt.date:
        return dt.datetime.fromtimestamp(ts, self._tz).date()

    def bounds(self, day: dt.date) -> tuple[float, float]:
        """Local midnight to local midnight, as Unix times."""
        start = dt.datetime.combine(day, dt.time.min, self._tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, self._tz)
        return start.timestamp(), end.timestamp()

    def key(self, day: dt.date) -> str:
        return f"{self.kiosk_id}:{self.store.journal_id}:blank-report:{day.isoformat()}"

    def build(self, day: dt.date, now: float | None = None) -> BlankReport:
        """``day``'s report; a day not over yet is counted up to ``now``."""
        now = time.time() if now is None else now
        start, end = self.bounds(day)
        closed = end <= now
        end = end if closed else max(start, now)
        return BlankReport(self.kiosk_id, day, self.timezone, start, end, closed,
                           blank_movements(self.store, start, end))

    def due(self, now: float | None = None) -> list[dt.date]:
        """Closed days not yet queued for central, oldest first (at most ``CATCH_UP_DAYS``)."""
        now = time.time() if now is None else now
        through = self.store.get_setting(THROUGH_SETTING)
        if through:
            first = dt.date.fromisoformat(through) + dt.timedelta(days=1)
        else:
            row = self.store.query_one("SELECT MIN(loaded_at) FROM blank_cards")
            if row is None or row[0] is None:
                return []
            first = self.local_day(float(row[0]))
        last = self.local_day(now) - dt.timedelta(days=1)
        days = (last - first).days + 1
        return [first + dt.timedelta(days=i) for i in range(max(0, min(days, CATCH_UP_DAYS)))]

    def queue_due(self, now: float | None = None) -> list[dt.date]:
        """Queues each closed day's report for central; returns the days queued. Called by the background tick."""
        now = time.time() if now is None else now
        queued = []
        for day in self.due(now):
            with self.store.tx() as db:  # the report and "reported through" together, or neither
                report = self.build(day, now)
                crash_point("blank-report-built")
                self.store.enqueue(db, OUTBOX_KIND, self.key(day), report.payload(self.key(day)))
                db.execute("INSERT INTO settings(key, value) VALUES (?,?) "
                           "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (THROUGH_SETTING, day.isoformat()))
            crash_point("blank-report-queued")
            queued.append(day)
        return queued

    def delivered(self, day: dt.date) -> bool | None:
        """Whether central acknowledged ``day``'s report: None when it was never queued (or pruned long after)."""
        row = self.store.query_one("SELECT sent_at FROM outbox WHERE idem_key=?", (self.key(day),))
        return None if row is None else row[0] is not None


def report_receipt(report: BlankReport, location: str, delivered: bool | None, columns: int = 48) -> Receipt:
    """The report as the receipt printer prints it for the office's records (technician-facing, Indonesian)."""
    rule = Line("-" * columns)
    until = "" if report.closed else f" s/d {dt.datetime.fromtimestamp(report.end, zoneinfo.ZoneInfo(report.timezone)):%H:%M}"
    lines = [Line("LAPORAN HARIAN BLANKO", bold=True, align="center"), Line(location, align="center"),
             Line(report.kiosk, align="center"),
             Line(f"Tanggal {report.day:%d-%m-%Y}{until} ({report.timezone})", align="center"), rule]
    for m in report.kinds:
        lines.append(Line(KIND_TITLES.get(m.kind, m.kind), bold=True))
        lines += [Line(_row(label, value, columns)) for label, value in (
            ("Stok awal", m.opening), ("Dimuat", m.loaded), ("Tercetak", m.printed), ("Rusak", m.spoiled),
            ("Sisa", m.remaining))]
    sent = ("hari belum selesai" if not report.closed else "terkirim ke pusat" if delivered
            else "menunggu pengiriman ke pusat" if delivered is False else "belum diantrekan")
    footer = [rule, Line("Seimbang" if report.balanced else "TIDAK SEIMBANG: hubungi Disdukcapil", bold=True),
              Line(f"Laporan ke pusat: {sent}")]
    return Receipt(lines, footer=footer)


def _row(label: str, value: int, columns: int) -> str:
    return f"  {label}".ljust(columns - 8) + f"{value:>8}"
