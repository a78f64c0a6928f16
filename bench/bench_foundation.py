"""Foundation figures: PIN -> first job, card face render, start-up to ready, peak RSS.

Each figure is printed next to a peer measured in the same run, so the ratio means
something on any machine. Never fails on timing. Run: ``python bench/bench_foundation.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(ROOT / "var" / "cache" / "escpos"))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# The peer reads its own VmHWM, in a fresh process. Not ``ru_maxrss``: Linux carries the parent's
# peak across fork and exec into the child's ``ru_maxrss``, so a child would report this benchmark's peak.
PEER = "import flask, numpy, cv2, PIL; print(open('/proc/self/status').read())"


def vm_hwm_mb(status: str) -> float:
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_pin_to_job(n: int = 30) -> tuple[list[float], list[float]]:
    import httpx

    from kiosk.cli.composition import build_kiosk
    from tests.conftest import sim_config
    from ui import create_app

    base = Path(tempfile.mkdtemp(prefix="adm-bench-"))
    k = build_kiosk(sim_config(base))
    k.start()
    app = create_app(k)
    app.config["WTF_CSRF_ENABLED"] = False
    times, floor = [], []
    peer = httpx.Client(base_url=k.central_server.url, verify=False)
    try:
        sim = k.central_server.sim
        for i in range(n):
            ident_nik = k.issue_demo_pins()[i % 2]
            c = app.test_client()
            c.post("/nik", data={"nik": ident_nik.nik})
            jobs_before = set(k.sim.cups.jobs)
            t0 = time.monotonic()
            c.post("/pin", data={"pin": ident_nik.pin})
            docs = re.findall(r'name="doc" value="([^"]+)"', c.get("/documents").text)
            c.post("/print", data={"doc": docs})
            while True:
                new = [j for j in k.sim.cups.jobs.values() if j.id not in jobs_before]
                if new:
                    times.append((min(j.submitted for j in new) - t0) * 1000)
                    break
                time.sleep(0.0005)
            sid = k.sessions.active()[0].id
            k.sessions.wait_printed(sid)
            c.post("/end")
            t = time.monotonic()
            peer.get("/v1/health")
            floor.append((time.monotonic() - t) * 1000)
            sim.faults.clear()
    finally:
        peer.close()
        k.stop()
        shutil.rmtree(base, ignore_errors=True)
    return times, floor


def bench_render(n: int = 40) -> tuple[list[float], list[float]]:
    import io

    import printer_profiles
    from hardware_sim import citizens
    from kiosk.model import DocumentKind
    from kiosk.printing.card_face import render_front

    prof = printer_profiles.load("evolis-primacy2")
    ident, _ = citizens.DEMO[0]
    photo, sig = citizens.photo_jpeg(ident), citizens.signature_png(ident)
    render, png = [], []
    for _ in range(n):
        t = time.perf_counter()
        img = render_front(DocumentKind.KTP_EL, ident, photo, sig, prof.size_px)
        render.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        img.save(io.BytesIO(), "PNG")
        png.append((time.perf_counter() - t) * 1000)
    return render, png


def run_kiosk(port: int, base: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ADM_KIOSK__DATA_DIR=str(base / "data"), ADM_SIM__STATE_DIR=str(base / "sim"),
               ADM_SIM__OUTPUT_DIR=str(base / "sim" / "out"))
    return subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--sim", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=(base / "kiosk.log").open("wb"))


def bench_startup(n: int = 3) -> tuple[list[float], list[float], list[float], list[float]]:
    import httpx

    starts, rss, peer_start, peer_rss = [], [], [], []
    for _ in range(n):
        base = Path(tempfile.mkdtemp(prefix="adm-bench-"))
        port = free_port()
        t = time.monotonic()
        proc = run_kiosk(port, base)
        try:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() - t > 30:
                    raise RuntimeError("kiosk did not start: " + (base / "kiosk.log").read_text()[-2000:])
                time.sleep(0.01)
            starts.append((time.monotonic() - t) * 1000)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:  # a citizen's worth of pages
                for path in ("/", "/nik", "/help", "/static/kiosk.css", "/static/kiosk.js"):
                    c.get(path)
            rss.append(vm_hwm_mb(Path(f"/proc/{proc.pid}/status").read_text()))
        finally:
            proc.terminate()
            proc.wait(10)
            shutil.rmtree(base, ignore_errors=True)
        t = time.monotonic()
        out = subprocess.run([sys.executable, "-c", PEER], capture_output=True, text=True, check=True)
        peer_start.append((time.monotonic() - t) * 1000)
        peer_rss.append(vm_hwm_mb(out.stdout))
    return starts, rss, peer_start, peer_rss


def main() -> int:
    rows = []
    pin, floor = bench_pin_to_job()
    rows.append(("PIN submitted -> first job submitted (ms)", statistics.median(pin), pct(pin, 95), "<= 150 p95",
                 f"{statistics.median(pin) / max(statistics.median(floor), 1e-6):.0f}x one bare HTTP round trip "
                 f"to central ({statistics.median(floor):.1f} ms)"))
    render, png = bench_render()
    rows.append(("card face render, 1011x638 @300 dpi (ms/face)", statistics.median(render), pct(render, 95),
                 "<= 50", f"{statistics.median(render) / statistics.median(png):.1f}x a PNG encode of the same face"))
    starts, rss, peer_start, peer_rss = bench_startup()
    rows.append(("start-up to ready, `adm-kiosk run --sim` (ms)", statistics.median(starts), max(starts), "<= 1500",
                 f"{statistics.median(starts) / statistics.median(peer_start):.1f}x `python -c 'import flask, numpy, cv2, PIL'`"))
    rows.append(("peak RSS of `adm-kiosk run --sim` (MB)", statistics.median(rss), max(rss), "<= 150",
                 f"{statistics.median(rss) / statistics.median(peer_rss):.1f}x the same imports alone in a fresh "
                 f"process ({statistics.median(peer_rss):.0f} MB)"))
    print(f"{'figure':50} {'median':>8} {'p95/max':>8} {'target':>11}  peer (medians, same run)")
    for name, med, hi, target, peer in rows:
        print(f"{name:50} {med:8.1f} {hi:8.1f} {target:>11}  {peer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
