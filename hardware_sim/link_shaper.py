"""A slow village link between the kiosk and central, as a loopback TCP proxy.

This machine's kernel has no netem, so the link is shaped in user space: the kiosk connects
to ``LinkShaper.url`` and every byte is forwarded to the upstream (the simulated central)
and back, through
- a token bucket per direction, shared by every connection (parallel downloads share the
  link's bandwidth as they would on a real one);
- a one-way delay of half the configured round trip in each direction, applied after the
  bucket (serialisation first, then propagation), and one more round trip before a new
  connection's first bytes reach the upstream (the TCP handshake the proxy answers locally);
- stalls: a pause of ``stall_s`` once a connection has sent ``stall_at_bytes`` towards the
  kiosk (counted from its start or the last ``configure()``), or with ``stall_probability``
  per 16 KiB slice;
- resets: the connection torn down (RST) once it has sent ``reset_at_bytes`` towards the
  kiosk, or with ``reset_probability`` per slice.
``faults_left`` limits how many stalls and resets may still happen (None: no limit), so a
test can say "the first download stalls, the retry goes through". Everything is read at
each slice, so ``configure()`` changes a running link (tests, the simulator panel).

What can go wrong: the proxy is a test peer, not a faithful TCP model (no loss, no
congestion window); the bucket is fair only roughly between connections; a slice is
paced in ``SEGMENT``-sized pieces, so that is the smallest shaped unit.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, fields, replace

log = logging.getLogger(__name__)
SLICE = 16 * 1024  # read at most this at once; faults are drawn per slice
SEGMENT = 1448  # paced and delayed in TCP-segment-sized pieces
DOWN, UP = "down", "up"  # towards the kiosk, towards central


@dataclass(frozen=True)
class LinkProfile:
    bandwidth_bps: float = 0.0  # bytes per second each direction; 0: unlimited
    rtt_s: float = 0.0  # round trip the link adds (half each way)
    stall_at_bytes: int = 0  # 0: no stall at a byte count
    stall_probability: float = 0.0  # per slice sent towards the kiosk
    stall_s: float = 0.0
    reset_at_bytes: int = 0  # 0: no reset at a byte count
    reset_probability: float = 0.0
    faults_left: int | None = None  # stalls and resets that may still happen; None: no limit

    @classmethod
    def village(cls) -> LinkProfile:
        """The benchmark's link: 1 Mbit/s, 300 ms round trip."""
        return cls(bandwidth_bps=1_000_000 / 8, rtt_s=0.3)


