"""The receipt driver: exact ESC/POS bytes, the DLE EOT status-bit table, silence as unknown, PNGs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import printer_profiles
from drivers.base import DeviceState, DeviceStatus, SupplyLevel
from drivers.receipt import ReceiptPrinter, decode_online, decode_paper, stream_printer
from hardware_sim.escpos_emulator import EscposEmulator, QrCode, StyledLine
from kiosk.printing.receipt import Line, Receipt, build_receipt

READY = DeviceStatus(DeviceState.ONLINE)


class Capture:
    """A byte stream that records and never answers (a printer with no status channel)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def read(self, timeout_s: float) -> bytes:
        return b""


def test_exact_bytes_of_a_receipt() -> None:
    out = Capture()
    printer = ReceiptPrinter("receipt_printer", stream_printer(out, "TM-T20II"))
    printer.print_receipt(Receipt([Line("ADM", bold=True, align="center", big=True), Line("Ref: X1")], qr="Q1",
                                  footer=[Line("bye", align="right")]), check=lambda: READY)
    normal = b"\x1b!\x00\x1b!\x00"  # python-escpos resets the print mode before each style change
    assert bytes(out.data) == (
        b"\x1b@"  # ESC @ initialise
        + normal + b"\x1b!0" + b"\x1bE\x01" + b"\x1ba\x01" + b"\x1bt\x00" + b"ADM\n"  # double size, bold, centred
        + normal + b"\x1b!\x00" + b"\x1bE\x00" + b"\x1ba\x00" + b"Ref: X1\n"
        + b"\x1ba\x01"  # the QR centred
        + b"\x1d(k\x04\x001A2\x00"  # GS ( k: model 2
        + b"\x1d(k\x03\x001C\x06"  # module size 6 dots
        + b"\x1d(k\x03\x001E0"  # error correction L
        + b"\x1d(k\x05\x001P0Q1"  # store the data "Q1"
        + b"\x1d(k\x03\x001Q0"  # print it
        + normal + b"\x1b!\x00" + b"\x1bE\x00" + b"\x1ba\x02" + b"bye\n"
        + b"\x1bE\x00\x1ba\x00"  # back to plain left
        + b"\x1bd\x06" + b"\x1dV\x00"  # feed 6 lines past the cutter, full cut
    )


# (DLE EOT 1 byte, DLE EOT 4 byte) -> (state, paper); None = no answer
@pytest.mark.parametrize(("online", "paper", "state", "supply", "code"), [
    (0x12, 0x12, DeviceState.ONLINE, SupplyLevel.OK, ""),
    (0x12, 0x1E, DeviceState.ONLINE, SupplyLevel.LOW, ""),  # near end: bits 2-3
    (0x12, 0x16, DeviceState.ONLINE, SupplyLevel.LOW, ""),  # near end, one sensor bit
    (0x1A, 0x7E, DeviceState.USER_ERROR, SupplyLevel.OUT, "media-empty"),  # paper end: bits 5-6
    (0x1A, 0x72, DeviceState.USER_ERROR, SupplyLevel.OUT, "media-empty"),
    (0x1A, 0x12, DeviceState.OFFLINE, SupplyLevel.OK, "offline"),  # offline bit 3 (cover open)
    (None, None, DeviceState.UNKNOWN, SupplyLevel.UNKNOWN, "no-answer"),  # silence is not "ok"
    (None, 0x7E, DeviceState.UNKNOWN, SupplyLevel.UNKNOWN, "no-answer"),  # nor "out"
    (0x12, None, DeviceState.ONLINE, SupplyLevel.UNKNOWN, ""),
    (0x00, 0x00, DeviceState.UNKNOWN, SupplyLevel.UNKNOWN, "no-answer"),  # fixed bits wrong: line noise
    (0xFF, 0xFF, DeviceState.UNKNOWN, SupplyLevel.UNKNOWN, "no-answer"),
])
def test_status_bit_table(online: int | None, paper: int | None, state: DeviceState, supply: SupplyLevel,
                          code: str) -> None:
    class Answering(Capture):
        def __init__(self) -> None:
            super().__init__()
            self.pending = b""

        def write(self, data: bytes) -> None:
            if data == b"\x10\x04\x01" and online is not None:
                self.pending = bytes([online])
            elif data == b"\x10\x04\x04" and paper is not None:
                self.pending = bytes([paper])

        def read(self, timeout_s: float) -> bytes:
            out, self.pending = self.pending, b""
            return out

    st = ReceiptPrinter("r", stream_printer(Answering()), answer_timeout_s=0.05).status()
    assert (st.state, st.supplies["paper"].level, st.code) == (state, supply, code)


