"""The simulated central served with HTTP/1.1 keep-alive (cheroot), as a real central's front end would.

Werkzeug's development server closes every connection after one response, so over a shaped
link each request would pay a TCP handshake that a real central (behind nginx or similar)
does not charge. The slow-link tests and benchmark use this server instead, so the figures
show the round trips a kiosk really pays. Same app, same ``CentralSim``.
"""

from __future__ import annotations

import threading

from cheroot import wsgi

from hardware_sim.central import CentralSim, create_app


class KeepAliveCentralServer:
    """Drop-in for ``CentralServer``: ``sim``, ``url``, ``start()``, ``stop()``."""

    def __init__(self, sim: CentralSim, port: int = 0) -> None:
        self.sim = sim
        self._srv = wsgi.Server(("127.0.0.1", port), create_app(sim), numthreads=8, timeout=30)
        self._srv.prepare()  # binds now, so the URL is known before start()
        self.url = f"http://127.0.0.1:{self._srv.bind_addr[1]}"
        self._thread = threading.Thread(target=self._srv.serve, name="central-sim", daemon=True)

    def start(self) -> KeepAliveCentralServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._srv.stop()
        self._thread.join(5)
