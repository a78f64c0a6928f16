"""A private pcscd with one vpcd reader, for ``--sim=system``, integration tests and the bench.

Only one pcscd can run per machine (it always owns /run/pcscd/pcscd.comm), so ``start()``
refuses when another one is alive rather than fight it. Readiness is read from the system
(``ss`` shows the vpcd port LISTENing and the pcscd socket exists), never probed with a
TCP connect: vpcd takes any connection to its port as a card being inserted.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from hardware_sim.vpcd import VpcdControl, start_card_process, stop_process

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
PCSCD_PIDFILE = Path("/run/pcscd/pcscd.pid")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
DEFAULT_PORT = 35963
FRIENDLY_NAME = "ADM Virtual PCD"


class SandboxError(RuntimeError):
    pass


def missing_requirements() -> str:
    """Why a real-pcscd sandbox cannot run here ("" when it can): for pytest.skip and the CLI."""
    if os.geteuid() != 0:
        return "needs root (pcscd owns /run/pcscd)"
    if not shutil.which("pcscd"):
        return "pcscd is not installed (apt-get install pcscd)"
    if not VPCD_DRIVER.exists():
        return "the vpcd driver is not installed (apt-get install vsmartcard-vpcd)"
    if not shutil.which("ss"):
        return "ss is not installed (apt-get install iproute2)"
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return "pyscard is not installed (pip install pyscard; needs libpcsclite-dev)"
    return ""


def running_pcscd() -> int | None:
    """The PID of a live pcscd, from its pid file, or None."""
    try:
        pid = int(PCSCD_PIDFILE.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def unavailable() -> str:
    """Why a real-pcscd sandbox cannot start now ("" when it can): the requirements, and pcscd's one slot per
    machine already taken. For pytest.skip and the benchmarks."""
    other = running_pcscd()
    return missing_requirements() or (f"another pcscd is running on this machine (pid {other})" if other else "")


def _listening(port: int) -> bool:
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    return "LISTEN" in out


def _holders(port: int) -> str:
    """Who listens on ``port`` (``ss -p``): for the error when a port is still taken."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    return " ".join(out.split()) or "nobody"


@dataclass
class PcscdSandbox:
    """pcscd with a private reader.conf (vpcd in server mode on ``port``) under ``work``."""

    work: Path
    port: int = DEFAULT_PORT
    debug: bool = False
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    starts: int = field(default=0, init=False)

    @property
    def reader(self) -> str:
        """The PC/SC name of the reader the card connects to."""
        return f"{FRIENDLY_NAME} 00 00"

    @property
    def encoder(self) -> str:
        """vpcd's second reader (PORT+1): the card printer's encoder station."""
        return f"{FRIENDLY_NAME} 00 01"

    @property
    def log_path(self) -> Path:
        return self.work / "pcscd.log"

    def start(self, timeout_s: float = 10.0) -> PcscdSandbox:
        reason = missing_requirements()
        if reason:
            raise SandboxError(reason)
        other = running_pcscd()
        if other is not None:
            raise SandboxError(f"another pcscd is running (pid {other}); stop it first "
                               "(systemctl stop pcscd.socket pcscd.service)")
        deadline = time.monotonic() + timeout_s  # the last sandbox's pcscd may still be letting its ports go
        while (_listening(self.port) or _listening(self.port + 1)) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _listening(self.port) or _listening(self.port + 1):
            raise SandboxError(f"vpcd's ports {self.port}-{self.port + 1} are still taken: "
                               f"{_holders(self.port)}; {_holders(self.port + 1)}")
        conf = self.work / "reader.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "vpcd").write_text(f'FRIENDLYNAME "{FRIENDLY_NAME}"\nDEVICENAME   /dev/null:{self.port}\n'
                                   f"LIBPATH      {VPCD_DRIVER}\nCHANNELID    {self.port}\n")
        cmd = ["pcscd", "--foreground", "--config", str(conf)] + (["--debug", "--apdu"] if self.debug else [])
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SandboxError(f"pcscd exited with {self.proc.returncode}: {self.log_tail()}")
            if _listening(self.port) and PCSCD_SOCKET.is_socket():
                return self
            time.sleep(0.05)
        self.stop()
        raise SandboxError(f"pcscd did not become ready in {timeout_s} s: {self.log_tail()}")

    def stop(self, grace_s: float = 3.0) -> None:
        """SIGTERM by PID, SIGKILL after ``grace_s``; waits until the socket is gone so a restart can begin."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(grace_s)
        deadline = time.monotonic() + 3 * grace_s  # a loaded machine takes its time to let the ports go
        while time.monotonic() < deadline and (_listening(self.port) or _listening(self.port + 1)
                                               or running_pcscd() == proc.pid):
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class VirtualReaderRig:
    """pcscd + the virtual e-KTP process: what ``--sim=system``, the tests and the bench start."""

    work: Path
    sam_key: bytes
    port: int = DEFAULT_PORT
    insert: str | None = None
    min_photo_bytes: int = 15_000
    pki_dir: Path | None = None  # the simulated central's chip PKI; default: under ``work``
    encoder: bool = True  # a hopper of blank chips in vpcd's second reader slot
    pcscd: PcscdSandbox = field(init=False)
    card_proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    control: VpcdControl | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.pcscd = PcscdSandbox(self.work, self.port)

    @property
    def reader(self) -> str:
        return self.pcscd.reader

    @property
    def encoder_reader(self) -> str:
        return self.pcscd.encoder

    def start(self) -> VirtualReaderRig:
        self.pcscd.start()
        try:
            self.card_proc, self.control = start_card_process(self.port, self.work / "vcard.sock", self.sam_key,
                                                              self.work, self.insert, self.min_photo_bytes,
                                                              pki_dir=self.pki_dir, encoder=self.encoder)
        except BaseException:
            self.pcscd.stop()
            raise
        return self

    def stop(self) -> None:
        if self.card_proc is not None:
            stop_process(self.card_proc)
            self.card_proc = None
        self.pcscd.stop()
