"""``adm-kiosk run`` with the status listener on HTTPS: it serves, and SIGTERM still ends the process cleanly.

A real ``python -m kiosk.cli run --sim`` process with ``[status] port`` and a certificate
made at test time: the listener answers HTTPS with the token, and a SIGTERM while a
client holds an idle TLS connection open ends the process with 0 within the bound.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.unit.test_status_tls import issue, make_ca

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigterm_ends_a_kiosk_whose_status_listener_speaks_https(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "kiosk-ca")
    cert = issue(tmp_path, "kiosk", ca, server=True)
    ui_port, status_port = free_port(), free_port()
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n[sim]\nstate_dir = "{tmp_path / "sim"}"\n'
                   f'output_dir = "{tmp_path / "sim" / "output"}"\n[status]\nheartbeat_interval_s = 0\n'
                   f'port = {status_port}\ntls_cert_file = "{cert.cert}"\ntls_key_file = "{cert.key}"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    token = subprocess.run([sys.executable, "-m", "kiosk.cli", "token", "create", "staff", "--config", str(cfg),
                            "--sim"], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip()
    log = (tmp_path / "console.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--sim", "--config", str(cfg),
                             "--port", str(ui_port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    verify = ssl.create_default_context(cafile=str(ca[0].cert))
    url = f"https://localhost:{status_port}/api/v1/status"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "console.log").read_text()[-3000:]
            try:
                r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, verify=verify, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the status listener did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["kiosk"]["id"]
        with httpx.Client(verify=verify, timeout=5) as idle:  # a keep-alive TLS connection left open
            assert idle.get(url.replace("/api/v1/status", "/metrics")).status_code == 401
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, (tmp_path / "console.log").read_text()[-3000:]
        assert time.monotonic() - started < 30
        with pytest.raises(httpx.TransportError):
            httpx.get(url, verify=verify, timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
