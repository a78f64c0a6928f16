"""Print lanes: the documents of one session, one lane per printer, the lanes side by side.

A citizen with a KTP-el, a KK and an akta otherwise waits for the card printer and then
for the A4 printer; with a lane each, the wait is the slowest printer's own time. Within a
lane the documents go in the session's order, one job at the printer at a time (a printer
prints one job at once, and a fault then belongs to exactly one job). While a lane's job
prints, the lane prepares its next document (``prepare``: waiting for its download, rendering
a card face), so the printer is not left idle for that.

Bounded: one thread per printer with documents, plus at most one preparing thread per lane. What can
go wrong, and what happens:
- a step raising: each lane's steps are the print service's, which never raise for anything
  a printer or a document can do; anything else is logged and that lane's later documents
  still get their turn (``step`` is called for each, and fails each alone);
- a ``prepare`` raising: its exception is handed to the step of that document (the step
  decides: a failed download fails that job before anything is consumed);
- ``run`` returns only once every lane and every preparation has ended, so the caller may
  then remove the session's work directory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def by_printer(items: Sequence[T], printer: Callable[[T], str], parallel: bool = True) -> list[list[T]]:
    """The lanes, each in the items' order, in the order their printers first appear; one lane when not
    ``parallel`` (every document in turn, the order before lanes)."""
    if not parallel:
        return [list(items)] if items else []
    lanes: dict[str, list[T]] = {}
    for item in items:
        lanes.setdefault(printer(item), []).append(item)
    return list(lanes.values())


Step = Callable[[T, BaseException | None], None]


def run(lanes: Sequence[Sequence[T]], prepare: Callable[[T], None], step: Step[T], ahead: bool = True,
        name: str = "lane") -> None:
    """Runs every lane at once: per item ``prepare(item)``, then ``step(item, the exception prepare raised or
    None)``; with ``ahead`` the next item is prepared while this one's step runs. Returns when all have ended.

    Daemon threads, like the session's print worker: a kiosk stopping mid-print is not held by a printer
    that takes its time (the journal and start-up recovery settle what was in flight)."""
    if len(lanes) == 1:
        _lane(lanes[0], prepare, step, ahead, name)
        return
    threads = [threading.Thread(target=_lane, args=(lane, prepare, step, ahead, f"{name}-{i}"), name=f"{name}-{i}",
                                daemon=True) for i, lane in enumerate(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class _Preparing(Generic[T]):
    """One item's ``prepare`` on its own thread; ``wait()`` returns what it raised, or None."""

    def __init__(self, prepare: Callable[[T], None], item: T, name: str) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(prepare, item), name=name, daemon=True)
        self._thread.start()

    def _run(self, prepare: Callable[[T], None], item: T) -> None:
        try:
            prepare(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the item's step, which decides
            self.error = exc

    def wait(self) -> BaseException | None:
        self._thread.join()
        return self.error


def _lane(items: Sequence[T], prepare: Callable[[T], None], step: Step[T], ahead: bool, name: str) -> None:
    pending: _Preparing[T] | None = None
    for i, item in enumerate(items):
        if pending is None:
            pending = _Preparing(prepare, item, f"{name}-prep")
        error = pending.wait()
        pending = _Preparing(prepare, items[i + 1], f"{name}-prep") if ahead and i + 1 < len(items) else None
        try:
            step(item, error)
        except Exception:  # noqa: BLE001 - one document's failure never stops the lane's next ones
            log.exception("print lane %s: a step failed unexpectedly", name)
