"""The kiosk's status snapshot, its Prometheus metrics and its heartbeat to central.

Central staff must know, without travelling, which kiosks are down, which run out of blanks
tomorrow and which printers keep failing. Everything here is read from the journal and the
device monitor's cache: a status request or a scrape never touches hardware or the network,
so it stays cheap and cannot wedge a printer. No personal data: counts, device states and
codes only; free text that could carry a NIK (device details, errors) is masked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from drivers.base import DeviceState
from kiosk import __version__
from kiosk.model import DocumentKind, mask_niks_in

if TYPE_CHECKING:
    from kiosk.services import Kiosk

log = logging.getLogger(__name__)
DAY_S = 86400.0
MODES = ("in_service", "out_of_service", "maintenance")


def _text(value: object, limit: int = 200) -> str:
    """Free text for the outside world: NIK-like digit runs masked, length bounded."""
    return mask_niks_in(str(value))[:limit]


def _midnight(now: float) -> float:
    return dt.datetime.combine(dt.date.fromtimestamp(now), dt.time.min).timestamp()


def _per_day(used: int, window_s: float) -> float:
    return round(used / (window_s / DAY_S), 3)


def _days_left(remaining: int, per_day: float) -> float | None:
    """None when nothing was used recently: "never runs out" is not a number to alert on."""
    return round(remaining / per_day, 2) if per_day > 0 else None


class Telemetry:
    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.registry = CollectorRegistry(auto_describe=False)  # per kiosk: several kiosks may share a process
        self.registry.register(KioskCollector(self))
        self._last_heartbeat = 0.0
        self.heartbeat_error = ""
        self._counts_lock = threading.Lock()
        self._counted: dict[tuple[str, str], int] = {}
        self._counted_upto = 0  # print_jobs IDs up to here are final and counted in _counted

    # -- the snapshot ----------------------------------------------------------------------

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """Everything central staff need about this kiosk, as one JSON-ready dict."""
        k = self.kiosk
        now = time.time() if now is None else now
        avail = k.availability()
        window_s = self._usage_window_s(now)
        return {
            "kiosk": {"id": k.cfg.kiosk.id, "location": k.cfg.kiosk.location},
            "software": {"version": __version__},
            "generated_at": round(now, 3),
            "started_at": round(k.started_at, 3),
            "uptime_s": round(max(0.0, now - k.started_at), 3),
            "mode": avail.mode,
            "availability": {"available": avail.available, "reasons": [_text(r) for r in avail.reasons]},
            "devices": self._devices(),
            "blanks": self._blanks(now, window_s),
            "supplies": self._supplies(now, window_s),
            "usage_window_days": round(window_s / DAY_S, 3),
            "today": self._today(now),
            "duty": self._duty(),
            "central": self._central(),
            "outbox": {"backlog": k.outbox.backlog(), "oldest_pending_age_s": round(k.outbox.oldest_pending_age_s(), 3)},
            "failed_components": self._failed_components(),
        }

    def _usage_window_s(self, now: float) -> float:
        """Recent use is averaged over the configured window, or the journal's age if younger (at least a day)."""
        first = self.kiosk.store.query_one("SELECT MIN(ts) FROM audit")[0] or self.kiosk.started_at
        return min(self.kiosk.cfg.status.usage_window_days * DAY_S, max(DAY_S, now - first))

    def _devices(self) -> dict[str, Any]:
        k = self.kiosk
        out = {}
        for name, st in sorted(k.monitor.statuses().items()):
            dc = k.devices.configs.get(name)
            out[name] = {
                "state": st.state.value, "ready": st.ready, "code": st.code, "detail": _text(st.detail),
                "media": st.media, "since": round(st.since, 3),
                "required": bool(dc and dc.required), "enabled": bool(dc and dc.enabled),
                "supplies": {s: v.to_dict() for s, v in sorted(st.supplies.items())},
            }
        return out

    def _blanks(self, now: float, window_s: float) -> dict[str, Any]:
        store = self.kiosk.store
        stock = dict(store.query("SELECT kind, COUNT(*) FROM blank_cards WHERE state='stock' GROUP BY kind"))
        used = dict(store.query("SELECT kind, COUNT(*) FROM blank_cards WHERE state IN ('consumed','printed','spoiled') "
                                "AND updated_at>=? GROUP BY kind", (now - window_s,)))
        kinds = {r[0] for r in store.query("SELECT DISTINCT kind FROM blank_cards")} | {DocumentKind.KTP_EL.value}
        out = {}
        for kind in sorted(kinds):
            per_day = _per_day(int(used.get(kind, 0)), window_s)
            left = int(stock.get(kind, 0))
            out[kind] = {"in_stock": left, "used_per_day": per_day, "days_left": _days_left(left, per_day)}
        return out

    def _supplies(self, now: float, window_s: float) -> list[dict[str, Any]]:
        """Every consumable with its forecast: prints in the window (citizens' and test prints alike: both use the
        printer) times what one print uses of it, from the printer's profile (the supply owner knows)."""
        store = self.kiosk.store
        use: dict[tuple[str, str], int] = {}
        for printer, prints in store.query(  # a print is a page; a card job has one
                "SELECT printer, SUM(pages) FROM print_jobs WHERE state='printed' AND updated_at>=? GROUP BY printer",
                (now - window_s,)):
            for name, n in self.kiosk.printing.supplies.consumption(printer, int(prints or 0)).items():
                use[(printer, name)] = n
        tracked = {(d, n) for d in self.kiosk.devices.profiles for n in self.kiosk.printing.supplies.consumption(d, 1)}
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
        store = self.kiosk.store
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
        k = self.kiosk
        prof = k.devices.profiles.get("card_printer")
        return {"card_printer": {"prints_today": k.printing.duty_today(),
                                 "limit_per_day": prof.duty_limit_per_day if prof else None}}

    def _central(self) -> dict[str, Any]:
        c = self.kiosk.central
        reachable = False if c.last_error else (True if c.last_ok else None)
        row = self.kiosk.store.query_one("SELECT MAX(sent_at) FROM outbox WHERE kind='heartbeat'")
        return {"reachable": reachable, "last_ok_at": round(c.last_ok, 3) or None, "last_error": _text(c.last_error),
                "last_heartbeat_at": round(row[0], 3) if row and row[0] else None}

    def _failed_components(self) -> list[dict[str, Any]]:
        """Supervised loops that are failing or not running (Moonraker's ``failed_components``)."""
        k = self.kiosk
        out = []
        for loop in (k.monitor.loop, k.background):
            if loop.failures:
                out.append({"name": loop.name, "state": "failing", "failures": loop.failures,
                            "error": _text(loop.last_error)})
            elif not loop.alive:
                out.append({"name": loop.name, "state": "stopped", "failures": 0, "error": ""})
        if self.heartbeat_error:
            out.append({"name": "heartbeat", "state": "failing", "failures": 1, "error": _text(self.heartbeat_error)})
        return out

    # -- metrics and heartbeat ------------------------------------------------------------

    def job_outcomes(self) -> dict[tuple[str, str], int]:
        """Finished jobs by (kind, outcome), counted incrementally: a year-old journal is not rescanned per scrape.

        Jobs up to the oldest one still open are final (a final job never changes again), so
        their counts are cached under a watermark; only the few jobs above it are counted afresh.
        """
        store = self.kiosk.store
        with self._counts_lock:
            oldest_open = store.query_one("SELECT MIN(id) FROM print_jobs WHERE state IN ('planned','submitted')")[0]
            watermark = oldest_open - 1 if oldest_open else int(store.query_one("SELECT MAX(id) FROM print_jobs")[0] or 0)
            if watermark > self._counted_upto:
                for kind, state, n in store.query(
                        "SELECT kind, state, COUNT(*) FROM print_jobs WHERE id>? AND id<=? AND state IN ('printed','failed') "
                        "AND purpose='citizen' "
                        "GROUP BY kind, state", (self._counted_upto, watermark)):
                    self._counted[(kind, state)] = self._counted.get((kind, state), 0) + n
                self._counted_upto = watermark
            out = dict(self._counted)
            for kind, state, n in store.query("SELECT kind, state, COUNT(*) FROM print_jobs WHERE id>? AND purpose='citizen' "
                                              "AND state IN ('printed','failed') GROUP BY kind, state", (self._counted_upto,)):
                out[(kind, state)] = out.get((kind, state), 0) + n
        return out

    def metrics(self) -> bytes:
        """The Prometheus text exposition (format 0.0.4) of this kiosk's registry."""
        return generate_latest(self.registry)

    def heartbeat_tick(self, now: float | None = None) -> bool:
        """Queues a heartbeat when one is due; called from the kiosk's background loop. Never raises.

        At most one heartbeat waits in the outbox: a new one replaces the pending one's
        payload, so a week without central queues one heartbeat, not ten thousand. Sent
        heartbeats older than a day are pruned (they are history central already has).
        """
        interval = self.kiosk.cfg.status.heartbeat_interval_s
        now = time.time() if now is None else now
        if not interval or now - self._last_heartbeat < interval:
            return False
        self._last_heartbeat = now
        try:
            snap = self.snapshot(now)
            with self.kiosk.store.tx() as db:
                cur = db.execute("UPDATE outbox SET payload=? WHERE kind='heartbeat' AND sent_at IS NULL",
                                 (json.dumps(snap, sort_keys=True),))
                if not cur.rowcount:
                    key = f"{snap['kiosk']['id']}:{self.kiosk.store.journal_id}:heartbeat:{now:.3f}"  # unique across journals
                    self.kiosk.store.enqueue(db, "heartbeat", key, snap)
                db.execute("DELETE FROM outbox WHERE kind='heartbeat' AND sent_at IS NOT NULL AND sent_at<?",
                           (now - DAY_S,))
        except Exception as exc:  # noqa: BLE001 - a telemetry fault must not stop reports or session reaping
            if not self.heartbeat_error:
                log.exception("heartbeat could not be queued")
            self.heartbeat_error = f"{type(exc).__name__}: {exc}"
            return False
        if self.heartbeat_error:
            log.info("heartbeat queued again")
        self.heartbeat_error = ""
        return True


