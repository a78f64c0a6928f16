"""Barcode decoding behind one small interface, with two backends: zxing-cpp and pyzbar.

A ``Decoder`` turns a frame (BGR or grayscale numpy array) into ``Barcode`` values. Both
backends return the code's raw bytes and decode UTF-8 here, strictly: zbar otherwise
guesses an encoding (about 40% of UTF-8 QR payloads came back as the wrong text on plain
``pyzbar.decode``), and a payload that is not valid UTF-8 is dropped, never mis-read.

``zxing`` (the default, by bench/bench_barcode.py) reads QR, Code128 and PDF417: half
resolution first (cheap, finds the usual large code), then full resolution (small modules);
each pass retries inverted on a miss (dark-mode phone screens show light modules on dark),
which zxing-cpp does inside the call at a fraction of a separate inverted pass. ``zbar``
(the design card's pyzbar) runs zbar in binary mode on regions of interest, as they are
and after an adaptive threshold (glare, low contrast, inverted screens).

Libraries are imported lazily, so this module imports on a machine without them; a missing
one raises ``MissingLibraryError`` naming the package.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from drivers.base import MissingLibraryError

ZBAR_CFG_BINARY = 4  # zbar 0.23's ZBAR_CFG_BINARY: return QR bytes as they are, no charset guess
MAX_PAYLOAD_BYTES = 4096  # nothing we read is longer; a longer read is not ours


@dataclass(frozen=True)
class Barcode:
    """One decoded code: ``format`` is zxing-cpp's name ("QRCode", "MicroQRCode", "Code128", "PDF417")."""

    format: str
    text: str

    @property
    def linear(self) -> bool:
        """1D codes have no error correction worth the name: callers confirm them with a second read."""
        return self.format == "Code128"


class Decoder(Protocol):
    name: str

    def decode(self, frame: Any) -> list[Barcode]: ...


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise MissingLibraryError("cv2", "opencv-python-headless") from exc
    return cv2


def to_gray(frame: Any) -> Any:
    if frame.ndim == 2:
        return frame
    return _cv2().cvtColor(frame, _cv2().COLOR_BGR2GRAY)


def _text(raw: bytes) -> str | None:
    if not raw or len(raw) > MAX_PAYLOAD_BYTES:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _unique(codes: Iterable[Barcode]) -> list[Barcode]:
    return list(dict.fromkeys(codes))


