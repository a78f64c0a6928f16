"""The link shaper shapes what it says: throughput, round trip, stalls and resets, measured through it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from hardware_sim.link_shaper import LinkProfile, LinkShaper


@pytest.fixture
def upstream() -> Iterator[tuple[str, int]]:
    """A peer that echoes each message, or sends N bytes when asked ``bulk N``."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve(c: socket.socket) -> None:
        with c, contextlib.suppress(OSError):  # the shaper resets some connections on purpose
            while data := c.recv(65536):
                if data.startswith(b"bulk "):
                    c.sendall(b"x" * int(data.split()[1]))
                else:
                    c.sendall(data)

    def accept() -> None:
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[:2]
    srv.close()


def _bulk(port: int, n: int) -> tuple[float, int]:
    t0 = time.monotonic()
    got = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(f"bulk {n}".encode())
        while got < n:
            data = c.recv(65536)
            if not data:
                break
            got += len(data)
    return time.monotonic() - t0, got


def _rtt(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sendall(b"warm")
        c.recv(16)
        t0 = time.monotonic()
        c.sendall(b"ping")
        c.recv(16)
        return time.monotonic() - t0


def test_throughput_matches_the_configured_bandwidth(upstream: tuple[str, int]) -> None:
    with LinkShaper(upstream, LinkProfile(bandwidth_bps=200_000)) as link:
        took, got = _bulk(link.port, 200_000)
    assert got == 200_000
    assert 0.85 <= took <= 1.3, f"200 kB at 200 kB/s took {took:.2f} s"


def test_parallel_connections_share_the_bandwidth(upstream: tuple[str, int]) -> None:
    with LinkShaper(upstream, LinkProfile(bandwidth_bps=200_000)) as link:
        t0 = time.monotonic()
        threads = [threading.Thread(target=_bulk, args=(link.port, 100_000)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        took = time.monotonic() - t0
    assert 1.3 <= took <= 2.0, f"3 x 100 kB over one 200 kB/s link took {took:.2f} s"


def test_round_trip_matches_the_configured_rtt(upstream: tuple[str, int]) -> None:
    with LinkShaper(upstream, LinkProfile(rtt_s=0.2)) as link:
        rtt = _rtt(link.port)
        link.configure(rtt_s=0.05)  # at run time, for the next slices
        faster = _rtt(link.port)
    assert 0.19 <= rtt <= 0.26, rtt
    assert 0.045 <= faster <= 0.09, faster


def test_a_new_connection_pays_the_handshake_round_trip(upstream: tuple[str, int]) -> None:
    with LinkShaper(upstream, LinkProfile(rtt_s=0.2)) as link:
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", link.port), timeout=5) as c:
            c.sendall(b"ping")
            c.recv(16)
        first = time.monotonic() - t0
    assert 0.39 <= first <= 0.5, f"connect + first exchange took {first:.3f} s, not two round trips"


def test_a_stall_pauses_the_transfer_once_per_faulty_connection(upstream: tuple[str, int]) -> None:
    with LinkShaper(upstream, LinkProfile(stall_at_bytes=50_000, stall_s=0.8, faults_left=1)) as link:
        stalled, got = _bulk(link.port, 100_000)
        clean, _ = _bulk(link.port, 100_000)
        assert link.counters()["stalls"] == 1
    assert got == 100_000
    assert stalled >= 0.8 and clean < 0.3, (stalled, clean)


def test_a_reset_tears_the_connection_down_mid_transfer(upstream: tuple[str, int]) -> None:
    with LinkShaper(upstream, LinkProfile(reset_at_bytes=40_000)) as link:
        with pytest.raises(ConnectionResetError):  # noqa: PT012 - the reset arrives while reading
            with socket.create_connection(("127.0.0.1", link.port), timeout=5) as c:
                c.sendall(b"bulk 100000")
                got = 0
                while data := c.recv(65536):
                    got += len(data)
        assert link.counters()["resets"] == 1
    assert got < 100_000


def test_unknown_settings_are_refused(upstream: tuple[str, int]) -> None:
    with LinkShaper(upstream) as link, pytest.raises(TypeError):
        link.configure(bandwith_bps=1)
