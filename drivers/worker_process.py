"""A helper process that runs one library's work outside the caller's process, bounded in time.

pyHanko (PAdES signing and validation) costs the process that imports it about 18 MB of resident
memory for good; the kiosk's peak must stay under its budget, so the work runs in a child process
(``python -m <module>``) started on demand, reused for the following calls and stopped after it
has been idle for ``idle_s``. The caller's process never imports the library.

Protocol, over the child's stdin and stdout: each message is two frames (a 4-byte big-endian
length, then the bytes): a JSON object and a body. The child answers each request with one such
message; its first message, once its imports are done, is ``{"ready": true}``.

What can go wrong, and what the caller gets (``WorkerFailed``, and never a hang):
- the child does not answer within the deadline: it is killed (``WorkerFailed.timeout``), the
  next call starts a fresh one;
- the child dies, closes its stdout, or answers something that is not a message: it is killed
  and ``WorkerFailed`` says so; the next call starts a fresh one;
- the caller's process is killed: the child reads end-of-file on stdin and exits.
Calls are serialised (one child, one request at a time); the deadline counts from when the call
has the child, and the child's start (Python and the library's imports) has its own bound. A call
waits for the one before it at most that call's deadline plus a start: past it, a timeout.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drivers.base import AdmError

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
MAX_HEADER = 1 << 20
MAX_BODY = 64 << 20
START_BOUND_S = 30.0  # Python plus pyHanko's imports on a busy two-core machine take 1-2 s


class WorkerFailed(AdmError):
    """The helper process did not give an answer; ``timeout`` when it was past the deadline. Its callers turn it
    into their own refusal (the TTE check: ``tte-invalid:timeout`` or ``tte-invalid:checker-failed``)."""

    code = "worker-failed"

    def __init__(self, message: str, timeout: bool = False) -> None:
        super().__init__(message, code="worker-timeout" if timeout else None)
        self.timeout = timeout


def encode(header: dict[str, Any], body: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + struct.pack(">I", len(body)) + body


def write_message(stream: Any, header: dict[str, Any], body: bytes = b"") -> None:
    """One message on ``stream`` (a binary file object), flushed."""
    stream.write(encode(header, body))
    stream.flush()


def read_message(stream: Any) -> tuple[dict[str, Any], bytes] | None:
    """The next message on ``stream`` (blocking), or ``None`` at end of file. Raises ``ValueError`` on garbage."""
    frames = []
    for limit in (MAX_HEADER, MAX_BODY):
        size = stream.read(4)
        if not size and not frames:
            return None
        if len(size) != 4 or (n := struct.unpack(">I", size)[0]) > limit:
            raise ValueError("bad frame length")
        data = stream.read(n)
        if len(data) != n:
            raise ValueError("truncated frame")
        frames.append(data)
    header = json.loads(frames[0])
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header, frames[1]


class _Pipes:
    """Writes requests to the child's stdin and reads whole messages from its stdout, both with a deadline
    (non-blocking, through a selector): a stopped child fills the pipe and must not block the caller."""

    def __init__(self, stdin_fd: int, fd: int) -> None:
        self.stdin_fd = stdin_fd
        self.fd = fd
        self.buffer = bytearray()
        os.set_blocking(stdin_fd, False)
        os.set_blocking(fd, False)

    def send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        with selectors.DefaultSelector() as sel:
            sel.register(self.stdin_fd, selectors.EVENT_WRITE)
            while view:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise WorkerFailed("the request was not taken within the deadline", timeout=True)
                try:
                    view = view[os.write(self.stdin_fd, view):]
                except BlockingIOError:
                    continue
                except OSError as exc:  # BrokenPipeError: the child is gone
                    raise WorkerFailed("the helper process ended") from exc

    def _take(self, n: int, deadline: float) -> bytes:
        with selectors.DefaultSelector() as sel:
            sel.register(self.fd, selectors.EVENT_READ)
            while len(self.buffer) < n:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise WorkerFailed("no answer within the deadline", timeout=True)
                chunk = os.read(self.fd, max(65536, n - len(self.buffer)))
                if not chunk:
                    raise WorkerFailed("the helper process ended")
                self.buffer += chunk
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def message(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        frames = []
        for limit in (MAX_HEADER, MAX_BODY):
            n = struct.unpack(">I", self._take(4, deadline))[0]
            if n > limit:
                raise WorkerFailed("the helper process answered garbage")
            frames.append(self._take(n, deadline))
        try:
            header = json.loads(frames[0])
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise WorkerFailed("the helper process answered garbage")
        return header, frames[1]


class WorkerProcess:
    """A reusable helper process running ``python -m module *args``; thread-safe, stopped when idle."""

    def __init__(self, module: str, args: Sequence[str] = (), idle_s: float = 60.0,
                 command: Sequence[str] | None = None) -> None:
        self.command = list(command) if command else [sys.executable, "-m", module, *args]
        self.idle_s = idle_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pipes: _Pipes | None = None
        self._idle: threading.Timer | None = None
        self.starts = 0  # how many children were started: what a test of reuse and restarts counts

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def call(self, header: dict[str, Any], body: bytes, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        """The child's answer to one request within ``timeout_s``; raises ``WorkerFailed`` (the child is then gone)."""
        if not self._lock.acquire(timeout=timeout_s + START_BOUND_S):
            raise WorkerFailed("the helper process was busy past the deadline", timeout=True)
        try:
            if self._idle is not None:
                self._idle.cancel()
            try:
                pipes = self._started()
                deadline = time.monotonic() + timeout_s
                pipes.send(encode(header, body), deadline)
                return pipes.message(deadline)
            except WorkerFailed as exc:
                log.warning("%s: %s; stopped, the next call starts a fresh one", self.command[-1], exc)
                self._kill()
                raise
            finally:
                if self._proc is not None:
                    self._idle = threading.Timer(self.idle_s, self._stop_if_idle)
                    self._idle.daemon = True
                    self._idle.start()
        finally:
            self._lock.release()

    def stop(self) -> None:
        """Ends the child (if any) and its idle timer; the next call starts a fresh one."""
        with self._lock:
            if self._idle is not None:
                self._idle.cancel()
            self._kill()

    def _stop_if_idle(self) -> None:
        if self._lock.acquire(blocking=False):  # a call in progress keeps its child
            try:
                self._kill()
            finally:
                self._lock.release()

    def _started(self) -> _Pipes:
        if self._proc is not None and self._proc.poll() is None and self._pipes is not None:
            return self._pipes
        self._kill()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))))
        self._proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                      start_new_session=True)  # a ^C at the terminal is the caller's to handle
        self.starts += 1
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._pipes = _Pipes(self._proc.stdin.fileno(), self._proc.stdout.fileno())
        try:
            ready, _ = self._pipes.message(time.monotonic() + START_BOUND_S)
        except WorkerFailed as exc:  # not the request's deadline: the helper itself is broken
            raise WorkerFailed(f"the helper process did not start: {exc}") from exc
        if ready.get("ready") is not True:
            raise WorkerFailed("the helper process did not start")
        return self._pipes

    def _kill(self) -> None:
        proc, self._proc, self._pipes = self._proc, None, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


def serve(handle: Any) -> None:
    """The child's side: announce readiness, then answer each request with ``handle(header, body)``
    (returning ``(header, body)``) until end of file on stdin."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print from a library must not corrupt the protocol
    write_message(stdout, {"ready": True})
    while (request := read_message(stdin)) is not None:
        header, body = handle(*request)
        write_message(stdout, header, body)
