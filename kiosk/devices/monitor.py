"""Caches every device's status; each probe runs on its own thread and is waited for within a bound.

The monitor polls on its own supervised thread; the UI, maintenance and the status
endpoint read the cache, never the hardware. pyscard and libcups calls block for as
long as pcscd or cupsd is frozen, so no caller ever waits on one beyond ``call_timeout_s``:
each device's probes run in turn on a daemon worker thread of its own, a device whose
probe is past the bound reads ``unknown`` ("not answering"), and while that probe hangs no
second one is queued for the device. One long-lived thread per device, not one per probe:
pyscard's PC/SC context is per thread, and pcsc-lite allows a client only a few. A device that fails is reported, not fatal:
availability is worked out from the devices each service requires.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from drivers.base import Device, DeviceState, DeviceStatus, safe_status
from drivers.card_reader import CardReader
from kiosk.devices.builder import Devices
from kiosk.devices.card_watch import CardWatch
from kiosk.journal.store import Store
from kiosk.supervise import SupervisedLoop

log = logging.getLogger(__name__)
NOT_ANSWERING = "not-answering"


@dataclass
class _Probe:
    """One status call, queued or running on the device's worker."""

    started: float
    done: threading.Event = field(default_factory=threading.Event)
    result: DeviceStatus | None = None


class _ProbeWorker:
    """Runs one device's status probes in turn on its own daemon thread."""

    def __init__(self, name: str, device: Device) -> None:
        self.device = device
        self._queue: queue.SimpleQueue[_Probe | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=f"probe-{name}", daemon=True).start()

    def submit(self, probe: _Probe) -> None:
        self._queue.put(probe)

    def stop(self) -> None:
        """Ends the thread after the probe it runs now (a hung one ends when the device answers at last)."""
        self._queue.put(None)

    def _serve(self) -> None:
        while (probe := self._queue.get()) is not None:
            probe.result = safe_status(self.device)
            probe.done.set()


class DeviceMonitor:
    def __init__(self, devices: Devices, store: Store, interval_s: float, call_timeout_s: float = 1.5) -> None:
        self.devices = devices
        self.store = store
        self.call_timeout_s = call_timeout_s
        self._cache: dict[str, DeviceStatus] = {}
        self._inflight: dict[str, _Probe] = {}
        self._workers: dict[str, _ProbeWorker] = {}
        self._lock = threading.Lock()
        self.loop = SupervisedLoop("device-monitor", self.refresh, interval_s, self._loop_transition)
        reader = devices.get("card_reader")
        self.card_watch = CardWatch(reader) if isinstance(reader, CardReader) else None

    def start(self) -> None:
        if self.card_watch:
            self.card_watch.start()
        self.refresh()
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()
        if self.card_watch:
            self.card_watch.stop()
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()

    def refresh(self, names: tuple[str, ...] | None = None) -> dict[str, DeviceStatus]:
        """Probes the devices (all, or ``names``) in parallel; returns within about ``call_timeout_s``.

        Each status recorded comes from a probe that started after this call, unless a probe
        begun earlier ended too late to ask again (then its answer, a moment old, is used).
        """
        since = time.monotonic()
        deadline = since + self.call_timeout_s
        todo = {name: dev for name, dev in list(self.devices.by_name.items()) if not names or name in names}
        while todo:
            probes = {name: self._probe(name, dev, since) for name, dev in todo.items()}
            for probe in probes.values():
                probe.done.wait(max(0.0, deadline - time.monotonic()))
            todo = {}
            for name, probe in probes.items():
                if not probe.done.is_set() or probe.result is None:
                    waited = time.monotonic() - probe.started
                    self._record(name, DeviceStatus(DeviceState.UNKNOWN, f"not answering (no reply for {waited:.1f} s)",
                                                    code=NOT_ANSWERING))
                elif probe.started >= since or time.monotonic() >= deadline:
                    self._record(name, probe.result)
                else:  # the answer to a probe begun before this call: ask again
                    todo[name] = self.devices.by_name[name]
        return self.statuses()

    def _probe(self, name: str, dev: Device, since: float) -> _Probe:
        """The device's probe in flight or begun since ``since``, else a new one: never two at once for one device."""
        with self._lock:
            probe = self._inflight.get(name)
            if probe is not None and (not probe.done.is_set() or probe.started >= since):
                return probe
            probe = _Probe(time.monotonic())
            self._inflight[name] = probe
            worker = self._workers.get(name)
            if worker is None or worker.device is not dev:
                worker = self._workers[name] = _ProbeWorker(name, dev)
            worker.submit(probe)
        return probe

    def _record(self, name: str, new: DeviceStatus) -> None:
        with self._lock:
            old = self._cache.get(name)
            if new.same_condition(old):
                return
            self._cache[name] = new
        self._transition(name, old, new)

    def _transition(self, name: str, old: DeviceStatus | None, new: DeviceStatus) -> None:
        """Logged once when a device changes condition (HA's rule), and journaled for maintenance."""
        if old is None and new.ready:
            return
        level = logging.INFO if new.ready else logging.WARNING
        log.log(level, "device %s: %s%s", name, new.state.value, f" ({new.code})" if new.code else "")
        self.store.audit("device", "status", name=name, state=new.state.value, code=new.code, detail=new.detail,
                         previous=old.state.value if old else "")

    def _loop_transition(self, loop: str, what: str) -> None:
        self.store.audit("device", f"monitor-{what}", loop=loop)

    def statuses(self) -> dict[str, DeviceStatus]:
        with self._lock:
            out = dict(self._cache)
        for name, dc in self.devices.configs.items():
            if name not in out:
                out[name] = DeviceStatus(DeviceState.NO_DEVICE, "disabled" if not dc.enabled else "not polled yet",
                                         code="disabled" if not dc.enabled else "")
        return out

    def status(self, name: str) -> DeviceStatus:
        return self.statuses()[name]

    def fresh(self, name: str) -> DeviceStatus:
        """A new probe (before a print job: the cache may be seconds old), bounded like every probe."""
        self.refresh((name,))
        return self.status(name)

    def card_read(self) -> None:
        """A card was just read: the card watch knows a card is on the reader."""
        if self.card_watch is not None:
            self.card_watch.saw_card()

    def card_removed(self, since: float) -> bool:
        """The card watch saw the card leave the reader after ``since`` (a reader that does not answer has not
        had its card "removed")."""
        return self.card_watch is not None and self.card_watch.removed(since)

    def card_present(self) -> bool:
        """A card on the reader, from the card watch's cache: never asks the reader on the caller's thread."""
        return self.card_watch is not None and self.card_watch.present() and self.status("card_reader").state not in (
            DeviceState.NO_DEVICE, DeviceState.UNKNOWN, DeviceState.HARDWARE_ERROR)