class TokenBucket:
    """Bytes per second with a burst of one segment; ``take`` blocks until the bytes may go."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._at = time.monotonic()

    def take(self, n: int, rate: float, stop: threading.Event) -> None:
        if rate <= 0:
            return
        with self._lock:  # one connection at a time computes its slot: the others queue behind it
            now = time.monotonic()
            self._tokens = min(float(SEGMENT), self._tokens + (now - self._at) * rate)
            self._at = now
            self._tokens -= n
            wait = -self._tokens / rate if self._tokens < 0 else 0.0
            if wait > 0:
                stop.wait(wait)
                self._at = time.monotonic()
                self._tokens = 0.0


class LinkShaper:
    """Listens on a loopback port and forwards to ``upstream`` (host, port) through a ``LinkProfile``."""

    def __init__(self, upstream: tuple[str, int], profile: LinkProfile | None = None) -> None:
        self.upstream = upstream
        self._profile = self.initial = profile or LinkProfile()
        self._generation = 0  # bumped by configure(): byte counts for faults start again
        self._lock = threading.Lock()
        self._buckets = {DOWN: TokenBucket(), UP: TokenBucket()}
        self._stop = threading.Event()
        self._rand = random.Random(2024)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._conns: set[socket.socket] = set()
        self.bytes = {DOWN: 0, UP: 0}
        self.connections = 0
        self.stalls = 0
        self.resets = 0
        self._thread = threading.Thread(target=self._accept, name="link-shaper", daemon=True)

    @classmethod
    def for_url(cls, url: str, profile: LinkProfile | None = None) -> LinkShaper:
        host, _, port = url.split("://", 1)[-1].split("/", 1)[0].rpartition(":")
        return cls((host, int(port)), profile)

    # -- control ----------------------------------------------------------------------------

    @property
    def profile(self) -> LinkProfile:
        with self._lock:
            return self._profile

    def configure(self, **changes: object) -> LinkProfile:
        """Changes the running link; unknown names raise ``TypeError``."""
        known = {f.name for f in fields(LinkProfile)}
        if bad := set(changes) - known:
            raise TypeError(f"unknown link settings: {sorted(bad)}")
        with self._lock:
            self._profile = replace(self._profile, **changes)  # type: ignore[arg-type]
            self._generation += 1
            return self._profile

    def restore(self) -> LinkProfile:
        """Back to the profile the link started with (the simulator panel's repair)."""
        with self._lock:
            self._profile = self.initial
            self._generation += 1
            return self._profile

    def counters(self) -> dict[str, int]:
        with self._lock:
            return {"down": self.bytes[DOWN], "up": self.bytes[UP], "connections": self.connections,
                    "stalls": self.stalls, "resets": self.resets}

    def start(self) -> LinkShaper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        _close(self._listener)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _close(c)
        self._thread.join(2)

    def __enter__(self) -> LinkShaper:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- forwarding -------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client, reset=True)
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(client, server)
            with self._lock:
                self.connections += 1
                self._conns.update((client, server))
            self._pipe(server, client, DOWN, conn)
            self._pipe(client, server, UP, conn)

    def _pipe(self, src: socket.socket, dst: socket.socket, direction: str, conn: _Connection) -> None:
        """A reader that paces slices through the bucket, and a writer that delivers them after the delay."""
        slices: queue.Queue[tuple[float, bytes] | None] = queue.Queue()

        def read() -> None:
            sent, generation = 0, -1
            try:
                while not self._stop.is_set() and not conn.closed.is_set():
                    data = src.recv(SLICE)
                    if not data:
                        break
                    with self._lock:
                        p = self._profile
                        if generation != self._generation:
                            sent, generation = 0, self._generation
                    if direction == DOWN and self._fault(p, sent, len(data), conn):
                        return
                    for i in range(0, len(data), SEGMENT):  # paced a segment at a time, as a link sends packets
                        segment = data[i:i + SEGMENT]
                        self._buckets[direction].take(len(segment), p.bandwidth_bps, self._stop)
                        with self._lock:
                            self.bytes[direction] += len(segment)
                        due = time.monotonic() + p.rtt_s / 2
                        if direction == UP:  # the handshake: a new connection's first bytes leave a round trip late
                            due = max(due, conn.opened + 1.5 * p.rtt_s)
                        slices.put((due, segment))
                    sent += len(data)
            except OSError:
                pass
            finally:
                slices.put(None)

        def write() -> None:
            try:
                while (item := slices.get()) is not None:
                    due, data = item
                    if (delay := due - time.monotonic()) > 0 and self._stop.wait(delay):
                        break
                    if conn.closed.is_set():
                        break
                    dst.sendall(data)
                if not conn.closed.is_set():
                    dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            finally:
                if conn.finish():
                    with self._lock:
                        self._conns.difference_update((src, dst))

        for target in (read, write):
            threading.Thread(target=target, name=f"link-{direction}", daemon=True).start()

    def _fault(self, p: LinkProfile, sent: int, n: int, conn: _Connection) -> bool:
        """Applies a stall or a reset due at this slice; True when the connection was torn down."""
        def crossed(at: int) -> bool:
            return bool(at) and sent < at <= sent + n

        slices = max(1, n // SLICE)
        if crossed(p.reset_at_bytes) or (p.reset_probability and self._chance(p.reset_probability, slices)):
            if self._take_fault("resets"):
                conn.reset()
                return True
        if p.stall_s and (crossed(p.stall_at_bytes) or (p.stall_probability and self._chance(p.stall_probability, slices))):
            if self._take_fault("stalls"):
                self._stop.wait(p.stall_s)
        return False

    def _take_fault(self, counter: str) -> bool:
        """Counts a fault when ``faults_left`` allows one more (and spends it)."""
        with self._lock:
            left = self._profile.faults_left
            if left is not None and left <= 0:
                return False
            if left is not None:
                self._profile = replace(self._profile, faults_left=left - 1)
            setattr(self, counter, getattr(self, counter) + 1)
            return True

    def _chance(self, p: float, slices: int) -> bool:
        with self._lock:
            return any(self._rand.random() < p for _ in range(slices))


class _Connection:
    """The two sockets of one proxied connection: closed once both directions are done, or reset."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.closed = threading.Event()
        self.opened = time.monotonic()
        self._socks = (client, server)
        self._done = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.closed.set()
        for s in self._socks:
            _close(s, reset=True)

    def finish(self) -> bool:
        """One direction is done; True (and both sockets closed) when it was the last."""
        with self._lock:
            self._done += 1
            last = self._done == 2 or self.closed.is_set()
        if last:
            self.closed.set()
            for s in self._socks:
                _close(s)
        return last


def _close(s: socket.socket, reset: bool = False) -> None:
    """Closes a socket another thread may be blocked on: shutdown wakes that thread, so the close takes effect."""
    with contextlib.suppress(OSError):
        if reset:  # SO_LINGER 0: the peer sees a connection reset, not a clean end
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        s.close()
