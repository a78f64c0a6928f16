"""Named crash points for the crash-safety tests: ``ADM_CRASH_AT=<point>[:<n>]`` kills the process there.

A power cut can happen between any two lines of the print transaction; the journal must
be right whichever line it was. The tests in ``tests/reliability`` run the kiosk in a
subprocess with ``ADM_CRASH_AT`` set, so the process dies with SIGKILL (no ``finally``,
no atexit, no flush) at exactly that point, the ``n``-th time it is reached (default 1).
Without the variable every call is a dictionary lookup and nothing else: production
kiosks never set it.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "ADM_CRASH_AT"
_hits: dict[str, int] = {}
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """Dies here (SIGKILL) when ``ADM_CRASH_AT`` names this point and its occurrence; else a no-op."""
    target = os.environ.get(ENV)
    if not target:
        return
    point, _, nth = target.partition(":")
    if point != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
