"""The kiosk's one status snapshot: the status API, telemetry, diagnostics and doctor all read this.

Central staff must know, without travelling, which kiosks are down, which run out of
blanks tomorrow and which printers keep failing; a technician's dashboard and
``adm-kiosk doctor`` show the same facts. Everything is read from the journal and the
device monitor's cache: building a snapshot never touches hardware or the network, so it
stays cheap and cannot wedge a printer. No personal data: counts, device states and codes
only; free text that could carry a NIK (device details, errors) is masked. Its shape is
``Status`` in docs/status-api.yaml; the other views (``local_view``, ``doctor_report``)
are derived from it, never built beside it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Sequence
from typing import Any

from kiosk import __version__
from kiosk.citizen.central import CentralClient
from kiosk.config import Config
from kiosk.devices.builder import Devices
from kiosk.devices.monitor import DeviceMonitor
from kiosk.journal.blanks import BLANK_KINDS
from kiosk.journal.outbox import OutboxSender
from kiosk.journal.store import Store
from kiosk.model import DocumentKind, mask_niks_in
from kiosk.opening_hours import OpeningHours
from kiosk.printing.service import PrintService
from kiosk.speech import status as speech_status
from kiosk.staff.public_summary import public_summary
from kiosk.staff.service_mode import ServiceMode
from kiosk.supervise import SupervisedLoop

DAY_S = 86400.0
BLANKS_LOW_SETTING = "blanks_low_at"  # this kiosk's own threshold, set by central staff
BLANKS_LOW_DEFAULT = 10  # about a day of a busy kecamatan office's card prints
BLANKS_LOW_MAX = 10000
# a component that reports itself: None when fine, else {"name", "state", "failures", "error"}
ComponentCheck = Callable[[], dict[str, Any] | None]


def masked(value: object, limit: int = 200) -> str:
    """Free text for the outside world: NIK-like digit runs masked, length bounded."""
    return mask_niks_in(str(value))[:limit]


def _midnight(now: float) -> float:
    return dt.datetime.combine(dt.date.fromtimestamp(now), dt.time.min).timestamp()


def _per_day(used: int, window_s: float) -> float:
    return round(used / (window_s / DAY_S), 3)


def _days_left(remaining: int, per_day: float) -> float | None:
    """None when nothing was used recently: "never runs out" is not a number to alert on."""
    return round(remaining / per_day, 2) if per_day > 0 else None


def loop_failure(loop: SupervisedLoop) -> dict[str, Any] | None:
    """A supervised loop that is failing or not running (Moonraker's ``failed_components``)."""
    if loop.failures:
        return {"name": loop.name, "state": "failing", "failures": loop.failures, "error": masked(loop.last_error)}
    if not loop.alive:
        return {"name": loop.name, "state": "stopped", "failures": 0, "error": ""}
    return None


class StatusSnapshot:
    def __init__(self, cfg: Config, store: Store, devices: Devices, monitor: DeviceMonitor, service: ServiceMode,
                 printing: PrintService, outbox: OutboxSender, central: CentralClient, started_at: float,
                 components: Sequence[ComponentCheck] = (), hours: OpeningHours | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.devices = devices
        self.monitor = monitor
        self.service = service
        self.printing = printing
        self.outbox = outbox
        self.central = central
        self.started_at = started_at
        self.components: list[ComponentCheck] = list(components)
        self.hours = hours or OpeningHours.parse(cfg.kiosk.opening_hours)

    def build(self, now: float | None = None) -> dict[str, Any]:
        """Everything central staff need about this kiosk, as one JSON-ready dict."""
        hours_now = self.hours.clock() if now is None else now  # the kiosk's clock, as the session start reads it
        now = time.time() if now is None else now
        avail = self.service.availability()
        window_s = self._usage_window_s(now)
        blanks = self._blanks(now, window_s)
        return {
            "kiosk": {"id": self.cfg.kiosk.id, "location": self.cfg.kiosk.location},
            "software": {"version": __version__},
            "generated_at": round(now, 3),
            "started_at": round(self.started_at, 3),
            "uptime_s": round(max(0.0, now - self.started_at), 3),
            "mode": avail.mode,
            "availability": {"available": avail.available, "reasons": [masked(r) for r in avail.reasons]},
            "devices": self._devices(),
            "blanks": blanks,
            "supplies": self._supplies(now, window_s),
            "usage_window_days": round(window_s / DAY_S, 3),
            "today": self._today(now),
            "duty": self._duty(),
            "central": self._central(),
            "outbox": {"backlog": self.outbox.backlog(), "oldest_pending_age_s": round(self.outbox.oldest_pending_age_s(), 3)},
            "failed_components": [f for f in (check() for check in self.components) if f is not None],
            "public": public_summary(self.cfg.kiosk, avail, self.hours, self.printing, blanks, hours_now),
        }

    def _usage_window_s(self, now: float) -> float:
        """Recent use is averaged over the configured window, or the journal's age if younger (at least a day)."""
        first = self.store.query_one("SELECT MIN(ts) FROM audit")[0] or self.started_at
        return min(self.cfg.status.usage_window_days * DAY_S, max(DAY_S, now - first))

    def _devices(self) -> dict[str, Any]:
        out = {}
        for name, st in sorted(self.monitor.statuses().items()):
            dc = self.devices.configs.get(name)
            out[name] = {
                "state": st.state.value, "ready": st.ready, "code": st.code, "detail": masked(st.detail),
                "media": st.media, "since": round(st.since, 3),
                "required": bool(dc and dc.required), "enabled": bool(dc and dc.enabled),
                "supplies": {s: v.to_dict() for s, v in sorted(st.supplies.items())},
            }
        return out

    def _blanks(self, now: float, window_s: float) -> dict[str, Any]:
        store = self.store
        stock = dict(store.query("SELECT kind, COUNT(*) FROM blank_cards WHERE state='stock' GROUP BY kind"))
        used = dict(store.query("SELECT kind, COUNT(*) FROM blank_cards WHERE state IN ('consumed','printed','spoiled') "
                                "AND updated_at>=? GROUP BY kind", (now - window_s,)))
        kinds = {r[0] for r in store.query("SELECT DISTINCT kind FROM blank_cards")} | {DocumentKind.KTP_EL.value}
        low_at = self.blanks_low_at()
        out = {}
        for kind in sorted(kinds):
            per_day = _per_day(int(used.get(kind, 0)), window_s)
            left = int(stock.get(kind, 0))
            level = "out" if left <= 0 else "low" if left <= low_at else "ok"
            out[kind] = {"in_stock": left, "used_per_day": per_day, "days_left": _days_left(left, per_day),
                         "low_at": low_at, "level": level}
        return out

    def blanks_low_at(self) -> int:
        """At or below this many blanks in stock a kind is low (``PUT /api/v1/settings/blanks-low``)."""
        raw = self.store.get_setting(BLANKS_LOW_SETTING)
        return int(raw) if raw.isdigit() else BLANKS_LOW_DEFAULT

    def set_blanks_low_at(self, threshold: int, actor: str) -> None:
        if not 0 <= threshold <= BLANKS_LOW_MAX:
            raise ValueError(f"the threshold is 0 to {BLANKS_LOW_MAX} blanks")
        with self.store.tx() as db:
            db.execute("INSERT INTO settings(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (BLANKS_LOW_SETTING, str(threshold)))
            self.store.audit("supplies", "blanks-low-threshold", actor=actor, db=db, threshold=threshold)

    def _supplies(self, now: float, window_s: float) -> list[dict[str, Any]]:
        """Every consumable with its forecast: prints in the window (citizens' and test prints alike: both use the
        printer) times what one print uses of it, from the printer's profile (the supply owner knows)."""
        store = self.store
        supplies = self.printing.supplies
        use: dict[tuple[str, str], int] = {}
        for printer, prints in store.query(  # a print is a page; a card job has one
                "SELECT printer, SUM(pages) FROM print_jobs WHERE state='printed' AND updated_at>=? GROUP BY printer",
                (now - window_s,)):
            for name, n in supplies.consumption(printer, int(prints or 0)).items():
                use[(printer, name)] = n
        tracked = {(d, n) for d in self.devices.profiles for n in supplies.consumption(d, 1)}
        out = []
        for device, name, remaining, capacity, low_at, unit in store.query(
                "SELECT device, name, remaining, capacity, low_at, unit FROM supplies ORDER BY device, name"):
            per_day = _per_day(use.get((device, name), 0), window_s) if (device, name) in tracked else None
            level = "out" if remaining <= 0 else "low" if remaining <= low_at else "ok"
            out.append({"device": device, "name": name, "level": level, "remaining": remaining, "capacity": capacity,
                        "low_at": low_at, "unit": unit, "used_per_day": per_day,
                        "days_left": _days_left(remaining, per_day) if per_day is not None else None})
        return out

    def _today(self, now: float) -> dict[str, Any]:
        store = self.store
        since = _midnight(now)
        docs = {kind.value: {"printed": 0, "failed": 0, "pending": 0} for kind in DocumentKind}
        for kind, state, count in store.query("SELECT kind, state, COUNT(*) FROM print_jobs WHERE purpose='citizen' "
                                              "AND created_at>=? GROUP BY kind, state", (since,)):
            bucket = state if state in ("printed", "failed") else "pending"
            docs.setdefault(kind, {"printed": 0, "failed": 0, "pending": 0})[bucket] += count
        audit = {f"{c}/{e}": n for c, e, n in store.query(
            "SELECT category, event, COUNT(*) FROM audit WHERE ts>=? GROUP BY category, event", (since,))}
        device_faults = store.query_one(
            "SELECT COUNT(*) FROM audit WHERE ts>=? AND category='device' AND event='status' "
            "AND json_extract(detail, '$.state') NOT IN ('online', 'busy')", (since,))[0]
        return {
            "since": round(since, 3),
            "sessions": store.query_one("SELECT COUNT(*) FROM sessions WHERE started_at>=?", (since,))[0],
            "documents": docs,
            "failures": {
                "print_jobs_failed": sum(d["failed"] for d in docs.values()),
                "blanks_spoiled": store.query_one("SELECT COUNT(*) FROM blank_cards WHERE state='spoiled' "
                                                  "AND updated_at>=?", (since,))[0],
                "plans_refused": audit.get("print/plan-refused", 0),
                "device_faults": device_faults,
                "receipts_failed": audit.get("print/receipt-failed", 0),
                "central_errors": audit.get("central/redeem-failed", 0),
                "pin_lockouts": audit.get("security/pin-lockout", 0),
            },
        }

    def _duty(self) -> dict[str, Any]:
        prof = self.devices.profiles.get("card_printer")
        return {"card_printer": {"prints_today": self.printing.duty_today(),
                                 "limit_per_day": prof.duty_limit_per_day if prof else None}}

    def _central(self) -> dict[str, Any]:
        c = self.central
        reachable = False if c.last_error else (True if c.last_ok else None)
        row = self.store.query_one("SELECT MAX(sent_at) FROM outbox WHERE kind='heartbeat'")
        return {"reachable": reachable, "last_ok_at": round(c.last_ok, 3) or None, "last_error": masked(c.last_error),
                "last_heartbeat_at": round(row[0], 3) if row and row[0] else None}


def local_view(snap: dict[str, Any], data_dir: str) -> dict[str, Any]:
    """The snapshot as the maintenance dashboard and the diagnostics bundle show it (flat keys)."""
    return {
        "version": snap["software"]["version"], "kiosk": snap["kiosk"]["id"], "mode": snap["mode"],
        "available": snap["availability"]["available"], "reasons": snap["availability"]["reasons"],
        "uptime_s": round(snap["uptime_s"]), "devices": snap["devices"],
        "central": {"last_ok": snap["central"]["last_ok_at"] or 0.0, "last_error": snap["central"]["last_error"],
                    "outbox_backlog": snap["outbox"]["backlog"],
                    "oldest_pending_s": round(snap["outbox"]["oldest_pending_age_s"])},
        "disk_free_mb": shutil.disk_usage(data_dir).free // 2**20,
        "supplies": snap["supplies"],
        "blanks_in_stock": {k: snap["blanks"].get(k, {}).get("in_stock", 0) for k in BLANK_KINDS},
        "failed_components": snap["failed_components"],
    }


def doctor_report(snap: dict[str, Any], config_source: str, data_dir: str, central_reachable: bool,
                  central_error: str) -> dict[str, Any]:
    """What ``adm-kiosk doctor`` prints: the snapshot plus a live check of central.

    A kiosk that cannot reach central cannot redeem a PIN, so it is not available, and the
    reason says so (the status snapshot alone reads central's state from the last request).
    """
    reasons = list(snap["availability"]["reasons"])
    if not central_reachable:
        reasons.append(f"central: unreachable ({masked(central_error) or 'no answer'})")
    return {
        "version": snap["software"]["version"], "kiosk": snap["kiosk"]["id"], "config": config_source or "(defaults)",
        "mode": snap["mode"], "available": snap["availability"]["available"] and central_reachable, "reasons": reasons,
        "devices": snap["devices"],
        "central": {"reachable": central_reachable, "outbox_backlog": snap["outbox"]["backlog"]},
        "disk_free_mb": shutil.disk_usage(data_dir).free // 2**20,
        "speech": speech_status(),  # spoken guidance is not required: a silent kiosk still serves, and says why
    }
