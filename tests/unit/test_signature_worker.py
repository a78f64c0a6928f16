"""The TTE validator's own process (kiosk/printing/signature_worker.py via drivers/worker_process.py).

A validator that hangs is killed at the deadline and the next document is checked by a fresh one;
one that dies mid-check or answers garbage refuses the document with ``checker-failed``, never an
exception or a hang; it is reused between documents and stops when idle or at shutdown; and the
kiosk's own process never imports pyHanko, even after printing a KK (checked in a fresh process).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from drivers.worker_process import WorkerProcess
from hardware_sim import citizens
from hardware_sim.documents import a4_pdf, sign_pdf
from hardware_sim.tte_pki import SIGNER_NAME, TtePki
from kiosk.cli.simulation import SimulatedKiosk
from kiosk.config import ConfigError, load
from kiosk.model import DocumentKind
from kiosk.printing.signatures import DocumentSignatures, TteInvalid
from tests.unit.test_flow import Citizen
from tests.unit.test_tte_refusals import _print_kk
from ui import create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TtePki:
    return TtePki(tmp_path_factory.mktemp("tte"))


@pytest.fixture(scope="module")
def signed(pki: TtePki) -> bytes:
    ident = citizens.DEMO[1][0]
    return sign_pdf(a4_pdf(DocumentKind.AKTA_KELAHIRAN, "3201-LT-1", ident, [], "ADMDOC1|akta|3201-LT-1|D1|x"),
                    pki.signer)


def _why(check: DocumentSignatures, pdf: bytes) -> str:
    with pytest.raises(TteInvalid) as info:
        check.check(pdf)
    return info.value.why


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _checker(pki: TtePki, timeout_s: float = 10.0, **kw: object) -> DocumentSignatures:
    return DocumentSignatures(DocumentSignatures.from_files([pki.root_path]).anchors, timeout_s, **kw)  # type: ignore[arg-type]


def test_a_hanging_validator_is_killed_at_the_deadline_and_the_next_document_checks(pki: TtePki, signed: bytes) -> None:
    check = _checker(pki, timeout_s=1.0)
    try:
        assert check.check(signed).signer == SIGNER_NAME
        pid = check.worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # a real hang: the process is there and never answers
        t = time.monotonic()
        assert _why(check, signed) == "timeout"
        assert time.monotonic() - t < 3.0 and _gone(pid)
        assert check.check(signed).signer == SIGNER_NAME
        assert check.worker.pid not in (None, pid) and check.worker.starts == 2
    finally:
        check.stop()


def test_a_hanging_validator_cannot_block_the_caller_on_a_full_pipe(pki: TtePki, signed: bytes) -> None:
    """A document larger than the pipe's buffer, sent to a validator that stopped reading: still the deadline."""
    check = _checker(pki, timeout_s=1.0)
    try:
        check.check(signed)
        pid = check.worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        t = time.monotonic()
        assert _why(check, signed + b"%" * (4 << 20)) == "timeout"
        assert time.monotonic() - t < 3.0 and _gone(pid)
    finally:
        check.stop()


def test_a_validator_that_dies_mid_check_refuses_the_document(pki: TtePki, signed: bytes) -> None:
    check = _checker(pki, timeout_s=30.0)
    try:
        check.check(signed)
        pid = check.worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        verdict: list[str] = []
        worker = threading.Thread(target=lambda: verdict.append(_why(check, signed)))
        t = time.monotonic()
        worker.start()
        time.sleep(0.3)  # the request is on its way; the validator is stopped in the middle of it
        os.kill(pid, signal.SIGKILL)
        worker.join(10)
        assert verdict == ["checker-failed"] and time.monotonic() - t < 5.0  # not the 30 s deadline
        assert check.check(signed).signer == SIGNER_NAME
    finally:
        check.stop()


@pytest.mark.parametrize("fault", ["verdict", "fields", "bytes", "exit"])
def test_garbage_from_the_validator_is_checker_failed(pki: TtePki, signed: bytes, fault: str) -> None:
    check = _checker(pki, worker=WorkerProcess("hardware_sim.faulty_tte_worker", [fault]))
    try:
        t = time.monotonic()
        assert _why(check, signed) == "checker-failed"
        assert _why(check, signed) == "checker-failed"  # and again: no state left behind
        assert time.monotonic() - t < 8.0
    finally:
        check.stop()


def test_the_validator_is_reused_then_stops_when_idle(pki: TtePki, signed: bytes) -> None:
    check = _checker(pki, idle_s=0.5)
    try:
        check.check(signed)
        pid = check.worker.pid
        check.check(signed)
        assert check.worker.pid == pid and check.worker.starts == 1
        deadline = time.monotonic() + 5
        assert pid is not None
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert check.worker.pid is None and _gone(pid)
        assert check.check(signed).signer == SIGNER_NAME and check.worker.starts == 2
    finally:
        check.stop()


def test_shutdown_stops_the_validator_and_the_signer(kiosk: SimulatedKiosk) -> None:
    _issued, status, _kk = _print_kk(kiosk, Citizen(create_app(kiosk).test_client()), "signed")
    assert [row["state"] for row in status["rows"]] == ["done"]
    pids = [kiosk.printing.signatures.worker.pid, kiosk.central_server.sim.tte.worker.pid]
    assert None not in pids
    kiosk.stop()
    assert all(_gone(pid) for pid in pids if pid is not None)


PRINT_A_KK = """
import json, sys, tempfile
from pathlib import Path
from kiosk.cli.composition import build_kiosk
from tests.conftest import sim_config
from tests.unit.test_flow import Citizen
from tests.unit.test_tte_refusals import _print_kk
from ui import create_app
kiosk = build_kiosk(sim_config(Path(tempfile.mkdtemp(prefix="adm-tte-mods-"))))
kiosk.start()
try:
    _issued, status, _kk = _print_kk(kiosk, Citizen(create_app(kiosk).test_client()), "signed")
    print(json.dumps({"rows": [r["state"] for r in status["rows"]], "printed": len(kiosk.sim.cups.printed_files("a4")),
                      "pyhanko": sorted(m for m in sys.modules if m.startswith("pyhanko"))}))
finally:
    kiosk.stop()
"""


def test_the_kiosk_process_never_imports_pyhanko_printing_a_kk() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", PRINT_A_KK], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"rows": ["done"], "printed": 1, "pyhanko": []}


def test_the_idle_stop_is_configured(make_kiosk: Any) -> None:
    with pytest.raises(ConfigError, match="documents.tte_worker_idle_s"):
        load(env={}, overrides={"sim.mode": "inprocess", "documents.tte_worker_idle_s": 0})
    kiosk = make_kiosk(start=False, **{"documents.tte_worker_idle_s": 7.5})
    assert kiosk.printing.signatures.worker.idle_s == 7.5
