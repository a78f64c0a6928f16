"""The documents of one redemption, fetched from central in parallel over a slow link.

A village link is slow and drops. After the PIN is accepted the documents download in a
small pool (``parallel`` at a time, sharing the link), each streamed to the session's work
directory with its checksum verified as it arrives (``CentralClient.fetch``), all within one
bound (``bound_s`` from the PIN's acceptance): a dropped connection is tried again inside
it, and past it every unfinished document fails with ``CentralUnavailable``. The card
documents go first (the card printer is the slowest lane, and the data check shows the card
face before printing). Requests never wait on the link: the screens poll ``progress()`` (which
documents are ready), and ``wait()`` (the print service's ``ready`` hook, one document in its
print lane while the others still arrive) blocks at most until the bound.

What can go wrong: central unreachable or garbage (that document fails, the citizen is told
the server is unavailable and the PIN stays valid); the session ends mid-download
(``close()`` stops the workers between chunks and removes the files: personal data does not
outlive the session).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Collection
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kiosk.citizen.central import CentralClient, CentralError, CentralUnavailable
from kiosk.model import Document, Medium

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadProgress:
    done: int
    total: int
    failed: bool  # at least one document failed
    elapsed_s: float
    ready: frozenset[str] = frozenset()  # the ids of the documents downloaded

    @property
    def finished(self) -> bool:
        return self.failed or self.done == self.total

    @property
    def current(self) -> int:
        """The document being downloaded, counted from 1 ("2 of 3")."""
        return min(self.done + 1, self.total)


class Downloads:
    def __init__(self, central: CentralClient, redemption_id: str, documents: list[Document], work_dir: Path,
                 parallel: int = 3, bound_s: float = 30.0, pool: Executor | None = None) -> None:
        self.central = central
        self.redemption_id = redemption_id
        self.documents = list(documents)
        self.work_dir = work_dir
        self.parallel = max(1, parallel)
        self.started = time.monotonic()
        self.deadline = self.started + bound_s
        self._events = {d.id: threading.Event() for d in self.documents}
        self._errors: dict[str, CentralError] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._pool = pool  # the kiosk's download workers, shared by its sessions; None: threads of its own
        # cards first, each keeping its number in the session's order (its file's name)
        self._queue = sorted(enumerate(self.documents), key=lambda item: item[1].medium is not Medium.CARD)
        self.finished_at: float | None = None  # time.monotonic() when the last document ended (done or failed)

    def start(self) -> Downloads:
        """``parallel`` runners, each taking the next document until none is left (in the documents' order)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        own = self._pool is None
        pool = self._pool or ThreadPoolExecutor(self.parallel, thread_name_prefix="download")
        for _ in range(min(self.parallel, len(self.documents))):
            pool.submit(self._runner)
        if own:
            pool.shutdown(wait=False)  # its workers end with the documents
        return self

    def _runner(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                n, doc = self._queue.pop(0)
            self._one(n, doc)

    def _one(self, n: int, doc: Document) -> None:
        try:
            if self._closed.is_set():
                raise CentralUnavailable("the session ended")
            self.central.fetch(self.redemption_id, doc, self.work_dir / f"{n}.part", self.deadline,
                               self._closed.is_set)
        except CentralError as exc:
            self._fail(doc, exc)
        except Exception as exc:  # noqa: BLE001 - a full disk, a bug: this document fails, the wait stays bounded
            log.exception("download of a document failed")
            self._fail(doc, CentralUnavailable(f"download: {type(exc).__name__}"))
        finally:
            self._events[doc.id].set()
            if all(e.is_set() for e in self._events.values()):
                self.finished_at = time.monotonic()

    def _fail(self, doc: Document, exc: CentralError) -> None:
        with self._lock:
            self._errors[doc.id] = exc
        log.warning("document %s not downloaded: %s", doc.id, exc.code)

    def progress(self) -> DownloadProgress:
        with self._lock:
            failed = bool(self._errors)
            ready = frozenset(d.id for d in self.documents if self._events[d.id].is_set() and d.id not in self._errors)
        return DownloadProgress(len(ready), len(self.documents), failed, time.monotonic() - self.started, ready)

    def error(self) -> CentralError | None:
        with self._lock:
            return next(iter(self._errors.values()), None)

    def wait(self, doc: Document) -> None:
        """Until ``doc`` is downloaded (at most until the bound); ``CentralError`` when it failed or timed out."""
        event = self._events.get(doc.id)
        if event is None and (doc.pdf is not None or doc.identity is not None):
            return  # fetched whole outside the downloads: the card fallback's substitute
        if event is None:
            raise CentralUnavailable("not a document of this redemption")
        if not event.wait(max(0.0, self.deadline - time.monotonic()) + 1.0):
            raise CentralUnavailable("the download did not finish in time")
        with self._lock:
            exc = self._errors.get(doc.id)
        if exc is not None:
            raise exc

    def wait_all(self, timeout_s: float, doc_ids: Collection[str] | None = None) -> DownloadProgress:
        """Waits up to ``timeout_s`` for every document (or only those of ``doc_ids``), or the first failure;
        returns the progress then."""
        end = time.monotonic() + timeout_s
        for doc_id, event in self._events.items():
            if doc_ids is not None and doc_id not in doc_ids:
                continue
            if self.progress().failed or not event.wait(max(0.0, end - time.monotonic())):
                break
        return self.progress()

    def close(self) -> None:
        """Stops the workers between chunks and removes the downloaded files (the documents in memory stay
        with the session until it drops them)."""
        self._closed.set()
        shutil.rmtree(self.work_dir, ignore_errors=True)
