"""Peak RSS of the running kiosk through a citizen's print and a technician login, against the bare imports.

Each run starts ``python -m kiosk.cli run --sim`` in a fresh process with its own data
directory, creates a technician with ``adm-kiosk technician add --password-stdin``, walks a
citizen's pages, has the first demo citizen print the KK (an A4 document: one TTE check), then
logs in over HTTP as the touchscreen does (the login form with its CSRF token), opens the
dashboard and logs out. The peak is the kiosk process's own VmHWM from /proc, read before it
is stopped.

pyHanko runs outside the kiosk's process (the TTE validator, kiosk/printing/signature_worker.py,
and the simulated central's signer, hardware_sim/tte_sign_worker.py): the memory moved, it did not
vanish, so the validator's own VmHWM is reported too, read from its /proc while it is still alive.

The peer, measured in the same run: ``import flask, numpy, cv2, PIL`` in a fresh process,
which reads its own VmHWM. Not ``ru_maxrss``: after fork and exec Linux carries the parent's
peak into the child's ``ru_maxrss``, so a child would report the benchmark's own peak.

Medians over several runs; never fails on timing. Run: ``python bench/bench_memory.py``.
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

import httpx

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
TECH_ID, PASSWORD = "T-BENCH-01", "bench-password-9"
PEER = "import flask, numpy, cv2, PIL; print(open('/proc/self/status').read())"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vm_hwm_mb(status: str) -> float:
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def kiosk_env(base: Path) -> dict[str, str]:
    return dict(os.environ, ADM_KIOSK__DATA_DIR=str(base / "data"), ADM_SIM__STATE_DIR=str(base / "sim"),
                ADM_SIM__OUTPUT_DIR=str(base / "sim" / "out"),
                ESCPOS_CAPABILITIES_PICKLE_DIR=str(ROOT / "var" / "cache" / "escpos"))


def wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if client.get("/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("kiosk did not start: " + log.read_text()[-2000:])
        time.sleep(0.02)


def technician_login(client: httpx.Client) -> None:
    html = client.get("/maintenance/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post("/maintenance/login", data={"csrf_token": token, "tech_id": TECH_ID, "password": PASSWORD})
    if r.status_code != 302:
        raise RuntimeError(f"technician login answered {r.status_code}")
    if client.get("/maintenance/").status_code != 200:
        raise RuntimeError("the dashboard did not open after login")
    client.post("/maintenance/logout", data={"csrf_token": token})


def print_first_citizen(client: httpx.Client, log: Path) -> None:
    """The first demo citizen (NIK and PIN from the banner) prints the A4 document offered (the KK); waits."""
    deadline = time.monotonic() + 30
    while not (found := re.search(r"NIK (\d{16})  PIN (\d+)", log.read_text())):
        if time.monotonic() > deadline:
            raise RuntimeError("no demo PIN in the banner")
        time.sleep(0.05)
    nik, pin = found.groups()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/nik").text).group(1)  # type: ignore[union-attr]
    client.post("/nik", data={"csrf_token": token, "nik": nik})
    client.post("/pin", data={"csrf_token": token, "pin": pin})
    docs = [doc for doc, icon in re.findall(r'name="doc" value="([^"]+)"[^>]*>\s*<span class="icon icon-(\w+)"',
                                             client.get("/documents").text) if icon == "a4"]
    if client.post("/print", data={"csrf_token": token, "doc": docs}).status_code != 302 or not docs:
        raise RuntimeError("printing did not start")
    deadline = time.monotonic() + 60
    while not (status := client.get("/printing/status").json()).get("done"):
        if time.monotonic() > deadline:
            raise RuntimeError("printing did not finish")
        time.sleep(0.05)
    if [row["state"] for row in status["rows"]] != ["done"] * len(status["rows"]):
        raise RuntimeError(f"printing failed: {status['rows']}")


def validator_peak(kiosk_pid: int) -> float:
    """VmHWM of the kiosk's TTE validator process (a child running kiosk.printing.signature_worker), in MB."""
    for child in Path("/proc").iterdir():
        try:
            if (child.name.isdigit() and b"kiosk.printing.signature_worker" in (child / "cmdline").read_bytes()
                    and f"PPid:\t{kiosk_pid}\n" in (status := (child / "status").read_text())):
                return vm_hwm_mb(status)
        except OSError:
            continue
    raise RuntimeError("no TTE validator process after printing a KK")


def kiosk_peaks() -> tuple[float, float, float]:
    """(peak before the print and login, peak after them, the TTE validator's peak) of one fresh kiosk, in MB."""
    base = Path(tempfile.mkdtemp(prefix="adm-bench-mem-"))
    env = kiosk_env(base)
    try:  # the CLI reads the configuration only; in-process simulation is what `run --sim` uses
        subprocess.run([sys.executable, "-m", "kiosk.cli", "technician", "add", TECH_ID, "--password-stdin"],
                       input=PASSWORD + "\n", text=True, cwd=ROOT, env={**env, "ADM_SIM__MODE": "inprocess"},
                       check=True, capture_output=True)
        port = free_port()
        log = base / "kiosk.log"
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--sim", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        status = Path(f"/proc/{proc.pid}/status")
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                wait_ready(client, proc, log)
                for path in ("/", "/nik", "/help", "/static/kiosk.css", "/static/kiosk.js"):
                    client.get(path)
                before = vm_hwm_mb(status.read_text())
                print_first_citizen(client, log)
                technician_login(client)
                after = vm_hwm_mb(status.read_text())
                worker = validator_peak(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
        return before, after, worker
    finally:
        shutil.rmtree(base, ignore_errors=True)


def peer_peak() -> float:
    out = subprocess.run([sys.executable, "-c", PEER], capture_output=True, text=True, check=True, cwd=ROOT)
    return vm_hwm_mb(out.stdout)


def kiosk_peaks_retrying(tries: int = 3) -> tuple[float, float, float]:
    """``kiosk_peaks``, again on another port when the free port was taken meanwhile (other work on the machine)."""
    for _ in range(tries - 1):
        try:
            return kiosk_peaks()
        except RuntimeError as exc:
            if "Address already in use" not in str(exc):
                raise
    return kiosk_peaks()


def main() -> int:
    before, after, worker, peer = [], [], [], []
    for _ in range(RUNS):
        b, a, w = kiosk_peaks_retrying()
        before.append(b)
        after.append(a)
        worker.append(w)
        peer.append(peer_peak())
    rows = [("peak RSS, `run --sim`, citizen pages only (MB)", before, ""),
            ("peak RSS, `run --sim`, + printing a KK + technician login (MB)", after, "<= 150"),
            ("TTE validator process's own peak (MB)", worker, ""),
            ("peer: `import flask, numpy, cv2, PIL` (MB)", peer, "")]
    print(f"{'figure':60} {'median':>8} {'max':>8} {'target':>8}  peer")
    for name, values, target in rows:
        ratio = f"{statistics.median(values) / statistics.median(peer):.2f}x the peer" if values is not peer else ""
        print(f"{name:60} {statistics.median(values):8.1f} {max(values):8.1f} {target:>8}  {ratio}")
    print(f"({RUNS} runs, each a fresh kiosk process and a fresh peer process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
