"""The kiosk's Prometheus metrics and its heartbeat to central, both made from the status snapshot.

A scrape or a heartbeat builds one snapshot (``kiosk.staff.status``) and turns it into
metrics or a payload, so the numbers agree with the status API's. Nothing here touches
hardware or the network; a telemetry fault never stops reports or session reaping.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from drivers.base import DeviceState
from kiosk.citizen.staff_calls import StaffCalls
from kiosk.config import StatusSection
from kiosk.journal.store import Store
from kiosk.model import DocumentKind
from kiosk.staff.service_mode import MODES
from kiosk.staff.status import DAY_S, StatusSnapshot, masked

log = logging.getLogger(__name__)


class Telemetry:
    def __init__(self, status: StatusSnapshot, store: Store, settings: StatusSection,
                 staff_calls: StaffCalls | None = None) -> None:
        self.status = status
        self.staff_calls = staff_calls
        self.store = store
        self.settings = settings
        self.registry = CollectorRegistry(auto_describe=False)  # per kiosk: several kiosks may share a process
        self.registry.register(KioskCollector(self))
        self._last_heartbeat = 0.0
        self.heartbeat_error = ""
        self._counts_lock = threading.Lock()
        self._counted: dict[tuple[str, str], int] = {}
        self._counted_upto = 0  # print_jobs IDs up to here are final and counted in _counted
        status.components.append(self._heartbeat_failure)

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The shared status snapshot (docs/status-api.yaml ``Status``)."""
        return self.status.build(now)

    def _heartbeat_failure(self) -> dict[str, Any] | None:
        if not self.heartbeat_error:
            return None
        return {"name": "heartbeat", "state": "failing", "failures": 1, "error": masked(self.heartbeat_error)}

    # -- metrics and heartbeat ------------------------------------------------------------

    def job_outcomes(self) -> dict[tuple[str, str], int]:
        """Finished jobs by (kind, outcome), counted incrementally: a year-old journal is not rescanned per scrape.

        Jobs up to the oldest one still open are final (a final job never changes again), so
        their counts are cached under a watermark; only the few jobs above it are counted afresh.
        """
        store = self.store
        with self._counts_lock:
            oldest_open = store.query_one("SELECT MIN(id) FROM print_jobs WHERE state IN ('planned','submitted')")[0]
            watermark = oldest_open - 1 if oldest_open else int(store.query_one("SELECT MAX(id) FROM print_jobs")[0] or 0)
            if watermark > self._counted_upto:
                for kind, state, n in store.query(
                        "SELECT kind, state, COUNT(*) FROM print_jobs WHERE id>? AND id<=? AND state IN ('printed','failed') "
                        "AND purpose='citizen' GROUP BY kind, state", (self._counted_upto, watermark)):
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
        interval = self.settings.heartbeat_interval_s
        now = time.time() if now is None else now
        if not interval or now - self._last_heartbeat < interval:
            return False
        self._last_heartbeat = now
        try:
            snap = self.snapshot(now)
            with self.store.tx() as db:
                cur = db.execute("UPDATE outbox SET payload=? WHERE kind='heartbeat' AND sent_at IS NULL",
                                 (json.dumps(snap, sort_keys=True),))
                if not cur.rowcount:
                    key = f"{snap['kiosk']['id']}:{self.store.journal_id}:heartbeat:{now:.3f}"  # unique across journals
                    self.store.enqueue(db, "heartbeat", key, snap)
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
        public = s["public"]
        is_open = gauge("adm_kiosk_open", "1 within the opening hours ([kiosk] opening_hours; always when none).")
        is_open.add_metric([kid], 1.0 if public["open_now"] else 0.0)
        yield is_open
        next_open = gauge("adm_kiosk_next_open_timestamp_seconds",
                          "When a closed kiosk opens again (Unix time); 0 while open. Alerts use it to tell closed "
                          "from down.")
        next_open.add_metric([kid], public["next_open_at"] or 0.0)
        yield next_open

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
        yield from self._staff_call_metrics(kid, s["kiosk"]["location"])
        cost = gauge("adm_status_snapshot_seconds", "How long this scrape's snapshot took to build.")
        cost.add_metric([kid], time.perf_counter() - t0)
        yield cost

    def _staff_call_metrics(self, kid: str, location: str) -> Iterator[Metric]:
        """1 while a citizen's call for staff is open (with the screen they called from), else 0; and all calls.
        No personal data: the kiosk, its location and a screen name."""
        calls = self.telemetry.staff_calls
        if calls is None:
            return
        call = calls.current()
        called = GaugeMetricFamily("adm_staff_called", "1 while a citizen's call for staff is open, else 0.",
                                   labels=("kiosk", "location", "screen"))
        called.add_metric([kid, location, call.screen if call else "none"], 1.0 if call else 0.0)
        yield called
        total = CounterMetricFamily("adm_staff_calls", "Calls for staff made by citizens on this kiosk.", labels=("kiosk",))
        total.add_metric([kid], calls.total())
        yield total

    def _job_counters(self, kid: str) -> CounterMetricFamily:
        """All-time print outcomes from the journal: true counters, so ``increase()`` works across midnight."""
        jobs = CounterMetricFamily("adm_print_jobs", "Print jobs finished, by document kind and outcome.",
                                   labels=("kiosk", "kind", "outcome"))
        counts = self.telemetry.job_outcomes()
        for kind in DocumentKind:
            for outcome in ("printed", "failed"):
                jobs.add_metric([kid, kind.value, outcome], counts.get((kind.value, outcome), 0))
        return jobs
