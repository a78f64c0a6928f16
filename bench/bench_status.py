"""Remote-status benchmark: snapshot cost, /api/v1/status and /metrics requests per second on
loopback, and Prometheus scrape duration per kiosk.

    .venv/bin/python bench/bench_status.py [--history-days 365] [--seconds 3] [--kiosks 10]

The kiosk's journal is first filled with a year of a busy kiosk's history (about 100 cards
and 150 A4 documents a day, with their audit rows), because the snapshot's cost grows with
the journal. The endpoint reads only the journal and the device cache, never hardware.
Every load loop is bounded in requests and seconds. It reports; it never fails on timing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(ROOT / "var" / "cache" / "escpos"))

import httpx  # noqa: E402

from kiosk.cli.composition import build_kiosk  # noqa: E402
from kiosk.config import load  # noqa: E402
from kiosk.services import Kiosk  # noqa: E402
from kiosk.staff.tokens import Tokens  # noqa: E402
from ui.api import StatusListener  # noqa: E402

MAX_REQUESTS = 20_000


def bench_kiosk(base: Path, kid: str) -> Kiosk:
    cfg = load(env={}, overrides={"sim.mode": "inprocess", "kiosk.id": kid, "kiosk.data_dir": str(base / "data"),
                                  "sim.state_dir": str(base / "sim"), "sim.output_dir": str(base / "sim" / "out"),
                                  "status.heartbeat_interval_s": 0})
    k = build_kiosk(cfg)
    k.start()
    return k


def fill_history(k: Kiosk, days: int) -> int:
    """A busy kiosk's journal: per day 100 card jobs, 150 A4 jobs, a session per 2 jobs, audit rows."""
    now = time.time()
    rows = 0
    with k.store.tx() as db:
        for d in range(days, 0, -1):
            day = now - d * 86400
            sid = f"bench-{d}"
            db.execute("INSERT INTO sessions(id, started_at, ended_at, state) VALUES (?,?,?,'ended')", (sid, day, day))
            jobs = [(sid, f"D{d}-{i}", "ktp-el" if i < 100 else "kk", "card_printer" if i < 100 else "document_printer",
                     "printed" if i % 40 else "failed", day + i, day + i) for i in range(250)]
            db.executemany("INSERT INTO print_jobs(session_id, document_id, kind, printer, state, created_at, updated_at) "
                           "VALUES (?,?,?,?,?,?,?)", jobs)
            db.executemany("INSERT INTO audit(ts, category, event, detail) VALUES (?, 'print', 'job-printed', '{}')",
                           [(day + i,) for i in range(250)])
            rows += 500
    return rows


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def load_test(url: str, token: str, seconds: float, clients: int, expect: int = 200) -> tuple[float, float, int]:
    """Requests per second and median latency (ms) with ``clients`` keep-alive clients, bounded.
    An empty ``token`` sends none (the peer: the same request refused at once with ``expect`` 401)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=5) as c:
            while time.monotonic() < stop_at:
                with lock:
                    if len(latencies) + errors[0] >= MAX_REQUESTS:
                        return
                t0 = time.perf_counter()
                ok = c.get(url).status_code == expect
                with lock:
                    if ok:
                        latencies.append((time.perf_counter() - t0) * 1000)
                    else:
                        errors[0] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 10)
    elapsed = time.perf_counter() - t0
    return len(latencies) / elapsed, statistics.median(latencies) if latencies else float("nan"), errors[0]


def scrape_durations(kiosks: list[tuple[Kiosk, StatusListener]], token: str, base: Path, wait_s: float) -> dict[str, float]:
    """Starts Debian's prometheus on loopback scraping every kiosk each second; returns scrape_duration_seconds stats."""
    import yaml

    prom = shutil.which("prometheus")
    if prom is None:
        return {}
    (base / "token").write_text(token)
    targets = [{"targets": [f"127.0.0.1:{listener.port}"], "labels": {"kiosk": k.cfg.kiosk.id}} for k, listener in kiosks]
    cfg = {"global": {"scrape_interval": "1s", "evaluation_interval": "10s"},
           "scrape_configs": [{"job_name": "adm-kiosk", "honor_labels": True, "scrape_timeout": "1s",
                               "authorization": {"type": "Bearer", "credentials_file": str(base / "token")},
                               "static_configs": targets}]}
    (base / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([prom, f"--config.file={base / 'prometheus.yml'}", f"--storage.tsdb.path={base / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(wait_s)
        q = httpx.get(f"http://127.0.0.1:{port}/api/v1/query", timeout=5,
                      params={"query": f'scrape_duration_seconds{{job="adm-kiosk"}}[{int(wait_s) - 1}s]'}).json()
        values = [float(v[1]) * 1000 for r in q["data"]["result"] for v in r["values"]]
        samples = httpx.get(f"http://127.0.0.1:{port}/api/v1/query", timeout=5,
                            params={"query": 'avg(scrape_samples_scraped{job="adm-kiosk"})'}).json()
        n = float(samples["data"]["result"][0]["value"][1]) if samples["data"]["result"] else float("nan")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if not values:
        return {}
    values.sort()
    return {"scrapes": len(values), "median": statistics.median(values), "p95": values[int(len(values) * 0.95) - 1],
            "max": values[-1], "samples": n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history-days", type=int, default=365)
    ap.add_argument("--seconds", type=float, default=3.0, help="per load test")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--kiosks", type=int, default=10, help="kiosks Prometheus scrapes")
    ap.add_argument("--scrape-seconds", type=float, default=8.0)
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="adm-bench-status-"))
    kiosks: list[tuple[Kiosk, StatusListener]] = []
    try:
        k = bench_kiosk(base / "k00", "ADM-BENCH-0000")
        rows = fill_history(k, args.history_days)
        token = Tokens(k.store).create("bench")
        empty_k = bench_kiosk(base / "empty", "ADM-BENCH-EMPTY")
        snap_full = timed(k.telemetry.snapshot, 100)
        snap_empty = timed(empty_k.telemetry.snapshot, 100)
        metrics = timed(k.telemetry.metrics, 50)
        listener = StatusListener(k, "127.0.0.1", 0).start()
        kiosks.append((k, listener))
        rps_status = load_test(listener.url + "/api/v1/status", token, args.seconds, args.clients)
        rps_metrics = load_test(listener.url + "/metrics", token, args.seconds, args.clients)
        rps_peer = load_test(listener.url + "/api/v1/status", "", args.seconds, args.clients, expect=401)
        for i in range(1, args.kiosks):
            ki = bench_kiosk(base / f"k{i:02d}", f"ADM-BENCH-{i:04d}")
            Tokens(ki.store).create("bench", token=token)
            kiosks.append((ki, StatusListener(ki, "127.0.0.1", 0).start()))
        scrape = scrape_durations(kiosks, token, base, args.scrape_seconds)
        empty_k.stop()

        def stats(xs: list[float]) -> str:
            xs = sorted(xs)
            return f"{statistics.mean(xs):8.2f} {statistics.median(xs):8.2f} {xs[int(len(xs) * 0.95) - 1]:8.2f}"

        print(f"journal: {rows} history rows ({args.history_days} days of a busy kiosk); loopback, {args.clients} clients")
        print(f"{'what':44} {'mean ms':>8} {'median':>8} {'p95':>8}")
        print(f"{'snapshot, fresh journal':44} {stats(snap_empty)}")
        print(f"{'snapshot, year-old busy journal':44} {stats(snap_full)}")
        print(f"{'/metrics body (collector + exposition)':44} {stats(metrics)}")
        print()
        print(f"{'endpoint (waitress, 4 threads)':44} {'req/s':>8} {'median':>8} {'errors':>8}")
        for name, (rps, med, err) in (("GET /api/v1/status", rps_status), ("GET /metrics", rps_metrics),
                                      ("peer: the same GET refused, no token (401)", rps_peer)):
            print(f"{name:44} {rps:8.0f} {med:8.2f} {err:8d}")
        print()
        if scrape:
            print(f"Prometheus scrape_duration_seconds, {len(kiosks)} kiosks scraped every 1 s for {args.scrape_seconds:.0f} s "
                  f"({scrape['scrapes']} scrapes, {scrape['samples']:.0f} samples each):")
            print(f"  median {scrape['median']:.2f} ms   p95 {scrape['p95']:.2f} ms   max {scrape['max']:.2f} ms per kiosk")
        else:
            print("Prometheus scrape duration: skipped (prometheus not installed: apt-get install prometheus)")
    finally:
        for ki, listener in kiosks:
            listener.stop()
            ki.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
