"""The receipt printer through python-escpos: serial, USB, network, or an in-process stream.

Status comes from ``DLE EOT 1`` and ``DLE EOT 4``. No answer (or an answer without the
fixed bits) is ``unknown``, never "paper ok" and never "out": python-escpos reads an empty
reply as "no paper" and a silent serial line as "ok", so we read the bytes ourselves.
"""

from __future__ import annotations

import os
import select
import socket
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from drivers.base import N_, Action, DeviceError, DeviceState, DeviceStatus, MissingLibraryError, Supply, SupplyLevel

DLE_EOT = b"\x10\x04"
NOT_PRINTED = N_("The receipt could not be printed. Your documents are not affected.")


def capabilities_cache_dir() -> Path:
    """Where python-escpos caches its parsed capability database.

    Without a persistent directory every import re-parses the YAML (0.3-0.4 s, on the kiosk's
    start-up path) and leaks a fresh temporary directory.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "adm-kiosk" / "escpos"


def _escpos() -> Any:
    cache = Path(os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR") or capabilities_cache_dir())
    try:  # python-escpos writes its pickle there on import and fails when the directory is missing
        cache.mkdir(parents=True, exist_ok=True)
        os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(cache)
    except OSError:  # a read-only home: python-escpos falls back to a temporary directory
        os.environ.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
    try:
        import escpos.escpos
        import escpos.printer
    except ImportError as exc:
        raise MissingLibraryError("escpos", "python-escpos") from exc
    return escpos


def decode_online(byte: int | None) -> DeviceState:
    """``DLE EOT 1``: bit 3 set = offline. Fixed bits: bit1 and bit4 set, bit0 and bit7 clear."""
    if byte is None or byte & 0x93 != 0x12:
        return DeviceState.UNKNOWN
    return DeviceState.OFFLINE if byte & 0x08 else DeviceState.ONLINE


def decode_paper(byte: int | None) -> SupplyLevel:
    """``DLE EOT 4``: bits 2-3 near end, bits 5-6 paper end."""
    if byte is None or byte & 0x93 != 0x12:
        return SupplyLevel.UNKNOWN
    if byte & 0x60:
        return SupplyLevel.OUT
    if byte & 0x0C:
        return SupplyLevel.LOW
    return SupplyLevel.OK


class ReceiptLine(Protocol):
    text: str
    bold: bool
    align: str
    big: bool


class ReceiptLayout(Protocol):
    """What the driver prints (``kiosk.printing.receipt.Receipt``); a protocol so drivers never import the core."""

    lines: list[Any]
    qr: str
    footer: list[Any]


class ByteStream(Protocol):
    def write(self, data: bytes) -> None: ...
    def read(self, timeout_s: float) -> bytes: ...


def stream_printer(stream: ByteStream, capabilities: str = "default") -> Any:
    """A python-escpos printer whose bytes go to ``stream`` (an emulator in the default simulation)."""
    escpos = _escpos()

    class StreamEscpos(escpos.escpos.Escpos):  # type: ignore[misc, name-defined]
        def _raw(self, msg: bytes) -> None:
            stream.write(bytes(msg))

        def _read(self) -> bytes:
            return stream.read(0.2)

    return StreamEscpos(profile=capabilities)


def connection_printer(transport: str, port: str, baudrate: int, usb_vendor: int, usb_product: int,
                       capabilities: str) -> Any:
    """A python-escpos printer on a real connection; opened lazily by python-escpos."""
    printer = _escpos().printer
    if transport == "serial":
        return printer.Serial(devfile=port, baudrate=baudrate, timeout=0.2, profile=capabilities)
    if transport == "network":
        host, _, tcp = port.partition(":")
        return printer.Network(host, int(tcp or 9100), timeout=2, profile=capabilities)
    if transport == "usb":
        return printer.Usb(usb_vendor, usb_product, timeout=0, profile=capabilities)
    raise ValueError(f"unknown receipt transport {transport!r}")


class ReceiptPrinter:
    """A receipt printer: ``status`` from ``DLE EOT``, ``print_receipt`` from a ``Receipt`` layout.

    Status bytes are read by this class, not by python-escpos: its ``Serial._read`` waits
    for 16 bytes or the whole timeout, and its ``paper_status()`` reads silence as "ok"
    (serial) or "no paper" (empty reply). Here an answer is taken as soon as it arrives,
    stale bytes are discarded before each query, and silence is ``unknown``.
    """

    def __init__(self, name: str, printer: Any, columns: int = 48, near_end_sensor: bool = True,
                 answer_timeout_s: float = 0.3) -> None:
        self.name = name
        self._p = printer
        self.columns = columns
        self.near_end_sensor = near_end_sensor
        self.answer_timeout_s = answer_timeout_s

    def _device(self) -> Any:
        """The open transport (pyserial port, socket) when python-escpos has one, else None."""
        return getattr(self._p, "device", None)  # python-escpos opens the connection on first use

    def _reset(self) -> None:
        """Forgets a broken connection so the next call reopens it (python-escpos would not)."""
        try:
            self._p.close()
        except Exception:  # noqa: BLE001 - closing a dead port may fail in any way
            pass
        if hasattr(self._p, "_device"):
            self._p._device = False

    def close(self) -> None:
        """Closes the connection now (python-escpos would at garbage collection, when the port may be gone)."""
        self._reset()

    @staticmethod
    def _drain(dev: Any) -> None:
        """Drops a late answer to an earlier query, which would be misread as this one's."""
        if hasattr(dev, "reset_input_buffer"):
            dev.reset_input_buffer()
        elif isinstance(dev, socket.socket):
            while select.select([dev], [], [], 0)[0]:
                if not dev.recv(64):
                    raise ConnectionError("printer closed the connection")

    def _answer(self, dev: Any) -> bytes:
        deadline = time.monotonic() + self.answer_timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return b""
            if dev is not None and hasattr(dev, "in_waiting"):
                waiting = dev.in_waiting
                if waiting:
                    return bytes(dev.read(waiting))
                time.sleep(min(0.005, left))
            elif isinstance(dev, socket.socket):
                if select.select([dev], [], [], left)[0]:
                    data = dev.recv(16)
                    if not data:
                        raise ConnectionError("printer closed the connection")
                    return bytes(data)
            else:
                answer = self._p._read()
                if answer:
                    return bytes(answer)

    def _query(self, n: int) -> int | None:
        """One ``DLE EOT n`` byte, or None when nothing (or no transport) answers in time."""
        try:
            dev = self._device()
            if dev is not None:
                self._drain(dev)
            self._p._raw(DLE_EOT + bytes([n]))
            answer = self._answer(dev)
        except Exception:  # noqa: BLE001 - any transport failure is "no answer"
            self._reset()
            return None
        return int(answer[-1]) if answer else None

    def status(self) -> DeviceStatus:
        online = decode_online(self._query(1))
        paper = decode_paper(self._query(4)) if online is not DeviceState.UNKNOWN else SupplyLevel.UNKNOWN
        if paper is SupplyLevel.LOW and not self.near_end_sensor:
            paper = SupplyLevel.OK
        supplies = {"paper": Supply(paper, unit="roll")}
        if online is DeviceState.UNKNOWN:
            return DeviceStatus(DeviceState.UNKNOWN, "no status answer", supplies, code="no-answer")
        if paper is SupplyLevel.OUT:
            return DeviceStatus(DeviceState.USER_ERROR, "paper out", supplies, code="media-empty")
        if online is DeviceState.OFFLINE:
            return DeviceStatus(DeviceState.OFFLINE, "offline (cover open or error)", supplies, code="offline")
        return DeviceStatus(DeviceState.ONLINE, "ready", supplies)

    def print_receipt(self, receipt: ReceiptLayout, check: Callable[[], DeviceStatus] | None = None) -> DeviceStatus:
        """Prints, then asks the printer again: the status after printing says whether the receipt surely came out
        (``unknown`` when the printer cannot answer status queries: then nobody knows)."""
        status = (check or self.status)()
        if status.state in (DeviceState.USER_ERROR, DeviceState.OFFLINE):
            raise DeviceError(status.code or "offline", status.detail, Action.CLEAR, NOT_PRINTED)
        p = self._p
        try:
            p.hw("INIT")
            for line in receipt.lines:
                self._line(line)
            if receipt.qr:
                p.set(align="center")
                p.qr(receipt.qr, size=6, native=True, center=False)
            for line in receipt.footer:
                self._line(line)
            p.set(align="left", bold=False, double_height=False, double_width=False)
            p.cut()
        except Exception as exc:  # noqa: BLE001 - serial/USB/network errors all mean "not printed"
            self._reset()
            raise DeviceError("receipt-failed", f"{type(exc).__name__}: {exc}", Action.CLEAR, NOT_PRINTED) from exc
        return (check or self.status)()

    def _line(self, line: ReceiptLine) -> None:
        self._p.set(align=line.align, bold=line.bold, double_height=line.big, double_width=line.big, normal_textsize=not line.big)
        for part in textwrap.wrap(line.text, self.columns) or [""]:
            self._p.textln(part)
