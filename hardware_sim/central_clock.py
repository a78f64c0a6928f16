"""The simulated central's clock: its ``Date`` header and heartbeat time follow ``CentralFaults.clock_skew_s``.

A real central's clock is right and the kiosk's may not be; here the kiosk runs on the
machine's clock, so a skewed *central* stands in for a skewed kiosk: central then refuses
signatures outside its window by its own clock (``CentralSim.authenticate``), dates every
answer by it, and answers the heartbeat with it. ``CentralFaults.date_header`` replaces the
header with garbage, or (``""``) leaves it out, as a broken proxy would.
"""

from __future__ import annotations

import email.utils
from typing import Protocol

from werkzeug.serving import WSGIRequestHandler


class Clocked(Protocol):
    def now(self) -> float: ...
    def date_header(self) -> str | None: ...


def clock_handler(sim: Clocked) -> type[WSGIRequestHandler]:
    """A request handler for ``werkzeug.serving.make_server`` that dates answers by ``sim``'s clock."""

    class CentralClockHandler(WSGIRequestHandler):
        def send_response(self, code: int, message: str | None = None) -> None:
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Server", self.version_string())
            date = sim.date_header()
            if date is None:
                self.send_header("Date", email.utils.formatdate(sim.now(), usegmt=True))
            elif date:
                self.send_header("Date", date)

    return CentralClockHandler
