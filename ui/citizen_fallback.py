"""The citizen's screens for when this kiosk cannot serve them: a card it cannot print, and closed hours.

- ``/fallback``: the plan refused a card for a reason on the kiosk's side (no blanks, the card
  printer down, its daily limit): central's substitute to print (a surat keterangan on A4),
  the nearest kiosks that can print the card now, and a queue ticket for the office counter.
  The PIN stays valid for the card (nothing was consumed; central still holds it ready).
- the closed screen (``closed_page``, shown by the welcome view): the opening hours and the
  nearest open kiosks (bounded and cached; nothing about them when central is unreachable).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, redirect, session, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _

from kiosk.citizen.fallback import card_refused
from kiosk.citizen.session import ActiveSession, SessionError, Step
from kiosk.opening_hours import DAY_NAMES_EN, DAY_NAMES_ID, DAYS
from ui.citizen import STEP_VIEW, kiosk, out_of_service, page, require

bp = Blueprint("citizen_fallback", __name__)


@bp.record_once
def _register_screens(state: BlueprintSetupState) -> None:
    """The citizen views call these without importing this module (ui.citizen is imported by it)."""
    state.app.extensions.setdefault("citizen_screens", {}).update(closed=closed_page, plan_refused=offer_fallback)


def offer_fallback(s: ActiveSession, exc: SessionError) -> Any:
    """Called by the print view when the plan was refused: the fallback screen when it is about the card, else None."""
    codes = [str(c) for c in exc.info.get("codes", [])]  # type: ignore[attr-defined]
    if not card_refused(codes) or kiosk().card_fallback.offer(s, codes) is None:
        return None
    session["fallback_reasons"] = [str(r) for r in exc.info.get("reasons", [])][:8]  # type: ignore[attr-defined]
    return redirect(url_for("citizen_fallback.fallback"))


def _fallback_page(s: ActiveSession, status: int = 200) -> Any:
    fb = kiosk().card_fallback
    offer = fb.current(s.id)
    if offer is None:
        return redirect(url_for("citizen.documents"))
    reasons = [_(r) for r in session.get("fallback_reasons", [])]
    return page("citizen/fallback.html", offer=offer, ticket=fb.ticket(s.id), reasons=reasons), status


@bp.get("/fallback")
def fallback() -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    return _fallback_page(s)


@bp.post("/fallback/substitute")
def print_substitute() -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    if (refused := out_of_service()) is not None:
        return refused
    try:
        kiosk().card_fallback.print_substitute(s)
    except SessionError as exc:
        if exc.code in ("wrong-step", "no-session"):
            return redirect(url_for(STEP_VIEW[s.step]) if kiosk().sessions.get(s.id) else url_for("citizen.welcome"))
        session["fallback_reasons"] = [str(r) for r in exc.info.get("reasons", [exc.citizen_message])][:8]  # type: ignore[attr-defined]
        return _fallback_page(s, 409)
    return redirect(url_for("citizen.printing"))


@bp.post("/fallback/ticket")
def queue_ticket() -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    kiosk().card_fallback.queue_ticket(s)
    kiosk().sessions.touch(s.id)
    return redirect(url_for("citizen_fallback.fallback"))


def closed_page() -> Any:
    """The closed screen: hours, when it opens next, the nearest open kiosks (503: citizens cannot start)."""
    hours = kiosk().hours
    lang = session.get("lang", kiosk().cfg.kiosk.language)
    names = DAY_NAMES_ID if lang == "id" else DAY_NAMES_EN
    table = [(names[d], hours.table().get(d, "")) for d in DAYS]
    nxt = hours.next_open()
    when = dt.datetime.fromtimestamp(nxt) if nxt else None
    return page("citizen/closed.html", table=table, nearest=kiosk().nearby.get(),
                next_open=when.strftime("%H.%M" if lang == "id" else "%H:%M") if when else "",
                next_open_day=names[DAYS[when.weekday()]] if when else "", idle_timeout=0), 503
