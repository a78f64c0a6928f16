"""The nearest open kiosks, from central's fleet, for a citizen's screen: bounded, cached, silent when unknown.

The closed screen and the card fallback name where else a citizen can go. Asking central
on a request thread is one try within a short bound; an answer is kept for ``ttl_s`` and a
failure for ``retry_after_s`` (a central outage costs one bounded wait a minute, not one per
screen), and while one request asks, others get what is cached. Unreachable or garbage:
an empty list, and the screen says nothing about other kiosks.
"""

from __future__ import annotations

import logging
import threading
import time

from kiosk.citizen.central import CentralClient, CentralError, NearbyKiosk

log = logging.getLogger(__name__)


class NearbyKiosks:
    def __init__(self, central: CentralClient, ttl_s: float = 60.0, retry_after_s: float = 30.0,
                 bound_s: float = 1.5) -> None:
        self.central = central
        self.ttl_s = ttl_s
        self.retry_after_s = retry_after_s
        self.bound_s = bound_s
        self._cache: dict[str, tuple[float, list[NearbyKiosk]]] = {}  # kind -> (valid until, kiosks)
        self._asking = threading.Lock()

    def get(self, kind: str = "", limit: int = 3) -> list[NearbyKiosk]:
        now = time.monotonic()
        until, kiosks = self._cache.get(kind, (0.0, []))
        if now < until or not self._asking.acquire(blocking=False):
            return kiosks[:limit]
        try:
            try:
                kiosks = self.central.nearest_kiosks(kind, 5, self.bound_s)
                self._cache[kind] = (time.monotonic() + self.ttl_s, kiosks)
            except CentralError as exc:
                log.info("nearest kiosks unknown: %s", exc.code)
                kiosks = []
                self._cache[kind] = (time.monotonic() + self.retry_after_s, kiosks)
        finally:
            self._asking.release()
        return kiosks[:limit]
