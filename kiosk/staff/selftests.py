"""Self-tests a technician runs on site: one per device, through the production drivers.

A card test print uses a real blank: it is taken from stock and journaled as spoiled with
the reason "self-test", so the reconciliation still balances to the card. Tests refuse to
run while a citizen's documents are printing. Results carry no personal data: a card read
shows the ATR and the masked NIK only.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.base import DeviceError
from kiosk.citizen.session import Step
from kiosk.model import mask_nik
from kiosk.printing.card_face import card_pdf
from kiosk.printing.receipt import Line, Receipt

log = logging.getLogger(__name__)
TESTS = ("card_printer", "document_printer", "receipt_printer", "card_reader", "camera", "central")
BLANK_KINDS = ("ktp-el", "kia")


@dataclass
class SelfTestResult:
    test: str
    ok: bool
    code: str = ""  # a stable reason when not ok (media-jam, no-blank, no-card...)
    details: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)
    duration_s: float = 0.0


class SelfTests:
    def __init__(self, kiosk: Any) -> None:
        self.kiosk = kiosk

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
        self.kiosk.store.audit("maintenance", "self-test", actor=actor, test=test, ok=result.ok, code=result.code,
                               **{k: v for k, v in result.details.items() if k in ("job", "serial", "atr", "count")})
        if test in ("card_printer", "document_printer", "receipt_printer", "card_reader", "camera"):
            self.kiosk.monitor.refresh((test,))
        return result

    # -- helpers ------------------------------------------------------------------------

    def printing_now(self) -> bool:
        return any(s.step is Step.PRINTING for s in self.kiosk.sessions.active())

    def _printer(self, name: str) -> tuple[Any, SelfTestResult | None]:
        printer = self.kiosk.devices.get(name)
        if printer is None:
            return None, SelfTestResult(name, False, "not-configured")
        if self.printing_now():
            return None, SelfTestResult(name, False, "citizen-printing")
        status = self.kiosk.monitor.fresh(name)
        if not status.ready:
            return None, SelfTestResult(name, False, status.code or status.state.value, {"detail": status.detail})
        return printer, None

    def _workdir(self) -> Path:
        base = self.kiosk.printing.work_dir
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="selftest-", dir=base))

    # -- printers -----------------------------------------------------------------------

    def _card_printer(self, actor: str) -> SelfTestResult:
        printer, refused = self._printer("card_printer")
        if refused:
            return refused
        serial, kind = self._take_blank(actor)
        if serial is None:
            return SelfTestResult("card_printer", False, "no-blank")
        profile = self.kiosk.devices.profiles["card_printer"]
        work = self._workdir()
        ok, reason, job = False, "", 0
        try:
            path = work / "selftest-card.pdf"
            path.write_bytes(card_pdf(test_card_image(profile.size_px, self.kiosk.cfg.kiosk.id, serial), None, profile.dpi))
            try:
                job = printer.submit(str(path), f"adm-selftest-{serial}")
                result = printer.wait(job, 60)
                if result.state == "timeout":
                    printer.cancel(job)
                ok, reason = result.ok, "" if result.ok else ",".join(result.reasons) or result.state
            except DeviceError as exc:
                reason = exc.code
        finally:
            shutil.rmtree(work, ignore_errors=True)
            self._settle_blank(serial, ok, reason, actor)
        return SelfTestResult("card_printer", ok, "" if ok else "not-printed",
                              {"job": job, "serial": serial, "kind": kind, **({"reason": reason} if reason else {})})

    def _take_blank(self, actor: str) -> tuple[str | None, str]:
        """The next blank for a test print: journaled as taken before the printer picks it."""
        now = time.time()
        store = self.kiosk.store
        with store.tx() as db:
            for kind in BLANK_KINDS:
                row = db.execute("SELECT serial FROM blank_cards WHERE kind=? AND state='stock' ORDER BY serial LIMIT 1",
                                 (kind,)).fetchone()
                if row:
                    db.execute("UPDATE blank_cards SET state='consumed', updated_at=?, note=? WHERE serial=?",
                               (now, f"self-test by {actor}", row[0]))
                    db.execute("INSERT INTO duty_cycle VALUES ('card_printer', ?, 1) "
                               "ON CONFLICT(device, day) DO UPDATE SET prints=prints+1", (dt.date.today().isoformat(),))
                    store.audit("supplies", "blank-taken-for-self-test", actor=actor, db=db, serial=row[0], kind=kind)
                    return str(row[0]), kind
        return None, ""

    def _settle_blank(self, serial: str, printed: bool, reason: str, actor: str) -> None:
        now = time.time()
        note = "self-test print" if printed else f"self-test failed: {reason}"[:200]
        with self.kiosk.store.tx() as db:
            db.execute("UPDATE blank_cards SET state='spoiled', updated_at=?, note=? WHERE serial=? AND state='consumed'",
                       (now, note, serial))
            if printed:
                db.execute("UPDATE supplies SET remaining=MAX(0, remaining-1), updated_at=? "
                           "WHERE device='card_printer' AND name IN ('ribbon', 'film')", (now,))
            self.kiosk.store.audit("supplies", "blank-spoiled", actor=actor, db=db, serial=serial, reason=note)

    def _document_printer(self, actor: str) -> SelfTestResult:
        printer, refused = self._printer("document_printer")
        if refused:
            return refused
        work = self._workdir()
        try:
            path = work / "selftest-a4.pdf"
            path.write_bytes(test_page_pdf(self.kiosk.cfg.kiosk.id))
            job = printer.submit(str(path), "adm-selftest-a4")
            result = printer.wait(job, 60)
            if result.state == "timeout":
                printer.cancel(job)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if result.ok:
            with self.kiosk.store.tx() as db:
                db.execute("UPDATE supplies SET remaining=MAX(0, remaining-1), updated_at=? "
                           "WHERE device='document_printer' AND name='paper'", (time.time(),))
        reason = ",".join(result.reasons) or result.state
        return SelfTestResult("document_printer", result.ok, "" if result.ok else "not-printed",
                              {"job": job, **({} if result.ok else {"reason": reason})})

    def _receipt_printer(self, actor: str) -> SelfTestResult:
        printer = self.kiosk.devices.get("receipt_printer")
        if printer is None:
            return SelfTestResult("receipt_printer", False, "not-configured")
        cfg = self.kiosk.cfg.kiosk
        columns = getattr(printer, "columns", 48)
        receipt = Receipt([Line("SELF-TEST / UJI CETAK", bold=True, align="center"), Line(cfg.id, align="center"),
                           Line(time.strftime("%d-%m-%Y %H:%M"), align="center"), Line("-" * columns),
                           Line("0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ"), Line("abcdefghijklmnopqrstuvwxyz"),
                           Line("BIG", big=True), Line("-" * columns)],
                          qr=f"ADM-SELFTEST|{cfg.id}")
        printer.print_receipt(receipt)
        return SelfTestResult("receipt_printer", True, details={"columns": columns})

    # -- reader, camera, central ----------------------------------------------------------

    def _card_reader(self, actor: str) -> SelfTestResult:
        reader = self.kiosk.devices.get("card_reader")
        if reader is None:
            return SelfTestResult("card_reader", False, "not-configured")
        if not reader.card_present():
            return SelfTestResult("card_reader", False, "no-card")
        data = reader.read()
        return SelfTestResult("card_reader", True, details={
            "atr": data.atr.hex(" ").upper(), "nik": mask_nik(str(data.identity.get("nik", ""))),
            "apdus": data.apdus, "photo_bytes": len(data.photo), "verified": True})

    def _camera(self, actor: str) -> SelfTestResult:
        camera = self.kiosk.devices.get("camera")
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
        central = self.kiosk.central
        started = time.monotonic()
        ok = central.ping()
        ms = round((time.monotonic() - started) * 1000)
        details: dict[str, Any] = {"ms": ms, "backlog": self.kiosk.outbox.backlog()}
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
