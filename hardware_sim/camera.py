"""A simulated camera: frames of a desk, a phone screen or a document with a code.

``SimFrameSource`` is ``cv2.VideoCapture``-like and feeds the production ``Camera`` driver in
the default simulation; ``MjpegServer`` serves the same frames as an HTTP MJPEG stream
(``multipart/x-mixed-replace``, Content-Type and Content-Length on every part, as IP cameras
do) for ``--sim=system``, where the driver opens it with ``cv2.VideoCapture(url)``.
Scenes come from ``hardware_sim.scenes``; ``show(payload)`` is the simulator panel's
"hold a QR code to the camera".
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import segno

from hardware_sim import scenes

log = logging.getLogger(__name__)
BOUNDARY = "admframe"


def qr_frame(payload: str, size: tuple[int, int] = (1280, 720), scale: int = 8) -> np.ndarray:
    """A BGR frame with ``payload`` as a clean QR code (UTF-8) in the middle of a grey background."""
    w, h = size
    frame = np.full((h, w, 3), 170, np.uint8)
    qr = segno.make_qr(payload, error="m", encoding="utf-8")
    matrix = np.array([[0 if bit else 255 for bit in row] for row in qr.matrix_iter(scale=scale, border=4)], np.uint8)
    qh, qw = matrix.shape
    y, x = (h - qh) // 2, (w - qw) // 2
    frame[y:y + qh, x:x + qw] = matrix[:, :, None]
    return frame


def save_qr_png(payload: str, path: Path, scale: int = 8) -> Path:
    """The QR as a PNG file (what WhatsApp would show), UTF-8 encoded like every code we print."""
    path.parent.mkdir(parents=True, exist_ok=True)
    segno.make_qr(payload, error="m", encoding="utf-8").save(str(path), kind="png", scale=scale, border=4)
    return path


def idle_desk(size: tuple[int, int], seed: int) -> np.ndarray:
    """What the camera sees with nobody in front of it: a textured desk, no code.

    A coarse random texture scaled up: a few MB, where the full scene renderer needs ~50 MB of
    scratch (the device monitor wakes the camera at start-up, so this is on every kiosk's start).
    """
    rng = np.random.default_rng(seed)
    w, h = size
    coarse = rng.integers(80, 160, (max(1, h // 16), max(1, w // 16), 3), dtype=np.uint8)
    desk = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(-6, 7, (h, w, 1), dtype=np.int16)
    return np.clip(desk.astype(np.int16) + grain, 0, 255).astype(np.uint8)


class SimFrameSource:
    """``cv2.VideoCapture``-like; ``show(payload)`` puts a code in front of the lens until ``clear()``.

    ``read()`` blocks until the next frame time at ``fps``, as a camera does; ``version`` changes with
    every new scene, so the MJPEG server encodes each scene once. ``unplug()``/``plug()``
    make the camera go away and come back (the driver must reconnect).
    """

    def __init__(self, size: tuple[int, int] = (1280, 720), seed: int = 2024, fps: float = 30.0) -> None:
        self.size = size
        self.period = 1.0 / fps
        self._next = time.monotonic()
        self.opened = True
        self.seed = seed
        self._empty_frame: np.ndarray | None = None
        self._frame: np.ndarray | None = None
        self._lock = threading.Lock()
        self.version = 0
        self.shown_at = 0.0  # time.monotonic() of the last change

    def show(self, payload: str, surface: str = "phone", **scene: object) -> None:
        """A phone screen (or ``surface="document"``) showing ``payload``, slightly tilted, as a person holds it."""
        if self.size == scenes.FRAME_SIZE:
            spec = scenes.SceneSpec(surface=surface, payload=payload, module_px=6.0, rotation_deg=4.0, tilt=0.03,
                                    seed=self.seed)
            frame = scenes.render(replace(spec, **scene))  # type: ignore[arg-type]
        else:
            frame = qr_frame(payload, self.size)
        self.show_frame(frame)

    def show_frame(self, frame: np.ndarray) -> None:
        with self._lock:
            self._frame = frame
            self.version += 1
            self.shown_at = time.monotonic()

    @property
    def _empty(self) -> np.ndarray:
        if self._empty_frame is None:
            self._empty_frame = idle_desk(self.size, self.seed)
        return self._empty_frame

    def clear(self) -> None:
        self.show_frame(self._empty)

    def current(self) -> tuple[int, np.ndarray]:
        with self._lock:
            if self._frame is None:
                self._frame = self._empty
            return self.version, self._frame

    def read(self) -> tuple[bool, np.ndarray | None]:
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next + self.period, time.monotonic() - self.period)
        if not self.opened:
            return False, None
        return True, self.current()[1]

    def isOpened(self) -> bool:  # noqa: N802
        return self.opened

    def release(self) -> None:
        pass

    def unplug(self) -> None:
        self.opened = False

    def plug(self) -> None:
        self.opened = True


class MjpegServer:
    """Serves a ``SimFrameSource`` at ``url`` (``/stream.mjpg``) and one JPEG at ``/frame.jpg``.

    Each client gets its own stream at ``fps``; a frame is JPEG-encoded once per scene change
    and shared by all clients. ``stop()`` ends every stream (the driver then sees the camera go).
    """

    def __init__(self, frames: SimFrameSource, port: int = 0, fps: float = 30.0, quality: int = 85) -> None:
        self.frames = frames
        self.fps = fps
        self.quality = quality
        self._jpeg: tuple[int, bytes] = (-1, b"")
        self._jpeg_lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
                log.debug("mjpeg: " + format, *args)

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if self.path.split("?")[0] == "/frame.jpg":
                    body = server.jpeg()
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.split("?")[0] != "/stream.mjpg":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache, private")
                self.send_header("Pragma", "no-cache")
                self.end_headers()
                server.stream(self.wfile)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_port}/stream.mjpg"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="mjpeg-sim", daemon=True)

    def jpeg(self) -> bytes:
        version, frame = self.frames.current()
        with self._jpeg_lock:
            if self._jpeg[0] != version:
                ok, enc = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                if not ok:
                    raise RuntimeError("JPEG encoding failed")
                self._jpeg = (version, enc.tobytes())
            return self._jpeg[1]

    def stream(self, out: object) -> None:
        period = 1.0 / self.fps
        next_at = time.monotonic()
        try:
            while not self._stopping.is_set():
                body = self.jpeg()
                head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                out.write(head + body + b"\r\n")  # type: ignore[attr-defined]
                out.flush()  # type: ignore[attr-defined]
                next_at += period
                self._stopping.wait(max(0.0, next_at - time.monotonic()))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away

    def start(self) -> MjpegServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
