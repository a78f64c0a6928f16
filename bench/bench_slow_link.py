"""PIN accepted -> documents screen, three documents over a village link (1 Mbit/s, 300 ms RTT, stalls).

The simulated central sits behind the link shaper (hardware_sim/link_shaper.py); the kiosk's
real client fetches a KTP-el's card data, a KK and an akta kelahiran. Timed from central's
acceptance of the PIN (the redemption's answer), through the Flask app as the touchscreen
polls it, to two points: the documents listed on the screen ("Cetak" works from then on, each
row "downloading"), and every document ready on the screen (the figure beside the limit).
Beside it, from the same run:
- the limit: the bytes the redemption's answer and the downloads put on the link (the
  shaper's own count) over its bandwidth, plus one round trip measured through the same link (a GET /v1/health on a
  warm connection);
- the sequential fetch (``[central] parallel_fetch = 1``).
Each run has one stall (0.2 s, on the first connection that passes 2 kB towards the kiosk)
and starts cold: the citizen takes 6 s over the PIN, so no connection is left open from before.
Medians over ``--runs``; never fails on timing. Run: ``python bench/bench_slow_link.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(ROOT / "var" / "cache" / "escpos"))

BANDWIDTH = 1_000_000 / 8  # bytes/s: 1 Mbit/s
RTT = 0.3
STALL = {"stall_at_bytes": 2_000, "stall_s": 0.2}
TYPING_S = 6.0  # longer than httpx's 5 s keep-alive expiry: every run starts with cold connections


def one_run(k: Any, app: Any, parallel: int) -> tuple[float, float, float, float]:
    """(seconds to every document ready on the screen, the limit for the bytes it moved, the round trip measured,
    seconds to the documents listed)."""
    import httpx

    link = k.link
    k.sessions.parallel_fetch = parallel
    issued = k.issue_demo_pins()[1]  # KTP-el, KK, akta kelahiran
    c = app.test_client()
    c.post("/nik", data={"nik": issued.nik})
    time.sleep(TYPING_S)  # the citizen types the PIN: the client's idle keep-alive connections expire meanwhile
    link.configure(bandwidth_bps=BANDWIDTH, rtt_s=RTT, faults_left=1, **STALL)
    with httpx.Client(base_url=link.url) as ping:  # the round trip, on a warm connection through the same link
        ping.get("/v1/health")
        t = time.monotonic()
        ping.get("/v1/health")
        rtt = time.monotonic() - t
    before = link.counters()["down"]
    c.post("/pin", data={"pin": issued.pin})
    s = k.sessions.active()[0]
    downloads = s.downloads
    assert downloads is not None
    page = c.get("/documents").get_data(as_text=True)
    listed = time.monotonic() - downloads.started
    if len(re.findall(r'name="doc" value="', page)) != 3:
        raise RuntimeError("the documents were not listed")
    while True:
        status = c.get("/documents/status").get_json()
        if status.get("finished"):
            break
        time.sleep(0.01)
    took = time.monotonic() - downloads.started
    if status.get("failed") or {d["state"] for d in status["docs"].values()} != {"ready"}:
        raise RuntimeError("the documents did not arrive")
    moved = link.counters()["down"] - before
    c.post("/end")
    link.configure(bandwidth_bps=0, rtt_s=0, stall_at_bytes=0, stall_s=0, faults_left=None)
    return took, moved / BANDWIDTH + rtt, rtt, listed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    from kiosk.cli.composition import build_kiosk
    from tests.conftest import sim_config
    from ui import create_app

    base = Path(tempfile.mkdtemp(prefix="adm-bench-link-"))
    k = build_kiosk(sim_config(base, **{"sim.link_shaper": True}))
    k.start()
    app = create_app(k)
    app.config["WTF_CSRF_ENABLED"] = False
    results: dict[int, list[tuple[float, float, float, float]]] = {3: [], 1: []}
    try:
        for _ in range(args.runs):
            for parallel in results:  # interleaved, so both see the same machine
                results[parallel].append(one_run(k, app, parallel))
    finally:
        k.stop()
        shutil.rmtree(base, ignore_errors=True)

    print(f"three documents, 1 Mbit/s, {RTT * 1000:.0f} ms RTT, one {STALL['stall_s']} s stall per run; "
          f"medians of {args.runs} runs")
    print(f"{'PIN accepted -> documents screen (s)':36} {'listed':>7} {'all ready':>9} {'limit':>7} {'ratio':>6} "
          f"{'target':>8}")
    for parallel, label in ((3, "parallel fetch (3 at a time)"), (1, "sequential fetch (one at a time)")):
        took = statistics.median(r[0] for r in results[parallel])
        limit = statistics.median(r[1] for r in results[parallel])
        listed = statistics.median(r[3] for r in results[parallel])
        print(f"{label:36} {listed:7.3f} {took:9.2f} {limit:7.2f} {took / limit:5.2f}x {'<= 1.30x':>8}")
    rtts = [r[2] for rs in results.values() for r in rs]
    print(f"(stalls that hit a download: {k.link.counters()['stalls']} in {2 * args.runs} runs)")
    print(f"(limit = bytes the redemption and documents moved / bandwidth + one round trip measured through the link, "
          f"median {statistics.median(rtts) * 1000:.0f} ms; the ratio is 'all ready' over it; 'listed': the documents "
          f"on the screen, 'Cetak' enabled)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
