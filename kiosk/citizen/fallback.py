"""When a card cannot be printed here: what central offers instead, where it can be printed, a queue ticket.

The plan refuses a card for a reason the citizen cannot fix (no blanks, the card printer
down, its daily limit, the ribbon): "your PIN stays valid" alone sends them home. Instead
the kiosk asks central (``CentralClient.fallback``) for a substitute for that request (in
the simulated central a "surat keterangan" on A4 that stands in for the KTP-el until a
blank is available, a signed PDF printed like any other A4 document, through the plan)
and for the nearest kiosks that can print the card now; and it prints a queue ticket for
the office counter on the receipt printer, numbered by central or, when central cannot be
reached, from a local sequence (the ticket says which).

What can go wrong: central unreachable (the offer is empty, said so; the ticket is local),
central answering garbage (dropped by the client), a hung receipt printer (the ticket is
printed by a worker within a bound; the citizen still sees the number on screen), two taps
(one ticket: the same idempotency key per session, and one local number per key).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field

from drivers.base import N_, AdmError
from kiosk.citizen.central import CentralClient, CentralError, NearbyKiosk
from kiosk.citizen.session import ActiveSession, SessionError, Sessions
from kiosk.config import KioskSection
from kiosk.devices.builder import Devices
from kiosk.i18n import translator
from kiosk.journal.store import Store
from kiosk.model import Document, DocumentKind, Medium
from kiosk.printing.receipt import Line, Receipt

log = logging.getLogger(__name__)
TICKET_PRINT_BOUND_S = 10.0
QUEUE_EVENT = "queue-ticket-local"


def card_refused(codes: list[str]) -> bool:
    """The plan's refusal codes that mean "this kiosk cannot print the card now" (not the citizen's doing)."""
    return any(c.startswith(("blanks-", "card_printer-")) or c in ("duty-limit", "ribbon") for c in codes)


@dataclass
class Offer:
    """What the fallback screen shows for one card document."""

    document_id: str
    kind: DocumentKind
    reason: str
    central_ok: bool
    substitute_id: str = ""
    nearest: list[NearbyKiosk] = field(default_factory=list)
    office: str = ""


@dataclass(frozen=True)
class QueueTicket:
    number: str
    source: str  # central | local
    printed: bool


class CardFallback:
    def __init__(self, store: Store, central: CentralClient, sessions: Sessions, devices: Devices,
                 kiosk: KioskSection) -> None:
        self.store = store
        self.central = central
        self.sessions = sessions
        self.devices = devices
        self.kiosk = kiosk
        self._lock = threading.Lock()  # guards the two tables
        self._one_at_a_time = threading.Lock()  # two taps ask central and print once (one touchscreen)
        self._offers: dict[str, Offer] = {}
        self._tickets: dict[str, QueueTicket] = {}

    def offer(self, s: ActiveSession, codes: list[str]) -> Offer | None:
        """Central's offer for the session's first card document (asked once per session); None without a card."""
        with self._one_at_a_time:
            return self._offer(s, codes)

    def _offer(self, s: ActiveSession, codes: list[str]) -> Offer | None:
        card = next((d for d in s.documents if d.medium is Medium.CARD), None)
        if card is None:
            return None
        self._prune()
        with self._lock:
            if s.id in self._offers:
                return self._offers[s.id]
        reason = next((c for c in codes if card_refused([c])), codes[0] if codes else "")
        try:
            answer = self.central.fallback(s.redemption_id, card.id, reason)
        except CentralError as exc:
            log.info("central gave no fallback offer: %s", exc.code)
            offer = Offer(card.id, card.kind, reason, central_ok=False)
        else:
            offer = Offer(card.id, card.kind, reason, True, nearest=answer.nearest, office=answer.office)
            if answer.substitute is not None:
                offer.substitute_id = self._add_substitute(s, answer.substitute)
        self.store.audit("citizen", "card-fallback-offered", reason=reason, central=offer.central_ok,
                         substitute=bool(offer.substitute_id), nearby=len(offer.nearest))
        with self._lock:
            self._offers[s.id] = offer
        return offer

    def _add_substitute(self, s: ActiveSession, doc: Document) -> str:
        """Fetches the substitute's signed PDF (checksum checked) into the session; '' when central cannot send it."""
        if any(d.id == doc.id for d in s.documents):
            return doc.id
        try:
            s.documents.append(self.central.fetch(s.redemption_id, doc))
        except CentralError as exc:
            log.info("substitute document not fetched: %s", exc.code)
            return ""
        return doc.id

    def current(self, sid: str) -> Offer | None:
        with self._lock:
            return self._offers.get(sid)

    def ticket(self, sid: str) -> QueueTicket | None:
        with self._lock:
            return self._tickets.get(sid)

    def print_substitute(self, s: ActiveSession) -> None:
        """Prints the offered substitute through the plan (``SessionError`` when there is none or it is refused)."""
        with self._lock:
            offer = self._offers.get(s.id)
        if offer is None or not offer.substitute_id:
            raise SessionError("no-substitute", N_("There is nothing to print instead. Your PIN is still valid."))
        self.sessions.start_printing(s.id, [offer.substitute_id])

    def queue_ticket(self, s: ActiveSession) -> QueueTicket:
        """A counter number (central's, else local) printed on the receipt printer; one per session."""
        with self._one_at_a_time:
            return self._queue_ticket(s)

    def _queue_ticket(self, s: ActiveSession) -> QueueTicket:
        with self._lock:
            if s.id in self._tickets:
                return self._tickets[s.id]
            offer = self._offers.get(s.id)
        reason = offer.reason if offer else "card"
        key = f"{self.kiosk.id}:{self.store.journal_id}:queue:{s.id}"
        try:
            number, source = self.central.queue_ticket(key, reason), "central"
        except CentralError as exc:
            log.info("queue number from the local sequence (%s)", exc.code)
            number, source = self._local_number(key), "local"
        ticket = QueueTicket(number, source, self._print(s, number, source))
        self.store.audit("citizen", "queue-ticket", source=source, printed=ticket.printed)
        with self._lock:
            self._tickets[s.id] = ticket
        return ticket

    def _local_number(self, key: str) -> str:
        """Today's next local number, check-and-set in one transaction (the audit row is the sequence)."""
        since = dt.datetime.combine(dt.date.today(), dt.time.min).timestamp()
        with self.store.tx() as db:
            row = db.execute("SELECT json_extract(detail, '$.number') FROM audit WHERE category='citizen' AND event=? "
                             "AND json_extract(detail, '$.key')=?", (QUEUE_EVENT, key)).fetchone()
            if row:
                return f"L-{int(row[0]):03d}"
            n = db.execute("SELECT COUNT(*) FROM audit WHERE category='citizen' AND event=? AND ts>=?",
                           (QUEUE_EVENT, since)).fetchone()[0] + 1
            self.store.audit("citizen", QUEUE_EVENT, db=db, key=key, number=n)
        return f"L-{n:03d}"

    def _print(self, s: ActiveSession, number: str, source: str) -> bool:
        """The ticket on the receipt printer, by a worker within a bound (a hung printer cannot hold the request)."""
        printer = self.devices.get("receipt_printer")
        if printer is None:
            return False
        _ = translator(s.lang)
        lines = [Line(_("ANJUNGAN DUKCAPIL MANDIRI"), bold=True, align="center"),
                 Line(self.kiosk.location, align="center"),
                 Line(f"{self.kiosk.id}  {time.strftime('%d-%m-%Y %H:%M')}", align="center"),
                 Line("-" * getattr(printer, "columns", 48)),
                 Line(_("Queue number for the office counter"), bold=True, align="center"),
                 Line(number, bold=True, big=True, align="center"),
                 Line(_("Number from the Dukcapil server") if source == "central"
                      else _("Local number: the Dukcapil server could not be reached"), align="center"),
                 Line(_("Show this ticket at the Disdukcapil counter. Your PIN is still valid."), align="center")]
        result: list[bool] = []

        def run() -> None:
            try:
                after = printer.print_receipt(Receipt(lines))
                result.append(bool(after.ready))
            except Exception as exc:  # noqa: BLE001 - a ticket fault leaves the number on screen
                code = exc.code if isinstance(exc, AdmError) else "receipt-error"
                self.store.audit("print", "queue-ticket-failed", code=code)
                result.append(False)

        worker = threading.Thread(target=run, name="queue-ticket", daemon=True)
        worker.start()
        worker.join(TICKET_PRINT_BOUND_S)
        return bool(result and result[0])

    def _prune(self) -> None:
        """Offers and tickets live as long as their session (a kiosk runs for months)."""
        live = {a.id for a in self.sessions.active()}
        with self._lock:
            for table in (self._offers, self._tickets):
                for sid in [k for k in table if k not in live]:
                    del table[sid]
