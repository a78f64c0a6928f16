"""The receipt printer through python-escpos: serial, USB, network, or an in-process stream.

Status comes from ``DLE EOT 1`` and ``DLE EOT 4``. No answer (or an answer without the
fixed bits) is ``unknown``, never "paper ok" and never "out": python-escpos reads an empty
reply as "no paper" and a silent serial line as "ok", so we read the bytes ourselves.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from typing import Any, Protocol

from drivers.base import Action, DeviceError, DeviceState, DeviceStatus, MissingLibraryError, Supply, SupplyLevel
from kiosk.render.receipt import Receipt

DLE_EOT = b"\x10\x04"
NOT_PRINTED = "The receipt could not be printed. Your documents are not affected."


def _escpos() -> Any:
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
    def __init__(self, name: str, printer: Any, columns: int = 48, near_end_sensor: bool = True) -> None:
        self.name = name
        self._p = printer
        self.columns = columns
        self.near_end_sensor = near_end_sensor

    def _query(self, n: int) -> int | None:
        try:
            self._p._raw(DLE_EOT + bytes([n]))
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:
                answer = self._p._read()
                if answer:
                    return int(answer[-1])
        except Exception:  # noqa: BLE001 - any transport failure is "no answer"
            return None
        return None

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

    def print_receipt(self, receipt: Receipt, check: Callable[[], DeviceStatus] | None = None) -> None:
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
            raise DeviceError("receipt-failed", f"{type(exc).__name__}: {exc}", Action.CLEAR, NOT_PRINTED) from exc

    def _line(self, line: Any) -> None:
        self._p.set(align=line.align, bold=line.bold, double_height=line.big, double_width=line.big, normal_textsize=not line.big)
        for part in textwrap.wrap(line.text, self.columns) or [""]:
            self._p.textln(part)
