"""Defect 6 (issue 13) on the real stack: pcscd and cupsd frozen with SIGSTOP must not take the UI down.

A ``python -m kiosk.cli run --sim=system`` kiosk talks to a real pcscd (vpcd reader) and a
private cupsd. With both stopped, every pyscard and libcups call blocks. The welcome page, its
card poll (a dozen at once, as several screens' timers would) and the maintenance login must
still answer within a second, and the devices read as not answering; once the peers go on,
the kiosk serves again. Needs the one pcscd slot: run under ``flock /tmp/adm-pcscd.lock``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from hardware_sim.cupsd import missing as cups_missing
from hardware_sim.pcscd import unavailable
from kiosk.cli.simulation import SimulatedKiosk
from tests.integration.test_shutdown import ROOT, csrf, kill_all, start_kiosk, stop_with_sigterm

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
_reason = unavailable() or ", ".join(cups_missing())
if _reason:
    pytest.skip(f"system peers unavailable: {_reason}", allow_module_level=True)
BOUND_S = 1.0
PASSWORD = "correct-horse-9"


def timed(call: Callable[[], httpx.Response]) -> tuple[float, int]:
    t0 = time.perf_counter()
    status = call().status_code
    return time.perf_counter() - t0, status


def test_frozen_pcscd_and_cupsd_leave_the_ui_and_login_answering(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    cfg_env = {**os.environ, "PYTHONPATH": str(ROOT), "ADM_KIOSK__DATA_DIR": str(tmp_path / "data"),
               "ADM_SIM__MODE": "system"}
    subprocess.run([sys.executable, "-m", "kiosk.cli", "technician", "add", "T01", "--password-stdin"], input=PASSWORD,
                   text=True, check=True, cwd=ROOT, env=cfg_env, capture_output=True, timeout=60)
    proc, url = start_kiosk(tmp_path, "system")
    peers = psutil.Process(proc.pid).children(recursive=True)
    frozen = [p for p in peers if p.name() in ("pcscd", "cupsd")]
    try:
        assert {p.name() for p in frozen} == {"pcscd", "cupsd"}, (tmp_path / "console.log").read_text()[-3000:]
        with httpx.Client(base_url=url, timeout=30) as c:
            c.get("/poll")
            for p in frozen:
                p.send_signal(signal.SIGSTOP)
            deadline = time.monotonic() + 20  # until the monitor's probes, stuck in pyscard and libcups, time out
            while (page := timed(lambda: c.get("/")))[1] != 503 and time.monotonic() < deadline:
                assert page[0] < BOUND_S, f"the welcome page took {page[0]:.3f} s"
                time.sleep(0.2)
            times: list[tuple[float, int]] = []
            polls = [threading.Thread(target=lambda: times.append(timed(lambda: httpx.get(url + "/poll", timeout=30))))
                     for _ in range(12)]
            for t in polls:
                t.start()
            for t in polls:
                t.join(30)
            welcome = timed(lambda: c.get("/"))
            login_page = timed(lambda: c.get("/maintenance/login"))
            token = csrf(c.get("/maintenance/login").text)
            login = timed(lambda: c.post("/maintenance/login", data={"csrf_token": token, "tech_id": "T01",
                                                                      "password": PASSWORD}))
            measured = (f"poll max {max(t for t, _ in times):.3f} s, welcome {welcome[0]:.3f} s, "
                        f"login page {login_page[0]:.3f} s, login {login[0]:.3f} s")
            print(f"\nfrozen peers: {measured}")
            assert len(times) == 12 and all(s == 200 for _, s in times), measured
            assert max(t for t, _ in times) < BOUND_S, measured
            assert welcome[0] < BOUND_S and welcome[1] == 503, measured  # out of service at once: printers silent
            assert login_page[0] < BOUND_S and login_page[1] == 200, measured
            assert login[0] < BOUND_S and login[1] == 302, measured
            dash = c.get("/maintenance/").text
            assert "not-answering" in dash, dash[-2000:]  # the technician sees which devices do not answer
            for p in frozen:
                p.send_signal(signal.SIGCONT)
            c.post("/maintenance/logout", data={"csrf_token": token})
            deadline = time.monotonic() + 30
            while c.get("/").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert c.get("/").status_code == 200  # the peers answer again: back in service by itself
        stop_with_sigterm(proc, tmp_path)
    finally:
        for p in frozen:
            if p.is_running():
                p.send_signal(signal.SIGCONT)
        kill_all(proc, peers)


def test_many_probes_keep_the_real_reader_online(make_kiosk: Callable[..., SimulatedKiosk], tmp_path: Path) -> None:
    """Each device is probed on one long-lived worker. pyscard keeps a PC/SC context per thread: with a thread
    per probe, pcscd refused new contexts after a few hundred probes (0x8010006a), ten minutes of polling."""
    k = make_kiosk(tmp_path, **{"sim.mode": "system", "devices.card_printer.enabled": False,
                                "devices.document_printer.enabled": False, "devices.camera.enabled": False})
    k.monitor.loop.stop()
    for _ in range(400):
        k.monitor.refresh(("card_reader",))
    status = k.monitor.status("card_reader")
    assert status.state.value == "online", status
