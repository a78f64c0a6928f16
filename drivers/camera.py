"""The camera: frames from OpenCV (device index, image sequence or video file, MJPEG URL).

A capture thread reads continuously and keeps only the newest frame. Reading inside the
decode loop instead lets latency grow with every slow decode (measured: 1.6 s behind when a
decode takes 60 ms; ~40 ms with a newest-frame grabber), because the camera and FFmpeg
buffer frames and ``CAP_PROP_BUFFERSIZE`` is ignored for network streams.

The thread supervises itself (as ``kiosk.supervise.SupervisedLoop`` does, here because
drivers sit below the core): when the camera goes away (unplugged, stream dropped) the read
fails, the failure is logged once, and the source is reopened with backoff; the status
says ``offline`` meanwhile and ``online`` again when frames return.
A kiosk camera is dedicated, so capture starts on first use and keeps the device open while
anyone looks (the status monitor polls it every few seconds): the first scan is instant and
the status is the truth, not a probe. Nobody asking for ``idle_stop_s`` releases the device
and the thread sleeps, so a stopped kiosk does not keep grabbing frames.

Decoding is ``drivers.decoders``; ``scan()`` decodes the newest frame in the caller's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.base import AdmError, DeviceError, DeviceState, DeviceStatus, MissingLibraryError
from drivers.decoders import Barcode, Decoder, make_decoder

log = logging.getLogger(__name__)
OPEN_TIMEOUT_MS = 3000
READ_TIMEOUT_MS = 3000

__all__ = ["Barcode", "Camera", "FrameSource", "Scan", "opencv_source"]


class FrameSource(Protocol):
    def read(self) -> tuple[bool, Any]: ...
    def isOpened(self) -> bool: ...  # noqa: N802
    def release(self) -> None: ...


class CameraLost(AdmError):
    """The source stopped giving frames: the supervisor reopens it with backoff."""

    code = "camera-lost"


@dataclass(frozen=True)
class Scan:
    """What one frame held. ``frame_id`` increases per captured frame; ``captured_at`` is ``time.monotonic``."""

    frame_id: int
    captured_at: float
    codes: list[Barcode]


class Camera:
    """A frame grabber plus decoder; ``open_source`` returns a ``cv2.VideoCapture``-like object
    whose ``read()`` blocks until the next frame, as a camera's does (files are paced by
    ``opencv_source``). The grabber never sleeps between reads: a stream that buffered frames
    is drained at once, so the newest frame is the one the camera just sent.
    """

    def __init__(self, name: str, open_source: Callable[[], FrameSource], decoder: Decoder | None = None,
                 stale_after_s: float = 2.0, burst_s: float = 1.0, max_backoff_s: float = 10.0,
                 idle_stop_s: float = 30.0) -> None:
        self.name = name
        self._open = open_source
        self._decoder = decoder
        self.stale_after_s = stale_after_s
        self.burst_s = burst_s
        self._src: FrameSource | None = None
        self._lock = threading.Lock()
        self._frame_ready = threading.Condition(self._lock)
        self._frame: Any = None
        self._frame_id = 0
        self._frame_at = 0.0
        self._ever_opened = False
        self._error: DeviceError | None = None
        self._stopping = threading.Event()
        self.idle_stop_s = idle_stop_s
        self._last_use = time.monotonic()
        self._wanted = threading.Event()
        self._idle = False
        self.max_backoff_s = max_backoff_s
        self.failures = 0
        self.last_error = ""
        self._thread: threading.Thread | None = None
        self._started = False

    # -- capture ------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        self._stopping.clear()
        self._thread = threading.Thread(target=self._supervise, name=f"camera-{self.name}", daemon=True)
        self._thread.start()

    def _supervise(self) -> None:
        """Runs bursts forever; a failure is logged once, retried with backoff, its end logged once."""
        while not self._stopping.is_set():
            try:
                self._burst()
            except Exception as exc:  # noqa: BLE001 - the supervisor's whole point
                self.failures += 1
                if self.failures == 1:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("camera %s: %s; reconnecting with backoff", self.name, self.last_error)
                self._stopping.wait(min(self.max_backoff_s, 0.25 * 2 ** min(self.failures, 6)))
            else:
                if self.failures:
                    log.info("camera %s: frames again after %d failed attempts", self.name, self.failures)
                self.failures = 0

    def _touch(self) -> bool:
        """Marks the camera in use; True when capture was idle (or not started) until now."""
        was_idle = self._idle or not self._started
        self._last_use = time.monotonic()
        self._wanted.set()
        self.start()
        return was_idle

    def stop(self) -> None:
        self._stopping.set()
        self._wanted.set()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(5)
        with self._lock:
            self._started = False
        self._release()

    def _release(self) -> None:
        src, self._src = self._src, None
        if src is not None:
            try:
                src.release()
            except Exception:  # noqa: BLE001 - releasing a dead source must not mask why it died
                log.debug("camera %s: release failed", self.name, exc_info=True)

    def _burst(self) -> None:
        """Reads frames for up to ``burst_s``; raises ``CameraLost`` so the supervisor backs off.

        Returning every second (rather than looping forever) lets the supervisor record the
        recovery and lets ``stop()`` and idling take effect promptly.
        """
        self._wanted.clear()
        if time.monotonic() - self._last_use > self.idle_stop_s:
            self._idle = True
            self._release()
            self._wanted.wait(self.burst_s)
            return
        self._idle = False
        if self._src is None or not self._src.isOpened():
            self._release()
            try:
                src = self._open()
            except MissingLibraryError as exc:
                self._error = exc
                raise
            if not src.isOpened():
                raise CameraLost("the camera source did not open")
            self._src, self._error, self._ever_opened = src, None, True
        end = time.monotonic() + self.burst_s
        while not self._stopping.is_set() and time.monotonic() < end:
            ok, frame = self._src.read()
            if not ok or frame is None:
                self._release()
                raise CameraLost("the camera stopped sending frames")
            with self._frame_ready:
                self._frame, self._frame_id, self._frame_at = frame, self._frame_id + 1, time.monotonic()
                self._frame_ready.notify_all()

    def latest(self, after: int = 0, timeout_s: float = 0.0) -> tuple[int, float, Any]:
        """The newest frame as ``(frame_id, captured_at, frame)``, waiting up to ``timeout_s`` for one
        newer than ``after``; ``(0, 0.0, None)`` when there is none yet."""
        self._touch()
        deadline = time.monotonic() + timeout_s
        with self._frame_ready:
            while self._frame_id <= after and (left := deadline - time.monotonic()) > 0:
                self._frame_ready.wait(left)
            if self._frame is None:
                return 0, 0.0, None
            return self._frame_id, self._frame_at, self._frame

    def snapshot_jpeg(self, width: int = 640, quality: int = 70, timeout_s: float = 1.0) -> bytes | None:
        """The newest frame scaled to ``width`` as JPEG (the maintenance live preview); None without a frame."""
        _id, _at, frame = self.latest(timeout_s=timeout_s)
        if frame is None:
            return None
        try:
            import cv2
        except ImportError as exc:
            raise MissingLibraryError("cv2", "opencv-python-headless") from exc
        small = cv2.resize(frame, (width, int(frame.shape[0] * width / frame.shape[1])))
        ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return jpeg.tobytes() if ok else None

    # -- the device contract --------------------------------------------------------------

    def status(self) -> DeviceStatus:
        if self._touch():  # starting or waking: give the camera a moment to deliver a frame
            self.latest(after=self._frame_id, timeout_s=0.5)
        if self._error is not None:
            return DeviceStatus(DeviceState.HARDWARE_ERROR, self._error.detail, code=self._error.code)
        age = time.monotonic() - self._frame_at if self._frame_id else None
        if age is not None and age <= self.stale_after_s:
            return DeviceStatus(DeviceState.ONLINE, "ready")
        if not self._ever_opened:
            return DeviceStatus(DeviceState.NO_DEVICE, "camera not available", code="no-camera")
        return DeviceStatus(DeviceState.OFFLINE, "camera stopped sending frames; reconnecting", code="camera-lost")

    @property
    def decoder(self) -> Decoder:
        if self._decoder is None:
            self._decoder = make_decoder()
        return self._decoder

    def scan(self, after: int = 0, timeout_s: float = 0.0) -> Scan:
        """Decodes the newest frame (newer than ``after`` if one arrives within ``timeout_s``)."""
        frame_id, at, frame = self.latest(after, timeout_s)
        if frame is None:
            return Scan(0, 0.0, [])
        return Scan(frame_id, at, self.decoder.decode(frame))


def opencv_source(source: str, file_fps: float = 30.0) -> Callable[[], FrameSource]:
    """An opener for ``source``: a device index ("0"), an MJPEG/RTSP URL, a video file or an
    image sequence ("frames/%04d.png"). Network sources get open and read timeouts so a
    vanished camera fails in seconds instead of hanging the capture thread; files are played
    like a camera (paced at ``file_fps``, looping at the end: a technician's demo video)."""
    def open_source() -> FrameSource:
        try:
            import cv2
        except ImportError as exc:
            raise MissingLibraryError("cv2", "opencv-python-headless") from exc
        if source.isdigit():
            return cv2.VideoCapture(int(source))
        if source.startswith(("http://", "https://", "rtsp://")):
            return cv2.VideoCapture(source, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS,
                                                             cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS])
        backend = cv2.CAP_IMAGES if "%" in source else cv2.CAP_ANY
        return PacedFile(lambda: cv2.VideoCapture(source, backend), file_fps)
    return open_source


class PacedFile:
    """A file source that behaves like a camera: ``read()`` blocks until the next frame time and
    the file starts again at its end (OpenCV's image sequences do not loop by themselves)."""

    def __init__(self, open_capture: Callable[[], Any], fps: float) -> None:
        self._open = open_capture
        self._cap = open_capture()
        self.period = 1.0 / fps
        self._next = time.monotonic()

    def read(self) -> tuple[bool, Any]:
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next + self.period, time.monotonic() - self.period)
        ok, frame = self._cap.read()
        if not ok:
            self._cap.release()
            self._cap = self._open()
            ok, frame = self._cap.read()
        return ok, frame

    def isOpened(self) -> bool:  # noqa: N802
        return bool(self._cap.isOpened())

    def release(self) -> None:
        self._cap.release()


def is_file_source(source: str) -> bool:
    """Files end; cameras and streams do not (files are paced and looped by ``PacedFile``)."""
    return bool(source) and not source.isdigit() and not source.startswith(("http://", "https://", "rtsp://"))