class ZxingDecoder:
    """zxing-cpp limited to QR, Code128 and PDF417: half resolution, then full; inverted on misses."""

    name = "zxing"

    def __init__(self, invert_pass: bool = True) -> None:
        try:
            import zxingcpp
        except ImportError as exc:
            raise MissingLibraryError("zxingcpp", "zxing-cpp") from exc
        self._z = zxingcpp
        self._formats = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.PDF417)
        self.invert_pass = invert_pass

    def _read(self, gray: Any) -> list[Barcode]:
        out = []
        for r in self._z.read_barcodes(gray, formats=self._formats, try_rotate=True, try_downscale=False,
                                       try_invert=self.invert_pass):
            text = _text(bytes(r.bytes))
            if text is not None:
                out.append(Barcode(r.format.name, text))
        return out

    def decode(self, frame: Any) -> list[Barcode]:
        cv2 = _cv2()
        gray = to_gray(frame)
        h, w = gray.shape
        if w >= 800:
            found = self._read(cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
            if found:
                return _unique(found)
        return _unique(self._read(gray))


class ZbarDecoder:
    """pyzbar with zbar in binary mode for QR; ``tuned`` scans regions of interest (plain, then thresholded)
    instead of the whole frame: faster, and the threshold rescues glare, low contrast and dark mode."""

    name = "zbar"

    def __init__(self, tuned: bool = True) -> None:
        try:
            from pyzbar import pyzbar, wrapper
        except (ImportError, OSError) as exc:  # OSError: libzbar0 missing
            raise MissingLibraryError("pyzbar", "pyzbar and the libzbar0 system package") from exc
        self._pz = pyzbar
        self._w = wrapper
        self.tuned = tuned
        if not tuned:
            self.name = "zbar-plain"

    def _scan(self, gray: Any) -> list[Barcode]:
        """One zbar pass over a grayscale image, QR and Code128 only, QR in binary mode."""
        pz, w = self._pz, self._w
        out: list[Barcode] = []
        data = gray.tobytes() if gray.flags["C_CONTIGUOUS"] else gray.copy().tobytes()
        height, width = gray.shape
        with pz._image_scanner() as scanner:
            w.zbar_image_scanner_set_config(scanner, w.ZBarSymbol.NONE, w.ZBarConfig.CFG_ENABLE, 0)
            for sym in (w.ZBarSymbol.QRCODE, w.ZBarSymbol.CODE128):
                w.zbar_image_scanner_set_config(scanner, sym, w.ZBarConfig.CFG_ENABLE, 1)
            w.zbar_image_scanner_set_config(scanner, w.ZBarSymbol.QRCODE, ZBAR_CFG_BINARY, 1)
            with pz._image() as img:
                w.zbar_image_set_format(img, pz._FOURCC["L800"])
                w.zbar_image_set_size(img, width, height)
                w.zbar_image_set_data(img, ctypes.cast(data, ctypes.c_void_p), len(data), None)
                if w.zbar_scan_image(scanner, img) < 0:
                    return []
                for sym in pz._symbols_for_image(img):
                    raw = ctypes.string_at(w.zbar_symbol_get_data(sym), w.zbar_symbol_get_data_length(sym))
                    text = _text(raw)
                    if text is not None:
                        qr = sym.contents.type == w.ZBarSymbol.QRCODE
                        out.append(Barcode("QRCode" if qr else "Code128", text))
        return out

    def decode(self, frame: Any) -> list[Barcode]:
        gray = to_gray(frame)
        if not self.tuned:
            return _unique(self._scan(gray))
        cv2 = _cv2()
        for x, y, w, h in regions_of_interest(gray):
            roi = np.ascontiguousarray(gray[y:y + h, x:x + w])
            found = self._scan(roi)
            if found:
                return _unique(found)
            block = max(15, (min(w, h) // 16) | 1)
            binary = cv2.adaptiveThreshold(roi, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 5)
            for candidate in (binary, cv2.bitwise_not(binary)):
                found = self._scan(candidate)
                if found:
                    return _unique(found)
        return []


def regions_of_interest(gray: Any, limit: int = 3) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) around the busiest high-contrast areas: where a code probably is.

    Works on a quarter-size copy: morphological gradient, Otsu, a closing that merges modules
    into one blob per code, then the largest blobs with a margin, in full-resolution pixels.
    """
    cv2 = _cv2()
    h, w = gray.shape
    small = cv2.resize(gray, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    _, mask = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = sorted((cv2.boundingRect(c) for c in contours), key=lambda b: b[2] * b[3], reverse=True)
    out = []
    for bx, by, bw, bh in boxes[:limit]:
        if bw * bh < 64:
            break
        m = max(bw, bh) // 4 + 2
        x0, y0 = max(0, (bx - m) * 4), max(0, (by - m) * 4)
        x1, y1 = min(w, (bx + bw + m) * 4), min(h, (by + bh + m) * 4)
        out.append((x0, y0, x1 - x0, y1 - y0))
    return out


BACKENDS = ("zxing", "zbar")
DEFAULT_BACKEND = "zxing"


def make_decoder(backend: str = DEFAULT_BACKEND) -> Decoder:
    """``zxing`` (default), ``zbar`` (tuned) or ``zbar-plain`` (one binary-mode pass)."""
    if backend == "zxing":
        return ZxingDecoder()
    if backend == "zbar":
        return ZbarDecoder(tuned=True)
    if backend == "zbar-plain":
        return ZbarDecoder(tuned=False)
    raise ValueError(f"unknown barcode backend {backend!r}; use one of {', '.join(BACKENDS)}")
