"""The receipt printer through python-escpos' own Serial and Network printers to the emulator on a pty and TCP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import printer_profiles
from drivers.base import DeviceState, SupplyLevel
from drivers.receipt import ReceiptPrinter, connection_printer
from hardware_sim.escpos_emulator import EscposEmulator
from hardware_sim.escpos_server import PtyEscpos, TcpEscpos
from kiosk.printing.receipt import build_receipt

pytestmark = pytest.mark.integration
PROFILE = printer_profiles.load("thermal-80mm")
RECEIPT = build_receipt(kiosk_id="ADM-T", location="Kantor Disdukcapil", when="01-01-2025 10:00",
                        nik_masked="3201**********01", reference="R-42", printed=[("KTP-el", "KTP-SIM-000001")],
                        failed=["Kartu Keluarga"])


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[tuple[ReceiptPrinter, EscposEmulator]]:
    emulator = EscposEmulator(PROFILE.escpos["width_dots"], tmp_path / "receipts")
    server = PtyEscpos(emulator, baudrate=115200).start()
    printer = ReceiptPrinter("receipt_printer", connection_printer(
        "serial", server.path, 115200, 0, 0, PROFILE.escpos["capabilities"]), PROFILE.escpos["columns"])
    yield printer, emulator
    printer.close()
    server.stop()


def _wait_receipt(emulator: EscposEmulator, n: int = 1) -> None:
    deadline = time.monotonic() + 5
    while len(emulator.receipts) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(emulator.receipts) >= n


def test_receipt_over_the_pty_is_parsed_and_rendered(pty: tuple[ReceiptPrinter, EscposEmulator]) -> None:
    printer, emulator = pty
    assert printer.status().state is DeviceState.ONLINE
    started = time.monotonic()
    printer.print_receipt(RECEIPT)
    _wait_receipt(emulator)
    elapsed = time.monotonic() - started
    got = emulator.receipts[-1]
    assert "Reference: R-42" in got.lines and " + KTP-el (KTP-SIM-000001)" in got.lines and " - Kartu Keluarga" in got.lines
    assert got.qr == [b"ADMREF1|ADM-T|R-42"] and got.cut
    assert elapsed >= len(got.raw) * 10 / 115200 * 0.8  # paced like a 115200-baud line
    assert got.png is not None and got.png.stat().st_size > 1000


@pytest.mark.parametrize(("paper", "cover", "state", "level"), [
    ("ok", False, DeviceState.ONLINE, SupplyLevel.OK),
    ("near-end", False, DeviceState.ONLINE, SupplyLevel.LOW),
    ("out", False, DeviceState.USER_ERROR, SupplyLevel.OUT),
    ("ok", True, DeviceState.OFFLINE, SupplyLevel.OK),
])
def test_dle_eot_status_over_the_pty(pty: tuple[ReceiptPrinter, EscposEmulator], paper: str, cover: bool,
                                     state: DeviceState, level: SupplyLevel) -> None:
    printer, emulator = pty
    emulator.paper, emulator.cover_open = paper, cover
    st = printer.status()
    assert (st.state, st.supplies["paper"].level) == (state, level)


def test_a_silent_line_is_unknown_quickly_and_recovers(pty: tuple[ReceiptPrinter, EscposEmulator]) -> None:
    printer, emulator = pty
    emulator.mute = True
    started = time.monotonic()
    st = printer.status()
    assert (st.state, st.code, st.supplies["paper"].level) == (DeviceState.UNKNOWN, "no-answer", SupplyLevel.UNKNOWN)
    assert time.monotonic() - started < 1.0  # one answer timeout, not python-escpos' read per query
    emulator.mute = False
    assert printer.status().state is DeviceState.ONLINE  # no stale byte misread


def test_paper_out_refuses_the_receipt(pty: tuple[ReceiptPrinter, EscposEmulator]) -> None:
    printer, emulator = pty
    emulator.paper = "out"
    with pytest.raises(Exception, match="media-empty"):
        printer.print_receipt(RECEIPT)
    assert emulator.receipts == []


def test_missing_serial_port_is_unknown_then_recovers(tmp_path: Path) -> None:
    printer = ReceiptPrinter("receipt_printer", connection_printer("serial", str(tmp_path / "ttyNONE"), 115200, 0, 0,
                                                                   "default"))
    assert printer.status().state is DeviceState.UNKNOWN
    with pytest.raises(Exception, match="receipt-failed"):
        printer.print_receipt(RECEIPT, check=lambda: printer.status())  # unknown is not a refusal: it tries


def test_receipt_over_tcp_9100_protocol() -> None:
    emulator = EscposEmulator()
    server = TcpEscpos(emulator, port=0).start()  # a free port; 9100 in production
    printer = ReceiptPrinter("receipt_printer", connection_printer("network", f"127.0.0.1:{server.port}", 0, 0, 0,
                                                                   "TM-T20II"))
    try:
        emulator.paper = "near-end"
        st = printer.status()
        assert (st.state, st.supplies["paper"].level) == (DeviceState.ONLINE, SupplyLevel.LOW)
        emulator.paper = "ok"
        printer.print_receipt(RECEIPT)
        _wait_receipt(emulator)
        assert "Reference: R-42" in emulator.receipts[-1].lines
    finally:
        printer.close()
        server.stop()
    assert printer.status().state is DeviceState.UNKNOWN  # the printer went away: unknown, not out
