"""Printing benchmarks: card render, submit -> completed through cupsd per queue kind, receipt over the pty.

Prints a table; never fails on timing (the issue's target for card faces, <= 50 ms per
face at 300 dpi, is shown next to the measurement). The cupsd rows need root and the CUPS
packages; without them they say why and the other rows still run.

    .venv/bin/python bench/bench_printing.py [--jobs N] [--renders N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import printer_profiles  # noqa: E402
from hardware_sim import citizens  # noqa: E402
from kiosk.model import DocumentKind  # noqa: E402
from kiosk.printing.card_face import card_pdf, render_back, render_front  # noqa: E402

Row = tuple[str, str, str]


def _stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  (n={len(ms)})"


def _time(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_render(n: int) -> list[Row]:
    profile = printer_profiles.load("evolis-primacy2")
    ident, _ = citizens.DEMO[0]
    photo, sig = citizens.photo_jpeg(ident), citizens.signature_png(ident)
    render_front(DocumentKind.KTP_EL, ident, photo, sig, profile.size_px)  # fonts and caches warm
    front = _time(lambda: render_front(DocumentKind.KTP_EL, ident, photo, sig, profile.size_px), n)
    back = _time(lambda: render_back(DocumentKind.KTP_EL, profile.size_px), n)
    f_img, b_img = render_front(DocumentKind.KTP_EL, ident, photo, sig, profile.size_px), render_back(
        DocumentKind.KTP_EL, profile.size_px)
    pdf = _time(lambda: card_pdf(f_img, b_img, profile.dpi), n)
    size = f"{profile.size_px[0]}x{profile.size_px[1]} px"
    png = _time(lambda: f_img.save(io.BytesIO(), "PNG"), n)
    return [(f"card front render, {size} (target <= 50 ms)", _stats(front), ""),
            ("peer: PNG encode of the same front face", _stats(png), "measured in the same run"),
            (f"card back render, {size} (target <= 50 ms)", _stats(back), ""),
            ("card PDF, both faces", _stats(pdf), f"{len(card_pdf(f_img, b_img, profile.dpi)) // 1024} KiB")]


def bench_cups(jobs: int) -> list[Row]:
    from drivers.printers import CupsPrinter, pycups_connect
    from hardware_sim.cupsd import CupsSandbox, missing
    from kiosk.cli.print_test import a4_test_pdf, card_test_faces

    lacking = missing()
    if lacking:
        return [("submit -> completed through cupsd", "skipped", "missing " + ", ".join(lacking))]
    rows: list[Row] = []
    card_profile, a4_profile = printer_profiles.load("evolis-primacy2"), printer_profiles.load("office-laser-a4")
    with tempfile.TemporaryDirectory(prefix="adm-bench-") as tmp:
        card = Path(tmp) / "card.pdf"
        card.write_bytes(card_pdf(*card_test_faces(card_profile), card_profile.dpi))
        a4 = Path(tmp) / "a4.pdf"
        a4.write_bytes(a4_test_pdf(a4_profile, "ADM-BENCH"))
        box = CupsSandbox()
        t = time.perf_counter()
        box.start(cups_pdf=True)
        rows.append(("private cupsd + dbus start", f"{(time.perf_counter() - t) * 1000:7.1f} ms", ""))
        try:
            t = time.perf_counter()
            box.add_sim_printer("card", card_profile)
            box.add_sim_printer("a4", a4_profile)
            rows.append(("two ippeveprinter queues added", f"{(time.perf_counter() - t) * 1000:7.1f} ms", ""))
            box.add_cups_pdf("pdf")
            (box.base / "fileout").mkdir(exist_ok=True)
            box.add_file("file", box.base / "fileout" / "out.pdf")
            for queue, doc, what in (("card", card, "ippeveprinter card (CR80 PPD), 2 faces"),
                                     ("a4", a4, "ippeveprinter A4 (IPP Everywhere), 1 page"),
                                     ("pdf", a4, "cups-pdf sink, A4 page"), ("file", a4, "file: sink, A4 page")):
                printer = CupsPrinter(queue, queue, pycups_connect(box.sock), {}, probe_device=False)
                samples, states = [], set()
                for i in range(jobs):
                    t = time.perf_counter()
                    result = printer.wait(printer.submit(str(doc), f"bench-{queue}-{i}"), 60, poll_s=0.02)
                    samples.append(time.perf_counter() - t)
                    states.add(result.state)
                rows.append((f"submit -> completed: {what}", _stats(samples), "/".join(sorted(states))))
        finally:
            box.stop()
    return rows


def bench_receipt(n: int) -> list[Row]:
    from drivers.receipt import ReceiptPrinter, connection_printer
    from hardware_sim.escpos_emulator import EscposEmulator
    from hardware_sim.escpos_server import PtyEscpos
    from kiosk.printing.receipt import build_receipt

    profile = printer_profiles.load("thermal-80mm")
    receipt = build_receipt(kiosk_id="ADM-BENCH", location="Kantor Disdukcapil", when="01-01-2025 10:00",
                            nik_masked="3201**********01", reference="R-42",
                            printed=[("KTP-el", "KTP-SIM-000001"), ("Kartu Keluarga", "3201012501250001")],
                            failed=["Akta Kelahiran"])
    rows: list[Row] = []
    for baud, label in ((115200, "paced at 115200 baud"), (None, "unpaced pty")):
        emulator = EscposEmulator(profile.escpos["width_dots"])
        server = PtyEscpos(emulator, baud).start()
        printer = ReceiptPrinter("r", connection_printer("serial", server.path, 115200, 0, 0,
                                                        profile.escpos["capabilities"]), profile.escpos["columns"])
        try:
            status = _time(printer.status, n)
            samples = []
            for i in range(n):
                t = time.perf_counter()
                printer.print_receipt(receipt)
                while len(emulator.receipts) <= i:
                    time.sleep(0.0005)
                samples.append(time.perf_counter() - t)
            size = len(emulator.receipts[-1].raw)
        finally:
            printer.close()
            server.stop()
        wire = size * 10 / 115200 * 1000
        rows.append((f"receipt over pty, {label}", _stats(samples),
                     f"{size} bytes; 115200 baud wire time {wire:.1f} ms"))
        if baud:
            rows.append(("receipt DLE EOT 1+4 status over pty", _stats(status), ""))
    from hardware_sim.receipt_png import render

    return rows + [("receipt PNG render", _stats(_time(lambda: render(_sample_receipt(receipt, profile)), n)), "")]


def _sample_receipt(receipt: object, profile: printer_profiles.PrinterProfile) -> object:
    from drivers.receipt import ReceiptPrinter, stream_printer
    from hardware_sim.escpos_emulator import EscposEmulator

    emulator = EscposEmulator(profile.escpos["width_dots"])
    ReceiptPrinter("r", stream_printer(emulator, profile.escpos["capabilities"])).print_receipt(receipt)  # type: ignore[arg-type]
    return emulator.receipts[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=5, help="jobs per CUPS queue (default 5)")
    ap.add_argument("--renders", type=int, default=20, help="renders per face / receipts (default 20)")
    args = ap.parse_args(argv)
    rows = bench_render(args.renders) + bench_cups(args.jobs) + bench_receipt(max(3, args.renders // 2))
    width = max(len(r[0]) for r in rows)
    print(f"{'what':{width}}  {'time':48}  note")
    print("-" * (width + 60))
    for what, stats, note in rows:
        print(f"{what:{width}}  {stats:48}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
