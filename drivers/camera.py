"""The camera: frames from OpenCV (device, file, MJPEG URL) decoded with pyzbar.

``Camera`` reads from any object with ``read() -> (ok, frame)`` (``cv2.VideoCapture`` or a
simulated frame source). QR payloads are decoded as bytes (zbar's binary mode) and UTF-8
decoded here, so zbar never guesses an encoding wrongly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.base import DeviceState, DeviceStatus, MissingLibraryError


class FrameSource(Protocol):
    def read(self) -> tuple[bool, Any]: ...
    def isOpened(self) -> bool: ...  # noqa: N802
    def release(self) -> None: ...


@dataclass(frozen=True)
class Barcode:
    format: str
    text: str


def _pyzbar() -> Any:
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError) as exc:  # OSError: libzbar0 missing
        raise MissingLibraryError("pyzbar", "pyzbar (and libzbar0)") from exc
    return pyzbar


def decode_frame(frame: Any) -> list[Barcode]:
    """Every readable QR/Code128 in ``frame``; a payload that is not valid UTF-8 is dropped."""
    import cv2
    pyzbar = _pyzbar()
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    out = []
    for sym in pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE, pyzbar.ZBarSymbol.CODE128]):
        try:
            text = sym.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(Barcode(sym.type, text))
    return out


class Camera:
    def __init__(self, name: str, open_source: Callable[[], FrameSource]) -> None:
        self.name = name
        self._open = open_source
        self._src: FrameSource | None = None

    def _source(self) -> FrameSource | None:
        if self._src is None or not self._src.isOpened():
            try:
                self._src = self._open()
            except Exception:  # noqa: BLE001 - a camera that cannot open is "noDevice"
                self._src = None
        return self._src

    def status(self) -> DeviceStatus:
        src = self._source()
        if src is None or not src.isOpened():
            return DeviceStatus(DeviceState.NO_DEVICE, "camera not available", code="no-camera")
        return DeviceStatus(DeviceState.ONLINE, "ready")

    def scan(self) -> list[Barcode]:
        src = self._source()
        if src is None:
            return []
        ok, frame = src.read()
        if not ok or frame is None:
            return []
        return decode_frame(frame)


def opencv_source(source: str) -> Callable[[], FrameSource]:
    def open_source() -> FrameSource:
        try:
            import cv2
        except ImportError as exc:
            raise MissingLibraryError("cv2", "opencv-python-headless") from exc
        if source.isdigit():
            return cv2.VideoCapture(int(source))
        if source.startswith(("http://", "https://", "rtsp://")):
            return cv2.VideoCapture(source, cv2.CAP_FFMPEG)
        return cv2.VideoCapture(source, cv2.CAP_IMAGES if "%" in source else cv2.CAP_ANY)
    return open_source
