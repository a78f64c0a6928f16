"""Prints a session's receipt: what was printed (with the card's serial) and what was not.

A receipt fault never undoes a printed document: every failure is journaled and returned
as a code (the citizen notes the reference on screen instead); nothing here raises.
"""

from __future__ import annotations

import time

from drivers.base import AdmError
from kiosk.citizen.session import ActiveSession
from kiosk.config import KioskSection
from kiosk.devices.builder import Devices
from kiosk.i18n import translator
from kiosk.journal.store import Store
from kiosk.model import DocumentKind
from kiosk.printing.receipt import build_receipt


class ReceiptService:
    def __init__(self, store: Store, devices: Devices, kiosk: KioskSection) -> None:
        self.store = store
        self.devices = devices
        self.kiosk = kiosk

    def print_receipt(self, s: ActiveSession) -> str:
        """Prints the session's receipt; returns an error code ('' when printed). Never raises."""
        printer = self.devices.get("receipt_printer")
        if printer is None or s.outcome is None:
            return "no-receipt-printer"
        _ = translator(s.lang)
        titles = {d.id: (_(d.kind.title), d.number if d.kind is not DocumentKind.KTP_EL else "") for d in s.documents}
        serials = dict(self.store.query("SELECT document_id, blank_serial FROM print_jobs WHERE session_id=?", (s.id,)))
        receipt = build_receipt(
            kiosk_id=self.kiosk.id, location=self.kiosk.location, when=time.strftime("%d-%m-%Y %H:%M"),
            nik_masked=s.nik.masked, reference=s.reference,
            printed=[(titles[i][0], serials.get(i) or "") for i in s.outcome.printed if i in titles],
            failed=[titles[i][0] for i in s.outcome.failed if i in titles],
            columns=getattr(printer, "columns", 48), _=_)
        try:
            after = printer.print_receipt(receipt)
        except Exception as exc:  # noqa: BLE001 - a receipt fault never undoes a printed document
            code = exc.code if isinstance(exc, AdmError) else "receipt-error"
            self.store.audit("print", "receipt-failed", code=code)
            return str(code)
        if not after.ready:  # out of paper mid-receipt, or a printer that cannot say: the citizen notes the reference
            code = after.code or "unconfirmed"
            self.store.audit("print", "receipt-unconfirmed", code=code, reference=s.reference)
            return code
        self.store.audit("print", "receipt-printed", reference=s.reference)
        return ""
