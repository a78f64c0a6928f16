"""``adm-kiosk scan FILE... [--json] [--backend zxing|zbar]``: decode barcodes in image files.

One line per file: each code's format and text, or why nothing was read. Exit status 0
when at least one code was found in any file, 1 when none was, 2 for usage errors. A
technician's tool to check a camera still, a printed document or a WhatsApp screenshot
with the same decoder the kiosk uses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from drivers.decoders import BACKENDS, DEFAULT_BACKEND


def scan_file(path: str, decoder: Any) -> dict[str, Any]:
    """``{"file", "codes": [{"format", "text"}], "error"}`` for one image file."""
    import cv2

    out: dict[str, Any] = {"file": path, "codes": [], "error": ""}
    if not Path(path).is_file():
        out["error"] = "no such file"
        return out
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        out["error"] = "not an image OpenCV can read"
        return out
    out["codes"] = [{"format": c.format, "text": c.text} for c in decoder.decode(image)]
    if not out["codes"]:
        out["error"] = "no code found"
    return out


def cmd_scan(args: argparse.Namespace) -> int:
    from drivers.base import MissingLibraryError
    from drivers.decoders import make_decoder

    try:
        decoder = make_decoder(args.backend)
    except MissingLibraryError as exc:
        print(exc.detail)
        return 2
    found = False
    for path in args.files:
        result = scan_file(path, decoder)
        found = found or bool(result["codes"])
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        elif result["codes"]:
            print("; ".join(f"{path}: {c['format']} {c['text']!r}" for c in result["codes"]))
        else:
            print(f"{path}: {result['error']}")
    return 0 if found else 1


def register(sub: Any) -> None:
    p = sub.add_parser("scan", help="decode barcodes in image files; exit 1 when none is found")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.add_argument("--backend", choices=(*BACKENDS, "zbar-plain"), default=DEFAULT_BACKEND,
                   help=f"decoder (default {DEFAULT_BACKEND})")
    p.set_defaults(func=cmd_scan)
