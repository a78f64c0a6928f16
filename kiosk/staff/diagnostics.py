"""Journal views, exports and the diagnostics bundle a technician takes back to the office.

Nothing personal leaves this way: print jobs show masked NIKs only, every text field is
passed through the NIK mask again on export, the configuration is ``cfg.redacted()``,
and the recent log lines come from a ring buffer behind the same NIK-masking filter as
the console.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import platform
import threading
import time
import zipfile
from collections import deque
from typing import Any

from kiosk import __version__
from kiosk.journal.reconciliation import from_store
from kiosk.journal.store import Store
from kiosk.logs import MaskNiks
from kiosk.model import mask_niks_in
from kiosk.staff.status import StatusSnapshot, local_view

EXPORTS = ("jobs", "audit", "devices")
JOB_COLUMNS = ("id", "created_at", "updated_at", "kind", "printer", "state", "blank_serial", "error", "nik_masked")
AUDIT_COLUMNS = ("id", "ts", "category", "event", "actor", "detail")


class RecentLogs(logging.Handler):
    """The last ``capacity`` log lines, NIK-masked, for the diagnostics bundle."""

    _installed: RecentLogs | None = None
    _lock_install = threading.Lock()

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.addFilter(MaskNiks())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(mask_niks_in(self.format(record)))
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)

    @classmethod
    def install(cls) -> RecentLogs:
        """One buffer on the root logger per process, however many apps are built (tests build many); put back
        when something replaced the root logger's handlers since (``setup_logging`` does)."""
        with cls._lock_install:
            if cls._installed is None:
                cls._installed = cls()
            root = logging.getLogger()
            if cls._installed not in root.handlers:
                root.addHandler(cls._installed)
            return cls._installed


def recent_jobs(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    rows = store.query("SELECT j.id, j.created_at, j.updated_at, j.kind, j.printer, j.state, j.blank_serial, j.error, "
                       "COALESCE(s.nik_masked, '') FROM print_jobs j LEFT JOIN sessions s ON s.id = j.session_id "
                       "ORDER BY j.id DESC LIMIT ?", (limit,))
    return [_clean(dict(zip(JOB_COLUMNS, tuple(r), strict=True))) for r in rows]


def audit_events(store: Store, limit: int = 200, devices: bool = False, category: str = "") -> list[dict[str, Any]]:
    """Audit rows, newest first: device events (``devices=True``) or everything else."""
    where = "category = 'device'" if devices else "category != 'device'"
    args: tuple[Any, ...] = ()
    if category and not devices:
        where += " AND category = ?"
        args = (category,)
    rows = store.query(f"SELECT id, ts, category, event, actor, detail FROM audit WHERE {where} ORDER BY id DESC LIMIT ?",
                       (*args, limit))
    out = []
    for r in rows:
        item = dict(zip(AUDIT_COLUMNS, tuple(r), strict=True))
        try:
            item["detail"] = json.loads(item["detail"])
        except ValueError:
            pass
        out.append(_clean(item))
    return out


def _clean(item: Any) -> Any:
    """Masks any NIK-shaped run in every string, however deep (defence in depth)."""
    if isinstance(item, str):
        return mask_niks_in(item)
    if isinstance(item, dict):
        return {k: _clean(v) for k, v in item.items()}
    if isinstance(item, list | tuple):
        return [_clean(v) for v in item]
    return item


def export(store: Store, what: str, fmt: str, limit: int = 5000) -> tuple[bytes, str]:
    """(body, mimetype) for jobs / audit / devices as CSV or JSON."""
    if what not in EXPORTS or fmt not in ("csv", "json"):
        raise ValueError(f"{what}.{fmt}")
    rows = recent_jobs(store, limit) if what == "jobs" else audit_events(store, limit, devices=what == "devices")
    if fmt == "json":
        return json.dumps(rows, indent=1, sort_keys=True, default=str).encode(), "application/json"
    columns = JOB_COLUMNS if what == "jobs" else AUDIT_COLUMNS
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([json.dumps(r[c], sort_keys=True) if isinstance(r[c], dict) else r[c] for c in columns])
    return buf.getvalue().encode(), "text/csv"


def status_snapshot(status: StatusSnapshot) -> dict[str, Any]:
    """The shared status snapshot as the dashboard shows it: from the caches only, never waits on a device."""
    return local_view(status.build(), str(status.cfg.data_dir))


def bundle(status: StatusSnapshot, logs: RecentLogs | None, actor: str) -> bytes:
    """A zip: redacted config, statuses, reconciliation, recent jobs, audit, device events, logs."""
    store, cfg = status.store, status.cfg
    files: dict[str, Any] = {
        "config.json": cfg.redacted(),
        "status.json": status_snapshot(status),
        "reconciliation.json": from_store(store, cfg.kiosk.id).to_dict(),
        "print_jobs.json": recent_jobs(store, 500),
        "audit.json": audit_events(store, 1000),
        "device_events.json": audit_events(store, 1000, devices=True),
        "about.json": {"version": __version__, "python": platform.python_version(), "platform": platform.platform(),
                       "generated_at": time.time(), "generated_by": actor, "schema_version": store.version},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, mask_niks_in(json.dumps(_clean(data), indent=1, sort_keys=True, default=str)))
        z.writestr("recent.log", "\n".join(logs.lines) + "\n" if logs else "")
    return buf.getvalue()
