"""Clock sanity: the kiosk's clock against central's, from every answer central gives.

Every request to central is signed with the kiosk's Unix time, and central refuses a
signature older or newer than the signing window (``central.MAX_CLOCK_SKEW_S``). A kiosk whose
clock drifted past it (a flat RTC battery, NTP blocked on the regency's network) would
see every PIN redemption and report refused as if central were broken. So each answer's
``Date`` header (RFC 9110: central's clock, whole seconds) and the heartbeat's
acknowledgement (``server_time``, fractions of a second) are compared with the local clock
at the midpoint of the request; a skew past the window puts the kiosk out of service
with the reason "Jam anjungan tidak sesuai" and the measured skew for technicians, and
the first answer within the window clears it again.

What can go wrong: a missing, garbled or absurd ``Date`` (a proxy, a broken central) is
ignored, never raised; the measurement's own error (the header's one-second resolution
plus half the round trip) is allowed for, so a slow network alone never reads as skew.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import threading
from dataclasses import dataclass

PROBE_INTERVAL_S = 30.0  # while skewed, how often the kiosk asks central's time again (one small request)
PLAUSIBLE_S = 20 * 365 * 86400  # a Date further off than this is garbage, not a clock


@dataclass(frozen=True)
class Skew:
    seconds: float  # central's clock minus the kiosk's: positive when the kiosk is behind
    uncertainty_s: float
    measured_at: float  # the kiosk's time.time() when measured
    source: str  # "date-header" | "heartbeat"


class ClockCheck:
    """The latest measured skew and whether it is past the signing window (thread-safe)."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._lock = threading.Lock()
        self._last: Skew | None = None
        self._wrong = False

    @property
    def last(self) -> Skew | None:
        with self._lock:
            return self._last

    def observe(self, server_time: float, sent: float, received: float, source: str, resolution_s: float = 0.0) -> None:
        """One measurement: central's ``server_time`` against the kiosk's clock between ``sent`` and ``received``."""
        if not math.isfinite(server_time) or received < sent:
            return
        local = (sent + received) / 2
        skew = server_time - local
        if abs(skew) > PLAUSIBLE_S:
            return
        uncertainty = resolution_s + (received - sent) / 2
        with self._lock:
            self._last = Skew(round(skew, 3), round(uncertainty, 3), received, source)
            if abs(skew) - uncertainty > self.limit_s:
                self._wrong = True
            elif abs(skew) <= self.limit_s:
                self._wrong = False

    def observe_date(self, header: str | None, sent: float, received: float) -> None:
        """An HTTP ``Date`` header (whole seconds, so up to one second early); garbage or none is ignored."""
        server_time = parse_http_date(header)
        if server_time is not None:
            self.observe(server_time + 0.5, sent, received, "date-header", resolution_s=0.5)

    def wrong(self) -> bool:
        with self._lock:
            return self._wrong

    def probe_due(self, now: float) -> bool:
        """While the clock is wrong: whether to ask central's time again (at most every ``PROBE_INTERVAL_S``)."""
        last = self.last
        return self.wrong() and last is not None and now - last.measured_at >= PROBE_INTERVAL_S

    def reason(self) -> str:
        """The technician-facing out-of-service reason, '' while the clock is within the window."""
        last = self.last
        if not self.wrong() or last is None:
            return ""
        direction = "behind" if last.seconds > 0 else "ahead of"
        return (f"clock: Jam anjungan tidak sesuai: {abs(last.seconds):.0f} s {direction} central "
                f"(the signing window is {self.limit_s:.0f} s; set the time or fix NTP)")


def parse_http_date(header: str | None) -> float | None:
    """A ``Date`` header as a Unix time, None for anything that is not a date."""
    if not header or len(header) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=dt.UTC)
    try:
        return when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