def test_decoders_keep_unknown_distinct() -> None:
    assert decode_online(None) is DeviceState.UNKNOWN and decode_paper(None) is SupplyLevel.UNKNOWN
    assert decode_paper(0x12) is SupplyLevel.OK


def test_no_near_end_sensor_reports_ok_not_low() -> None:
    emu = EscposEmulator()
    emu.paper = "near-end"
    assert ReceiptPrinter("r", stream_printer(emu), near_end_sensor=False).status().supplies["paper"].level \
        is SupplyLevel.OK


def test_paper_out_refuses_before_printing_and_mute_prints_anyway() -> None:
    emu = EscposEmulator()
    printer = ReceiptPrinter("r", stream_printer(emu), answer_timeout_s=0.05)
    receipt = Receipt([Line("x")])
    emu.paper = "out"
    with pytest.raises(Exception, match="media-empty"):
        printer.print_receipt(receipt)
    emu.paper, emu.mute = "ok", True  # a printer without a status channel still gets its receipt
    printer.print_receipt(receipt)
    assert emu.receipts[-1].lines == ["x"]


@pytest.mark.parametrize("profile", ["thermal-80mm", "thermal-58mm"])
def test_emulator_keeps_styles_and_renders_png_at_the_profile_width(tmp_path: Path, profile: str) -> None:
    esc = printer_profiles.load(profile).escpos
    emu = EscposEmulator(esc["width_dots"], tmp_path)
    printer = ReceiptPrinter("r", stream_printer(emu, esc["capabilities"]), esc["columns"])
    receipt = build_receipt(kiosk_id="ADM-T", location="Kantor", when="01-01-2025 10:00",
                            nik_masked="3201**********01", reference="R-1", printed=[("KTP-el", "KTP-1")],
                            failed=["KK"], columns=esc["columns"])
    printer.print_receipt(receipt, check=lambda: READY)
    got = emu.receipts[-1]
    assert StyledLine("ANJUNGAN DUKCAPIL MANDIRI", bold=True, align="center") in got.items
    assert StyledLine("Reference: R-1", bold=True) in got.items
    assert QrCode(b"ADMREF1|ADM-T|R-1", 6, "center") in got.items
    assert all(len(line) <= esc["columns"] for line in got.lines)
    assert got.png is not None and got.png.exists()
    from PIL import Image

    with Image.open(got.png) as img:
        assert img.width == esc["width_dots"] + 16  # paper plus an 8-dot white margin each side
        assert img.height > 400
        assert img.getextrema()[0] == 0  # something black was printed


def test_double_size_is_parsed_from_gs_and_esc_bang() -> None:
    emu = EscposEmulator()
    emu.write(b"\x1b@\x1d!\x11big\n\x1d!\x00\x1b!\x38both\n\x1b@plain\n\x1dV\x00")
    assert emu.receipts[-1].items == [StyledLine("big", width=2, height=2), StyledLine("both", True, 2, 2),
                                      StyledLine("plain")]


def test_capabilities_cache_dir_is_set_before_import(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import drivers.receipt as receipt

    monkeypatch.delenv("ESCPOS_CAPABILITIES_PICKLE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    receipt._escpos()
    assert receipt.capabilities_cache_dir() == tmp_path / "adm-kiosk" / "escpos"
    assert os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] == str(tmp_path / "adm-kiosk" / "escpos")
