"""``adm-kiosk read-card``: a technician's check that the e-KTP reader reads and verifies a card.

Reads through the production driver on real PC/SC (pcscd), so it proves the reader, the SAM
key from config and the card together. The NIK is printed masked; nothing is logged or kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from drivers.base import DeviceError
from kiosk.config import load
from kiosk.devices.builder import load_sam_key, trust_anchors
from kiosk.model import mask_nik

EXIT_OK, EXIT_READ_FAILED, EXIT_CONFIG, EXIT_NO_CARD = 0, 1, 2, 3


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("read-card", help="read the e-KTP on the reader and print it (NIK masked)")
    p.add_argument("--config", help="TOML settings file (ADM_* environment variables override it)")
    p.add_argument("--reader", help="PC/SC reader name or part of it (default: devices.card_reader.reader)")
    p.add_argument("--wait", type=float, default=10.0, metavar="S", help="seconds to wait for a card (default 10)")
    p.add_argument("--short", action="store_true", help="use short APDUs only (readers without extended length)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_read_card)


def cmd_read_card(args: argparse.Namespace) -> int:
    from drivers.card_reader import CardReader, PyscardSystem

    cfg = load(args.config)
    sam_key = load_sam_key(cfg)
    if not sam_key:
        return _fail(args, "sam-missing", "no SAM key: set devices.card_reader.sam_key_file or "
                     "ADM_DEVICES__CARD_READER__SAM_KEY", "maintenance", EXIT_CONFIG)
    reader_filter = args.reader if args.reader is not None else cfg.devices.card_reader.reader
    try:
        reader = CardReader("card_reader", PyscardSystem(), sam_key, reader_filter,
                            extended=False if args.short else None, anchors=trust_anchors(cfg.devices.card_reader))
        status = reader.status()
        if status.code in ("no-reader", "pcsc-unavailable"):
            return _fail(args, status.code, status.detail, "maintenance", EXIT_READ_FAILED)
        if not args.json:
            print(f"waiting up to {args.wait:g} s for a card ...", file=sys.stderr)
        if not reader.wait_for_card(args.wait):
            return _fail(args, "no-card", f"no card on the reader within {args.wait:g} s", "none", EXIT_NO_CARD)
        started = time.perf_counter()
        data = reader.read()
        ms = (time.perf_counter() - started) * 1000
    except DeviceError as exc:
        return _fail(args, exc.code, exc.detail, exc.action.value, EXIT_READ_FAILED)
    identity = dict(data.identity)
    identity["nik"] = mask_nik(identity.get("nik", ""))
    report = {"ok": True, "atr": data.atr.hex().upper(), "apdus": data.apdus, "ms": round(ms, 1),
              "identity": identity, "photo_bytes": len(data.photo), "signature_bytes": len(data.signature)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"card read and verified: {data.apdus} APDUs in {ms:.1f} ms, ATR {report['atr']}")
        for key, value in identity.items():
            print(f"  {key:15} {value}")
        print(f"  {'photo':15} {len(data.photo)} bytes (JPEG)")
        print(f"  {'signature':15} {len(data.signature)} bytes")
    return EXIT_OK


def _fail(args: argparse.Namespace, code: str, detail: str, action: str, rc: int) -> int:
    if args.json:
        print(json.dumps({"ok": False, "error": {"code": code, "detail": detail, "action": action}}, indent=2))
    else:
        print(f"card not read: {code}: {detail} (action: {action})", file=sys.stderr)
    return rc
