"""``adm-kiosk print-test card|document|receipt``: a test page on the configured printer.

For a technician after loading supplies or clearing a jam: it prints through the same
driver and profile options as a citizen's job (no personal data on the page), follows the
job to its end, and exits non-zero with the printer's reason when it did not print.
With ``--sim`` the page goes to the in-process simulator; with ``--sim=system`` to a
private cupsd/ippeveprinter or the pty emulator, started and stopped for this command.

A card or A4 test page is a journaled print job (purpose ``test-print``) in the kiosk's
own journal, through the same print service: a test card takes a blank through the blank
owner and spoils it ("test print"), and the profile's consumables are drawn, so the
reconciliation and the supply counters stay right. With no blank in the journal's stock
it refuses rather than feed a card nobody accounts for.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from kiosk.config import Config

DEVICE_FOR = {"card": "card_printer", "document": "document_printer", "receipt": "receipt_printer"}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("print-test", help="print a test page on the card, A4 or receipt printer")
    p.add_argument("kind", choices=sorted(DEVICE_FOR))
    p.add_argument("--config", help="TOML settings file (ADM_* environment variables override it)")
    p.add_argument("--sim", nargs="?", const="inprocess", choices=["inprocess", "system"],
                   help="simulated hardware: in-process (default) or system peers")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the job (default 120)")
    p.set_defaults(func=cmd_print_test)


def card_test_faces(profile: Any) -> tuple[Any, Any]:
    """Front and back test patterns at the profile's pixel size: edge frame, 5 mm ticks, the profile."""
    from PIL import Image, ImageDraw, ImageFont

    def _font(px: int, bold: bool = False) -> Any:
        try:
            return ImageFont.truetype("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf", px)
        except OSError:
            return ImageFont.load_default(size=px)

    w, h = profile.size_px
    mm = w / profile.width_mm
    faces = []
    for side in ("FRONT", "BACK"):
        img = Image.new("RGB", (w, h), "white")
        d = ImageDraw.Draw(img)
        d.rectangle((0, 0, w - 1, h - 1), outline="black", width=max(1, round(0.3 * mm)))
        for i in range(0, int(profile.width_mm) + 1, 5):
            d.line((round(i * mm), 0, round(i * mm), round((3 if i % 10 == 0 else 1.5) * mm)), fill="black")
        for i in range(0, int(profile.height_mm) + 1, 5):
            d.line((0, round(i * mm), round((3 if i % 10 == 0 else 1.5) * mm), round(i * mm)), fill="black")
        for i, colour in enumerate(("cyan", "magenta", "yellow", "black")):
            d.rectangle((round((8 + i * 10) * mm), round(40 * mm), round((16 + i * 10) * mm), round(48 * mm)), fill=colour)
        d.text((w / 2, 12 * mm), f"ADM TEST CARD - {side}", font=_font(round(3.5 * mm), True), fill="black", anchor="mt")
        d.text((w / 2, 20 * mm), f"{profile.model}", font=_font(round(2.2 * mm)), fill="black", anchor="mt")
        d.text((w / 2, 25 * mm), f"{profile.media}  {profile.dpi} dpi  {w}x{h} px", font=_font(round(2.2 * mm)),
               fill="black", anchor="mt")
        d.text((w / 2, 30 * mm), dt.datetime.now().strftime("%Y-%m-%d %H:%M"), font=_font(round(2.2 * mm)),
               fill="black", anchor="mt")
        faces.append(img)
    return faces[0], faces[1]


def a4_test_pdf(profile: Any, kiosk_id: str) -> bytes:
    """One A4 page: the profile's margins as a frame, a 10 mm ruler, what printed it and when."""
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format=(profile.width_mm, profile.height_mm))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    left, top, right, bottom = profile.margins_mm
    pdf.set_line_width(0.3)
    pdf.rect(left, top, profile.width_mm - left - right, profile.height_mm - top - bottom)
    for x in range(20, int(profile.width_mm) - 10, 10):
        pdf.line(x, top, x, top + (6 if x % 50 == 0 else 3))
    pdf.set_font("Helvetica", "B", 24)
    pdf.set_xy(20, 40)
    pdf.cell(0, 12, "ADM kiosk - A4 test page")
    pdf.set_font("Helvetica", "", 12)
    for i, text in enumerate((f"Kiosk: {kiosk_id}", f"Printer: {profile.model} ({profile.name})",
                              f"Media: {profile.media}, {profile.dpi} dpi, duplex: {profile.duplex}",
                              f"Printed: {dt.datetime.now():%Y-%m-%d %H:%M}",
                              "The frame marks the printable area; nothing should be cut off.")):
        pdf.set_xy(20, 60 + i * 8)
        pdf.cell(0, 8, text)
    return bytes(pdf.output())


def _only(cfg: Config, name: str) -> Config:
    """A copy of the settings with every other device disabled (a test page needs one printer)."""
    cfg = copy.deepcopy(cfg)
    for other, dc in cfg.device_configs().items():
        if other != name:
            dc.enabled = False
    if cfg.sim.mode == "inprocess":
        cfg.device_configs()[name].transport = "sim"
    return cfg


