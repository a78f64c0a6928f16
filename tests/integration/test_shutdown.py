"""Defect 16 (issue 13): SIGTERM ends the kiosk as Ctrl-C does, through its cleanup.

``kill``, systemd and container runtimes send SIGTERM. A real ``python -m kiosk.cli run``
process gets it while a citizen's documents print: the print finishes and is journaled,
central is told (its own records are the witness, not the kiosk's journal), the process
exits 0, and in ``--sim=system`` every peer it started (pcscd, vpcd, cupsd, ippeveprinter,
the pty and camera servers) is gone afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from hardware_sim.cupsd import missing as cups_missing
from hardware_sim.pcscd import running_pcscd, unavailable

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_kiosk(base: Path, mode: str) -> tuple[subprocess.Popen[str], str]:
    """The kiosk in its own process, serving; its console goes to ``base/console.log``."""
    cfg = base / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{base / "data"}"\n[sim]\nstate_dir = "{base / "sim"}"\n'
                   f'output_dir = "{base / "sim" / "output"}"\n[status]\nheartbeat_interval_s = 0\n')
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", f"--sim={mode}", "--config", str(cfg),
                             "--port", str(port)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=(base / "console.log").open("w"), stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the kiosk exited at start:\n{(base / 'console.log').read_text()}")
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200 and "Printed output:" in console(base):
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the kiosk did not start serving")


def console(base: Path) -> str:
    return (base / "console.log").read_text()


def demo_pin(base: Path) -> tuple[str, str]:
    """The first demo citizen's NIK and PIN, from the banner the kiosk printed."""
    nik, pin = re.search(r"NIK (\d{16})  PIN (\d+)", console(base)).groups()  # type: ignore[union-attr]
    return nik, pin


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def start_printing(url: str, nik: str, pin: str) -> int:
    """A citizen types the NIK and PIN and prints every document offered; returns how many."""
    with httpx.Client(base_url=url, timeout=30) as c:
        token = csrf(c.get("/nik").text)
        assert c.post("/nik", data={"csrf_token": token, "nik": nik}).status_code == 302
        assert c.post("/pin", data={"csrf_token": token, "pin": pin}).status_code == 302
        docs = re.findall(r'name="doc" value="([^"]+)"', c.get("/documents").text)
        assert c.post("/print", data={"csrf_token": token, "doc": docs}).status_code == 302
        return len(docs)


def printed_reports(base: Path) -> int:
    with sqlite3.connect(base / "sim" / "central.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM reports WHERE outcome='printed'").fetchone()[0])


def kill_all(proc: subprocess.Popen[str], peers: list[psutil.Process]) -> None:
    """After a failed test: the kiosk and whatever it started, so no pcscd is left to block the next run."""
    for p in [*peers, psutil.Process(proc.pid)] if proc.poll() is None else peers:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def stop_with_sigterm(proc: subprocess.Popen[str], base: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("SIGTERM did not end the kiosk within 90 s")
    assert proc.returncode == 0, console(base)[-3000:]


def test_sigterm_during_a_print_finishes_it_and_reports_it(tmp_path: Path) -> None:
    proc, url = start_kiosk(tmp_path, "inprocess")
    try:
        count = start_printing(url, *demo_pin(tmp_path))
    except BaseException:
        proc.kill()
        raise
    stop_with_sigterm(proc, tmp_path)  # at once: the documents are still printing
    assert printed_reports(tmp_path) == count >= 2  # central heard of every document: none cut as by a crash
    with sqlite3.connect(tmp_path / "data" / "journal.sqlite3") as db:
        states = [r[0] for r in db.execute("SELECT state FROM print_jobs")]
    assert states == ["printed"] * count
    assert len(list((tmp_path / "sim" / "output").glob("*/*.pdf"))) == count  # and came out of the printers


system_reason = unavailable() or ", ".join(cups_missing())


@pytest.mark.integration
@pytest.mark.skipif(bool(system_reason), reason=f"system peers unavailable: {system_reason}")
def test_sigterm_stops_every_peer_of_a_system_simulation(tmp_path: Path) -> None:
    proc, _url = start_kiosk(tmp_path, "system")
    peers = psutil.Process(proc.pid).children(recursive=True)
    try:
        names = {p.name() for p in peers}
        assert {"pcscd", "cupsd"} <= names and any(n.startswith("ippeveprinter") for n in names), \
            (names, (tmp_path / "console.log").read_text()[-3000:])
        stop_with_sigterm(proc, tmp_path)
        _gone, alive = psutil.wait_procs(peers, timeout=10)
        assert alive == [], f"left running: {[p.name() for p in alive]}"
    finally:
        kill_all(proc, peers)
    assert running_pcscd() is None  # the next start finds pcscd's one slot free
