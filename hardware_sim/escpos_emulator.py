"""An ESC/POS thermal printer emulator: parses the byte stream, answers ``DLE EOT``, keeps receipts.

The same object serves in-process (default simulation: it is the driver's byte stream) and
behind a pty or TCP 9100 (``--sim=system``, see ``escpos_server``). State switches:
``paper`` (ok | near-end | out), ``cover_open``, ``mute`` (answers nothing, like a dead
line). Each receipt keeps its lines with the style they were printed in (bold, character
size, alignment) and its QR codes, so it can be rendered to PNG for a person to look at
(``png_dir``: every cut writes ``receipt-NNNN.png`` there).

``feed_time(length_mm)`` (realistic timing: the profile's speed) makes the printer take its
time: the write that ends a receipt returns once its paper is out, as a line with flow control
would hold the host, while status queries from other threads are answered meanwhile. Each
receipt keeps when it started and ended (the print benchmark's and the lane tests' witness).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import segno

from hardware_sim.receipt_model import Printed, QrCode, StyledLine
from hardware_sim.receipt_png import render

ESC, GS, DLE, LF = 0x1B, 0x1D, 0x10, 0x0A
LINE_MM = 25.4 / 6  # the default line spacing (ESC 2): 1/6 inch per line of single height
CUT_FEED_MM = 15.0  # paper fed past the head to the cutter
DOTS_PER_MM = 203 / 25.4
# ESC commands and how many parameter bytes follow them
_ESC_ARGS = {0x40: 0, 0x21: 1, 0x45: 1, 0x2D: 1, 0x61: 1, 0x64: 1, 0x74: 1, 0x4D: 1, 0x47: 1, 0x7B: 1,
             0x4A: 1, 0x32: 0, 0x33: 1, 0x52: 1, 0x56: 1, 0x20: 1, 0x70: 3, 0x63: 2, 0x69: 0, 0x6D: 0}
_GS_ARGS = {0x21: 1, 0x42: 1, 0x48: 1, 0x66: 1, 0x68: 1, 0x77: 1, 0x62: 1, 0x61: 1, 0x49: 1, 0x72: 1}


_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


class EscposEmulator:
    def __init__(self, width_dots: int = 576, png_dir: str | Path | None = None) -> None:
        self.width_dots = width_dots
        self.png_dir = Path(png_dir) if png_dir else None
        self.paper = "ok"  # ok | near-end | out
        self.cover_open = False
        self.mute = False
        self.receipts: list[Printed] = []
        self._current = Printed()
        self._line = bytearray()
        self._buf = bytearray()
        self._answers = bytearray()
        self._lock = threading.Condition()
        self.bytes_in = 0
        self._style = StyledLine("")
        self._line_style: StyledLine | None = None
        self._qr_data = b""
        self._qr_module = 3
        self.feed_time: Callable[[float], float] | None = None  # receipt length (mm) -> seconds it takes
        self._feeding: list[tuple[Printed, float]] = []

    # -- the byte stream (the driver's ByteStream protocol) ------------------------------

    def write(self, data: bytes) -> None:
        with self._lock:
            self.bytes_in += len(data)
            self._buf += data
            self._parse()
            self._lock.notify_all()
            feeding, self._feeding = self._feeding, []
        for receipt, seconds in feeding:  # outside the lock: the printer still answers status queries
            time.sleep(max(0.0, receipt.started + seconds - time.time()))
            receipt.ended = time.time()

    def read(self, timeout_s: float = 0.2) -> bytes:
        with self._lock:
            if not self._answers:
                self._lock.wait(timeout_s)
            out, self._answers = bytes(self._answers), bytearray()
            return out

    # -- status -------------------------------------------------------------------------

    def status_byte(self, n: int) -> int:
        if n == 1:
            return 0x1A if self.cover_open or self.paper == "out" else 0x12
        if n == 2:
            return 0x12 | (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
        if n == 3:
            return 0x12
        if n == 4:
            return {"ok": 0x12, "near-end": 0x1E, "out": 0x7E}[self.paper]
        return 0x12

    # -- parser ---------------------------------------------------------------------------

    def _need(self, n: int) -> bool:
        return len(self._buf) >= n

    def _parse(self) -> None:
        buf = self._buf
        while buf:
            b = buf[0]
            consumed = 1
            if b == DLE:
                if not self._need(3):
                    return
                if buf[1] == 0x04:
                    if not self.mute:
                        self._answers.append(self.status_byte(buf[2]))
                    consumed = 3
                else:
                    consumed = 2
            elif b == ESC:
                if not self._need(2):
                    return
                n = _ESC_ARGS.get(buf[1], 1)
                if not self._need(2 + n):
                    return
                consumed = 2 + n
                self._esc(buf[1], buf[2] if n else 0)
            elif b == GS:
                if not self._need(2):
                    return
                consumed = self._gs()
                if consumed == 0:
                    return
            elif b == LF:
                self._newline()
            elif b >= 0x20 or b == 0x09:
                if self.paper != "out" and not self.cover_open:
                    self._current.started = self._current.started or time.time()
                    if not self._line:
                        self._line_style = self._style
                    self._line.append(b)
            if self.paper != "out" and not self.cover_open:
                self._current.raw += buf[:consumed]
            del buf[:consumed]

    def _gs(self) -> int:
        buf = self._buf
        cmd = buf[1]
        if cmd == 0x56:  # GS V m [n]
            if not self._need(3):
                return 0
            n = 4 if buf[2] in (65, 66) else 3
            if not self._need(n):
                return 0
            self._cut()
            return n
        if cmd == 0x28:  # GS ( k pL pH cn fn [...]
            if not self._need(5):
                return 0
            size = buf[3] | (buf[4] << 8)
            if not self._need(5 + size):
                return 0
            body = bytes(buf[5:5 + size])
            if buf[2] == 0x6B and len(body) >= 3 and body[0] == 0x31 and body[1] == 0x50:  # QR store data
                self._qr_data = body[3:]
                self._current.qr.append(body[3:])
            elif buf[2] == 0x6B and len(body) >= 3 and body[:2] == b"\x31\x43":  # QR module size
                self._qr_module = body[2]
            elif buf[2] == 0x6B and len(body) >= 2 and body[:2] == b"\x31\x51" and self._printing:  # QR print
                self._current.items.append(QrCode(self._qr_data, self._qr_module, self._style.align))
            return 5 + size
        if cmd == 0x76:  # GS v 0 m xL xH yL yH data
            if not self._need(8):
                return 0
            width = buf[4] | (buf[5] << 8)
            height = buf[6] | (buf[7] << 8)
            return 8 + width * height if self._need(8 + width * height) else 0
        if cmd == 0x6B:  # GS k m ...
            if not self._need(3):
                return 0
            if buf[2] >= 65:
                return 4 + buf[3] if self._need(4) and self._need(4 + buf[3]) else 0
            end = buf.find(b"\x00", 3)
            return end + 1 if end >= 0 else 0
        if cmd == 0x4C or cmd == 0x57:  # GS L / GS W nL nH
            return 4 if self._need(4) else 0
        if cmd == 0x21 and self._need(3):  # GS ! n: character size
            self._restyle(width=(buf[2] >> 4) + 1, height=(buf[2] & 0x0F) + 1)
        return 2 + _GS_ARGS.get(cmd, 1) if self._need(2 + _GS_ARGS.get(cmd, 1)) else 0

    @property
    def _printing(self) -> bool:
        return self.paper != "out" and not self.cover_open

    def _restyle(self, **changes: Any) -> None:
        self._style = dataclasses.replace(self._style, **changes)

    def _esc(self, cmd: int, arg: int) -> None:
        """Tracks the print mode the text after it is printed in."""
        if cmd == 0x40:  # ESC @: initialise
            self._style = StyledLine("")
        elif cmd == 0x45:  # ESC E n: emphasis
            self._restyle(bold=bool(arg & 1))
        elif cmd == 0x21:  # ESC ! n: mode (bit 3 bold, bit 4 double height, bit 5 double width)
            self._restyle(bold=bool(arg & 0x08), height=2 if arg & 0x10 else 1, width=2 if arg & 0x20 else 1)
        elif cmd == 0x61:  # ESC a n: justification
            self._restyle(align=_ALIGN.get(arg, "left"))

    def _newline(self) -> None:
        if not self._printing:
            return
        text = self._line.decode("cp437", errors="replace")
        style = self._line_style or self._style
        self._current.lines.append(text)
        self._current.items.append(StyledLine(text, style.bold, style.width, style.height, style.align))
        self._line.clear()
        self._line_style = None

    def _cut(self) -> None:
        if self._line:
            self._newline()
        self._current.cut = True
        self._current.started = self._current.started or time.time()
        if self.feed_time is None:
            self._current.ended = time.time()
        else:
            self._feeding.append((self._current, self.feed_time(self.length_mm(self._current))))
        if self.png_dir is not None:  # before it is published: a reader may look at it at once
            self._current.png = self.save_png(self._current, self.png_dir / f"receipt-{len(self.receipts) + 1:04d}.png")
        self.receipts.append(self._current)
        self._current = Printed()

    @staticmethod
    def length_mm(receipt: Printed) -> float:
        """The paper a receipt takes: its lines (at their height), its QR codes, the feed to the cutter."""
        mm = CUT_FEED_MM
        for item in receipt.items:
            if isinstance(item, StyledLine):
                mm += LINE_MM * max(1, item.height)
            else:
                modules = segno.make(item.data, error="m", micro=False).symbol_size(border=4)[1]
                mm += modules * item.module / DOTS_PER_MM
        return mm

    def save_png(self, receipt: Printed, path: str | Path) -> Path:
        """Renders ``receipt`` as the paper would look (see ``receipt_png``) and writes it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        render(receipt, self.width_dots).save(path)
        return path
