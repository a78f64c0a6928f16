"""A simulated camera: frames of an empty desk, or of a phone screen / document showing a QR code."""

from __future__ import annotations

import threading

import numpy as np
import segno


def qr_frame(payload: str, size: tuple[int, int] = (1280, 720), scale: int = 8) -> np.ndarray:
    """A BGR frame with ``payload`` as a QR code in the middle of a grey background."""
    w, h = size
    frame = np.full((h, w, 3), 170, np.uint8)
    qr = segno.make(payload, error="m")
    matrix = np.array([[0 if bit else 255 for bit in row] for row in qr.matrix_iter(scale=scale, border=4)], np.uint8)
    qh, qw = matrix.shape
    y, x = (h - qh) // 2, (w - qw) // 2
    frame[y:y + qh, x:x + qw] = matrix[:, :, None]
    return frame


class SimFrameSource:
    """``cv2.VideoCapture``-like; ``show(payload)`` puts a code in front of the lens until ``clear()``."""

    def __init__(self, size: tuple[int, int] = (1280, 720)) -> None:
        self.size = size
        self.opened = True
        self._frame = np.full((size[1], size[0], 3), 170, np.uint8)
        self._empty = self._frame
        self._lock = threading.Lock()

    def show(self, payload: str) -> None:
        with self._lock:
            self._frame = qr_frame(payload, self.size)

    def clear(self) -> None:
        with self._lock:
            self._frame = self._empty

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.opened:
            return False, None
        with self._lock:
            return True, self._frame.copy()

    def isOpened(self) -> bool:  # noqa: N802
        return self.opened

    def release(self) -> None:
        pass
