"""What a citizen may know about a kiosk before travelling to it: the heartbeat's public part.

A citizen who travels three hours to a kiosk that is broken, closed or out of blanks has
lost a day; the regency's site shows this summary for every kiosk (the simulated central's
public page). It carries no personal data and nothing a technician's status has that a
citizen does not need: a state in one word, the document kinds a plan could complete now
(the print service's own rules, ``PrintService.printable_now``), blanks as plenty / few /
none, the opening hours and where the kiosk is. It is built from the status snapshot's
parts, never from the hardware, so it costs nothing and cannot disagree with the status API.
"""

from __future__ import annotations

from typing import Any

from kiosk.config import KioskSection
from kiosk.model import DocumentKind
from kiosk.opening_hours import OpeningHours
from kiosk.printing.service import PrintService
from kiosk.staff.service_mode import Availability

# the state words, most telling first; the public page and docs/central-api.yaml (PublicSummary) use them
STATES = ("in_service", "out_of_service", "maintenance", "closed", "printer_down", "no_blanks", "no_ribbon",
          "no_paper", "daily_limit")
BLANK_WORDS = {"ok": "plenty", "low": "few", "out": "none"}


def _problem(codes: list[str]) -> str:
    """The one word for why a plan of some kind would be refused (the plan's codes)."""
    for code in codes:
        if code.startswith("blanks-"):
            return "no_blanks"
        if code == "duty-limit":
            return "daily_limit"
        if code == "ribbon":
            return "no_ribbon"
        if code == "paper":
            return "no_paper"
    return "printer_down" if codes else ""


def state_word(avail: Availability, open_now: bool, card_codes: list[str], a4_codes: list[str]) -> str:
    if avail.mode == "maintenance":
        return "maintenance"
    if not avail.available and avail.mode != "in_service" or any(r.startswith("journal:") for r in avail.reasons):
        return "out_of_service"
    if not open_now:
        return "closed"
    if not avail.available:
        return "printer_down"
    return _problem(card_codes) or _problem(a4_codes) or "in_service"


def public_summary(kiosk: KioskSection, avail: Availability, hours: OpeningHours, printing: PrintService,
                   blanks: dict[str, dict[str, Any]], now: float) -> dict[str, Any]:
    """The public summary (docs/central-api.yaml ``PublicSummary``); ``blanks`` is the snapshot's blanks part."""
    open_now = hours.is_open(now)
    printable = [k.value for k in printing.printable_now()] if avail.available and open_now else []
    state = state_word(avail, open_now, printing.refusal_codes_now(DocumentKind.KTP_EL),
                       printing.refusal_codes_now(DocumentKind.KK))
    next_open = hours.next_open(now)
    return {
        "state": state,
        "open_now": open_now,
        "can_print": printable,
        "blanks": {kind: BLANK_WORDS[b["level"]] for kind, b in sorted(blanks.items())},
        "opening_hours": hours.table(),
        "next_open_at": round(next_open, 3) if next_open is not None else None,
        "location": {"name": kiosk.location, "latitude": kiosk.latitude, "longitude": kiosk.longitude},
    }