def _print_receipt(device: Any, profile: Any, cfg: Config) -> str:
    from kiosk.printing.receipt import Line, Receipt

    cols = int(profile.escpos.get("columns", 48))
    receipt = Receipt([Line("ADM TEST RECEIPT", bold=True, align="center", big=True), Line("-" * cols),
                       Line(f"Kiosk: {cfg.kiosk.id}"), Line(f"Printer: {profile.model}"),
                       Line(f"{profile.escpos.get('width_dots', '?')} dots, {cols} columns"),
                       Line(f"{dt.datetime.now():%Y-%m-%d %H:%M}"), Line("-" * cols)],
                      qr=f"ADMTEST|{cfg.kiosk.id}", footer=[Line("end of test", align="center")])
    device.print_receipt(receipt)
    return "printed"


def cmd_print_test(args: argparse.Namespace) -> int:
    import printer_profiles
    from drivers.base import DeviceError
    from kiosk.cli.args import config_from_args
    from kiosk.cli.devices import devices_for

    name = DEVICE_FOR[args.kind]
    cfg = _only(config_from_args(args), name)
    dc = cfg.device_configs()[name]
    if not dc.profile:
        print(f"devices.{name}.profile is not set", file=sys.stderr)
        return 2
    profile = printer_profiles.load(dc.profile)
    system = None
    if cfg.sim.mode == "system":
        from hardware_sim.system import SystemSim

        system = SystemSim(cfg, b"")
        system.work.mkdir(parents=True, exist_ok=True)
        try:  # only the peer this page needs: no pcscd or camera for a test page
            (system._start_receipt if args.kind == "receipt" else system._start_printers)()
        except NotImplementedError as exc:
            print(f"cannot start the system simulation: {exc}", file=sys.stderr)
            system.stop()
            return 2
    try:
        devices, sim = devices_for(cfg, b"")
        device = devices.get(name)
        try:
            status = device.status()
            print(f"{name}: {status.state.value}{f' ({status.code})' if status.code else ''} {status.detail}")
            if args.kind != "receipt" and not status.ready:  # a job now would spoil a blank for nothing
                print(f"NOT PRINTED: {name} is not ready ({status.code or status.state.value}); nothing was taken",
                      file=sys.stderr)
                return 1
            if args.kind == "receipt":
                outcome = _print_receipt(device, profile, cfg)
                if sim is not None and sim.escpos.receipts:
                    png = Path(cfg.sim.output_dir) / "receipts" / "print-test.png"
                    outcome += f"; image: {sim.escpos.save_png(sim.escpos.receipts[-1], png)}"
                elif system is not None:
                    outcome += f"; images in {Path(cfg.sim.output_dir) / 'receipts'}"
            else:
                outcome = _print_page(devices, name, profile, cfg, args)
            print(outcome)
            return 0 if outcome.startswith("printed") else 1
        except DeviceError as exc:
            print(f"NOT PRINTED: {exc.code}: {exc.detail}", file=sys.stderr)
            return 1
        finally:
            if hasattr(device, "close"):
                device.close()
    finally:
        if system is not None:
            system.stop()


def _print_page(devices: Any, name: str, profile: Any, cfg: Config, args: argparse.Namespace) -> str:
    """The test page as a journaled job in the kiosk's journal (blank, supplies and all)."""
    from kiosk.devices.monitor import DeviceMonitor
    from kiosk.journal.jobs import Purpose
    from kiosk.journal.store import Store
    from kiosk.printing.card_face import card_pdf
    from kiosk.printing.service import PrintService

    def write(path: Path, _serial: str | None) -> None:
        if args.kind == "card":
            front, back = card_test_faces(profile)
            path.write_bytes(card_pdf(front, back if profile.duplex else None, profile.dpi))
        else:
            path.write_bytes(a4_test_pdf(profile, cfg.kiosk.id))

    store = Store(cfg.data_dir / "journal.sqlite3")
    try:
        printing = PrintService(store, devices, DeviceMonitor(devices, store, cfg.devices.poll_interval_s), cfg.kiosk.id,
                                cfg.data_dir / "work", args.timeout)
        if cfg.sim.mode != "off":
            from hardware_sim.blanks import seed_first_start
            seed_first_start(printing.blanks)  # a simulated kiosk that never ran has its first batches, as at its start
        done = printing.test_print(Purpose.TEST_PRINT, name, write)
    finally:
        store.close()
    if done.code == "no-blank":
        return "NOT PRINTED: no blank card in the journal's stock (load the batch in maintenance first)"
    job = f"job {done.printer_job}" + (f", blank {done.serial} (spoiled: test print)" if done.serial else "")
    return f"{'printed' if done.ok else 'NOT PRINTED'}: {job}" + (f" ({done.reason})" if done.reason else "")
