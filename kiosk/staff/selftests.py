"""Self-tests a technician runs on site: one per device, through the production drivers.

A printer test is a journaled print job like a citizen's (purpose ``self-test``,
kiosk/journal/jobs.py): a card test takes a real blank through the blank owner and
spoils it ("self-test print", or why it failed), draws the profile's consumables when it
printed, and a crash mid-test is settled by start-up recovery. Tests refuse to run while
a citizen's documents are printing. Results carry no personal data: a card read shows
the ATR and the masked NIK only.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.base import DeviceError
from kiosk.citizen.central import CentralClient
from kiosk.citizen.session import Sessions, Step
from kiosk.devices.monitor import DeviceMonitor, Devices
from kiosk.journal.jobs import Purpose
from kiosk.journal.outbox import OutboxSender
from kiosk.journal.store import Store
from kiosk.model import mask_nik
from kiosk.printing.card_face import card_pdf
from kiosk.printing.receipt import Line, Receipt
from kiosk.printing.service import PrintService, TestPrint

log = logging.getLogger(__name__)
TESTS = ("card_printer", "document_printer", "receipt_printer", "card_reader", "camera", "central")
WAIT_S = 60.0  # a test page that takes longer than this has failed


@dataclass
class SelfTestResult:
    test: str
    ok: bool
    code: str = ""  # a stable reason when not ok (media-jam, no-blank, no-card...)
    details: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)
    duration_s: float = 0.0


class SelfTests:
    def __init__(self, store: Store, devices: Devices, monitor: DeviceMonitor, printing: PrintService,
                 sessions: Sessions, central: CentralClient, outbox: OutboxSender, kiosk_id: str) -> None:
        self.store = store
        self.devices = devices
        self.monitor = monitor
        self.printing = printing
        self.sessions = sessions
        self.central = central
        self.outbox = outbox
        self.kiosk_id = kiosk_id

    def run(self, test: str, actor: str) -> SelfTestResult:
        if test not in TESTS:
            raise ValueError(test)
        started = time.monotonic()
        try:
            result = getattr(self, f"_{test}")(actor)
        except DeviceError as exc:
            result = SelfTestResult(test, False, exc.code, {"detail": exc.detail})
        except Exception as exc:  # noqa: BLE001 - a self-test reports any failure, it never crashes the page
            log.exception("self-test %s failed", test)
            result = SelfTestResult(test, False, "error", {"detail": type(exc).__name__})
        result.duration_s = round(time.monotonic() - started, 2)
        self.store.audit("maintenance", "self-test", actor=actor, test=test, ok=result.ok, code=result.code,
                         **{k: v for k, v in result.details.items() if k in ("job", "serial", "atr", "count")})
        if test in ("card_printer", "document_printer", "receipt_printer", "card_reader", "camera"):
            self.monitor.refresh((test,))
        return result

    # -- helpers ------------------------------------------------------------------------

    def printing_now(self) -> bool:
        return any(s.step is Step.PRINTING for s in self.sessions.active())

    def _ready(self, name: str) -> SelfTestResult | None:
        """Why a printer test cannot run now, or None."""
        if self.devices.get(name) is None:
            return SelfTestResult(name, False, "not-configured")
        if self.printing_now():
            return SelfTestResult(name, False, "citizen-printing")
        status = self.monitor.fresh(name)
        if not status.ready:
            return SelfTestResult(name, False, status.code or status.state.value, {"detail": status.detail})
        return None

    def _result(self, name: str, done: TestPrint) -> SelfTestResult:
        details: dict[str, Any] = {"job": done.printer_job}
        if done.serial:
            details["serial"] = done.serial
            details["kind"] = done.job.kind if done.job else ""
        if done.reason:
            details["reason"] = done.reason
        return SelfTestResult(name, done.ok, done.code, details)

    # -- printers -----------------------------------------------------------------------

    def _card_printer(self, actor: str) -> SelfTestResult:
        refused = self._ready("card_printer")
        if refused:
            return refused
        profile = self.devices.profiles["card_printer"]

        def face(path: Path, serial: str | None) -> None:
            path.write_bytes(card_pdf(test_card_image(profile.size_px, self.kiosk_id, serial or ""), None, profile.dpi))

        done = self.printing.test_print(Purpose.SELF_TEST, "card_printer", face, timeout_s=WAIT_S)
        return self._result("card_printer", done)

    def _document_printer(self, actor: str) -> SelfTestResult:
        refused = self._ready("document_printer")
        if refused:
            return refused
        done = self.printing.test_print(Purpose.SELF_TEST, "document_printer",
                                        lambda path, _serial: path.write_bytes(test_page_pdf(self.kiosk_id)),
                                        timeout_s=WAIT_S)
        return self._result("document_printer", done)

    def _receipt_printer(self, actor: str) -> SelfTestResult:
        printer = self.devices.get("receipt_printer")
        if printer is None:
            return SelfTestResult("receipt_printer", False, "not-configured")
        columns = getattr(printer, "columns", 48)
        receipt = Receipt([Line("SELF-TEST / UJI CETAK", bold=True, align="center"), Line(self.kiosk_id, align="center"),
                           Line(time.strftime("%d-%m-%Y %H:%M"), align="center"), Line("-" * columns),
                           Line("0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ"), Line("abcdefghijklmnopqrstuvwxyz"),
                           Line("BIG", big=True), Line("-" * columns)],
                          qr=f"ADM-SELFTEST|{self.kiosk_id}")
        printer.print_receipt(receipt)
        return SelfTestResult("receipt_printer", True, details={"columns": columns})

    # -- reader, camera, central ----------------------------------------------------------

    def _card_reader(self, actor: str) -> SelfTestResult:
        reader = self.devices.get("card_reader")
        if reader is None:
            return SelfTestResult("card_reader", False, "not-configured")
        if not reader.card_present():
            return SelfTestResult("card_reader", False, "no-card")
        data = reader.read()
        return SelfTestResult("card_reader", True, details={
            "atr": data.atr.hex(" ").upper(), "nik": mask_nik(str(data.identity.get("nik", ""))),
            "apdus": data.apdus, "photo_bytes": len(data.photo), "verified": True})

    def _camera(self, actor: str) -> SelfTestResult:
        camera = self.devices.get("camera")
        if camera is None:
            return SelfTestResult("camera", False, "not-configured")
        status = camera.status()
        if not status.ready:
            return SelfTestResult("camera", False, status.code or status.state.value, {"detail": status.detail})
        frame_id, codes = 0, []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not codes:
            scan = camera.scan(after=frame_id, timeout_s=0.5)
            frame_id, codes = scan.frame_id, scan.codes
        if not codes:
            return SelfTestResult("camera", False, "no-code", {"frame": frame_id})
        return SelfTestResult("camera", True, details={"count": len(codes), "format": codes[0].format,
                                                       "text": _show_code(codes[0].text)})

    def _central(self, actor: str) -> SelfTestResult:
        central = self.central
        started = time.monotonic()
        ok = central.ping()
        ms = round((time.monotonic() - started) * 1000)
        details: dict[str, Any] = {"ms": ms, "backlog": self.outbox.backlog()}
        if not ok:
            details["detail"] = central.last_error
        return SelfTestResult("central", ok, "" if ok else "unreachable", details)


def _show_code(text: str) -> str:
    """A decoded code as shown to the technician: NIKs in it masked, long payloads cut."""
    from kiosk.model import mask_niks_in
    text = mask_niks_in(text)
    return text if len(text) <= 80 else text[:77] + "..."


def test_card_image(size_px: tuple[int, int], kiosk_id: str, serial: str) -> Any:
    """A card face that shows alignment, colour panels and fine text at the printer's resolution."""
    from PIL import Image, ImageDraw
    w, h = size_px
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.rectangle((2, 2, w - 3, h - 3), outline="black", width=3)
    for x in range(0, w, max(1, w // 20)):
        d.line((x, 0, x, h // 12), fill="black", width=1)
    bars = [(0, 255, 255), (255, 0, 255), (255, 255, 0), (0, 0, 0)]
    bw = w // 8
    for i, colour in enumerate(bars):
        d.rectangle((w // 2 + i * bw, h // 2, w // 2 + (i + 1) * bw - 4, h - h // 6), fill=colour)
    d.text((w // 16, h // 4), "ADM SELF-TEST / UJI CETAK", fill="black")
    d.text((w // 16, h // 4 + 30), kiosk_id, fill="black")
    d.text((w // 16, h // 4 + 60), serial, fill="black")
    d.text((w // 16, h // 4 + 90), time.strftime("%d-%m-%Y %H:%M"), fill="black")
    return img


def test_page_pdf(kiosk_id: str) -> bytes:
    from fpdf import FPDF
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 20)
    pdf.cell(0, 14, "ADM SELF-TEST / UJI CETAK", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 12)
    pdf.cell(0, 8, f"{kiosk_id}  {time.strftime('%d-%m-%Y %H:%M')}", align="C", new_x="LMARGIN", new_y="NEXT")
    for i in range(0, 190, 10):
        pdf.line(10 + i, 40, 10 + i, 60)
    for size in (6, 8, 10, 12, 16):
        pdf.set_font("helvetica", "", size)
        pdf.cell(0, size * 0.6 + 2, f"{size} pt: The quick brown fox jumps over the lazy dog 0123456789",
                 new_x="LMARGIN", new_y="NEXT")
    pdf.rect(10, 250, 190, 37)
    buf = io.BytesIO()
    pdf.output(buf)
    return buf.getvalue()