class KioskCollector(Collector):
    """Builds every metric from one fresh snapshot per scrape (so they agree with each other)."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def collect(self) -> Iterator[Metric]:
        t0 = time.perf_counter()
        s = self.telemetry.snapshot()
        kid = s["kiosk"]["id"]

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=("kiosk", *labels))

        info = InfoMetricFamily("adm_kiosk", "Kiosk identity and software version.", labels=("kiosk",))
        info.add_metric([kid], {"location": s["kiosk"]["location"], "version": s["software"]["version"]})
        yield info
        start = gauge("adm_kiosk_start_time_seconds", "When the controller started (Unix time).")
        start.add_metric([kid], s["started_at"])
        yield start
        mode = gauge("adm_kiosk_mode", "1 for the current mode: in_service, out_of_service or maintenance.", ("mode",))
        for m in MODES:
            mode.add_metric([kid, m], 1.0 if s["mode"] == m else 0.0)
        yield mode
        avail = gauge("adm_kiosk_available", "1 when citizens can print (mode and required devices).")
        avail.add_metric([kid], 1.0 if s["availability"]["available"] else 0.0)
        yield avail

        ready = gauge("adm_device_ready", "1 when an enabled device is ready (online or busy).", ("device", "required"))
        state = gauge("adm_device_state", "1 for the device's current state in the status vocabulary.", ("device", "state"))
        dsupply = gauge("adm_device_supply_level", "1 for the level a device reports for a supply.",
                        ("device", "supply", "level"))
        for name, d in s["devices"].items():
            if d["enabled"]:
                ready.add_metric([kid, name, "true" if d["required"] else "false"], 1.0 if d["ready"] else 0.0)
            for st in DeviceState:
                state.add_metric([kid, name, st.value], 1.0 if d["state"] == st.value else 0.0)
            for sup, v in d["supplies"].items():
                dsupply.add_metric([kid, name, sup, v["level"]], 1.0)
        yield from (ready, state, dsupply)

        stock = gauge("adm_blanks_in_stock", "Blank cards journaled in stock, by document kind.", ("kind",))
        bused = gauge("adm_blanks_used_per_day", "Blank cards used per day over the recent window.", ("kind",))
        bleft = gauge("adm_blanks_days_left", "Days until blanks run out at recent use (absent: no recent use).", ("kind",))
        for kind, b in s["blanks"].items():
            stock.add_metric([kid, kind], b["in_stock"])
            bused.add_metric([kid, kind], b["used_per_day"])
            if b["days_left"] is not None:
                bleft.add_metric([kid, kind], b["days_left"])
        yield from (stock, bused, bleft)

        labels = ("device", "supply", "unit")
        rem = gauge("adm_supply_remaining", "Journaled supply left (ribbon prints, paper sheets...).", labels)
        cap = gauge("adm_supply_capacity", "Supply capacity when full.", labels)
        low = gauge("adm_supply_low_threshold", "At or below this the supply is low.", labels)
        sleft = gauge("adm_supply_days_left", "Days until the supply runs out at recent use (absent: unknown).", labels)
        for sup in s["supplies"]:
            lv = [kid, sup["device"], sup["name"], sup["unit"]]
            rem.add_metric(lv, sup["remaining"])
            cap.add_metric(lv, sup["capacity"])
            low.add_metric(lv, sup["low_at"])
            if sup["days_left"] is not None:
                sleft.add_metric(lv, sup["days_left"])
        yield from (rem, cap, low, sleft)

        today = gauge("adm_documents_today", "Documents today by kind and outcome (resets at local midnight).",
                      ("kind", "outcome"))
        for kind, d in s["today"]["documents"].items():
            for outcome, n in d.items():
                today.add_metric([kid, kind, outcome], n)
        yield today
        fails = gauge("adm_failures_today", "Failures today by kind (resets at local midnight).", ("failure",))
        for what, n in s["today"]["failures"].items():
            fails.add_metric([kid, what], n)
        yield fails
        sessions = gauge("adm_sessions_today", "Citizen sessions started today.")
        sessions.add_metric([kid], s["today"]["sessions"])
        yield sessions
        yield self._job_counters(kid)

        duty = s["duty"]["card_printer"]
        prints = gauge("adm_card_printer_prints_today", "Cards printed today (the duty cycle).")
        prints.add_metric([kid], duty["prints_today"])
        yield prints
        if duty["limit_per_day"]:
            limit = gauge("adm_card_printer_duty_limit", "The printer profile's safe cards per day.")
            limit.add_metric([kid], duty["limit_per_day"])
            yield limit

        central = s["central"]
        if central["reachable"] is not None:
            reach = gauge("adm_central_reachable", "1 when the last request to central succeeded.")
            reach.add_metric([kid], 1.0 if central["reachable"] else 0.0)
            yield reach
        if central["last_ok_at"]:
            ok = gauge("adm_central_last_ok_timestamp_seconds", "When central last answered (Unix time).")
            ok.add_metric([kid], central["last_ok_at"])
            yield ok
        backlog = gauge("adm_outbox_backlog", "Reports and heartbeats waiting for central.")
        backlog.add_metric([kid], s["outbox"]["backlog"])
        yield backlog
        age = gauge("adm_outbox_oldest_pending_age_seconds", "Age of the oldest undelivered outbox message.")
        age.add_metric([kid], s["outbox"]["oldest_pending_age_s"])
        yield age
        failed = gauge("adm_failed_components", "Supervised components failing or stopped.")
        failed.add_metric([kid], len(s["failed_components"]))
        yield failed
        cost = gauge("adm_status_snapshot_seconds", "How long this scrape's snapshot took to build.")
        cost.add_metric([kid], time.perf_counter() - t0)
        yield cost

    def _job_counters(self, kid: str) -> CounterMetricFamily:
        """All-time print outcomes from the journal: true counters, so ``increase()`` works across midnight."""
        jobs = CounterMetricFamily("adm_print_jobs", "Print jobs finished, by document kind and outcome.",
                                   labels=("kiosk", "kind", "outcome"))
        counts = self.telemetry.job_outcomes()
        for kind in DocumentKind:
            for outcome in ("printed", "failed"):
                jobs.add_metric([kid, kind.value, outcome], counts.get((kind.value, outcome), 0))
        return jobs
