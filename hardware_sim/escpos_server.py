"""The ESC/POS emulator behind real transports: a pty pair (serial) and TCP (port 9100).

Why: in ``--sim=system`` and the integration tests the receipt driver must use
python-escpos' own ``Serial`` and ``Network`` printers unchanged, so the emulator has to
sit at the other end of a real tty or socket. The pty slave stays open in this process
(otherwise reads on the master fail with EIO once the driver closes its side); the slave
is raw so no byte is translated. ``baudrate`` paces reading like a real line (10 bits per
byte), so timings resemble a 115200-baud printer; ``None`` reads as fast as it can.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import tty

from hardware_sim.escpos_emulator import EscposEmulator


class _Server:
    def __init__(self, emulator: EscposEmulator, baudrate: int | None) -> None:
        self.emulator = emulator
        self.baudrate = baudrate
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _feed(self, data: bytes) -> bytes:
        """Hands bytes to the emulator (paced like the line) and returns its answers."""
        if self.baudrate:
            time.sleep(len(data) * 10 / self.baudrate)
        self.emulator.write(data)
        return self.emulator.read(0)

    def _run_thread(self, target: object, name: str) -> None:
        self._thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


class PtyEscpos(_Server):
    """The emulator on a pty: point a serial receipt printer at ``path``."""

    def __init__(self, emulator: EscposEmulator, baudrate: int | None = None) -> None:
        super().__init__(emulator, baudrate)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def start(self) -> PtyEscpos:
        self._run_thread(self._loop, "escpos-pty")
        return self

    def _loop(self) -> None:
        chunk = max(1, (self.baudrate or 0) // 100) if self.baudrate else 4096  # ~10 ms of line time
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                data = os.read(self.master, chunk)
            except OSError:  # EIO while no process has the slave open: keep waiting
                time.sleep(0.01)
                continue
            answer = self._feed(data)
            if answer:
                os.write(self.master, answer)

    def stop(self) -> None:
        super().stop()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class TcpEscpos(_Server):
    """The emulator on TCP (a network receipt printer, port 9100 by convention; 0: any free port)."""

    def __init__(self, emulator: EscposEmulator, port: int = 9100, host: str = "127.0.0.1",
                 baudrate: int | None = None) -> None:
        super().__init__(emulator, baudrate)
        self.sock = socket.create_server((host, port), reuse_port=False)
        self.sock.settimeout(0.1)
        self.host, self.port = self.sock.getsockname()[:2]
        self._conns: list[threading.Thread] = []

    def start(self) -> TcpEscpos:
        self._run_thread(self._accept, "escpos-tcp")
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=self._serve, args=(conn,), name="escpos-tcp-conn", daemon=True)
            worker.start()
            self._conns.append(worker)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self._stop.is_set():
                if not select.select([conn], [], [], 0.05)[0]:
                    continue
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                answer = self._feed(data)
                if answer:
                    conn.sendall(answer)

    def stop(self) -> None:
        super().stop()
        for worker in self._conns:
            worker.join(5)
        self.sock.close()
