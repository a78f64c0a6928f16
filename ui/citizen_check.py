""""Periksa data Anda": before a blank card is used, the citizen sees the card as it will print.

documents -> (a KTP-el or KIA chosen) check -> print. The face is the print job's own
rendering (``kiosk.printing.preview``), sent from memory with ``no-store``: never a file on
disk, gone with the response. "Data benar, cetak" goes on to printing as before; "Data salah,
jangan cetak" prints nothing, keeps the PIN, queues a ``data-rejected`` report for central
and ends the session with where to go instead (the Disdukcapil office counter). A choice
without a card goes straight to printing: there is no blank to protect; so does a choice
whose plan is refused (no blanks, printer down): the refusal, or the card fallback, comes first.

The face needs the card's data, which arrives with its download: the check waits for the chosen
cards' downloads only (a second on the request, then a waiting screen with the progress line that
polls and comes back here once they are in; a failed download goes to the PIN screen's "server
unavailable"). The A4 documents may still be downloading: their print lane waits for them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, request, session, url_for

from kiosk.citizen.session import ActiveSession, SessionError, Step
from kiosk.model import Medium
from kiosk.printing.preview import card_preview_png
from kiosk.printing.service import PlanRefused
from ui.citizen import (
    STEP_VIEW,
    _doc_rows,
    _download_text,
    assist_code,
    kiosk,
    out_of_service,
    page,
    print_docs,
    require,
)

bp = Blueprint("citizen_check", __name__)
CARD_WAIT_S = 1.0  # on the request thread; longer, and the waiting screen polls


@bp.post("/check")
def check() -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    chosen = set(request.form.getlist("doc"))
    cards = [d for d in s.documents if d.id in chosen and d.medium is Medium.CARD]
    if not cards:
        return print_docs()
    try:  # a plan that cannot complete (no blanks, printer down): its refusal or the card fallback comes first
        kiosk().printing.plan([d for d in s.documents if d.id in chosen], content_follows=True)
    except PlanRefused:
        return print_docs()
    kiosk().sessions.touch(s.id)
    card_ids = [d.id for d in cards]
    try:
        state = kiosk().sessions.downloaded(s.id, CARD_WAIT_S, card_ids)
    except SessionError:
        return redirect(url_for("citizen.pin", e="unavailable"))
    if not set(card_ids) <= state.ready:
        return page("citizen/check_wait.html", text=_download_text(state),
                    status_url=url_for("citizen.documents_status", doc=card_ids),
                    chosen=[d.id for d in s.documents if d.id in chosen])
    return page("citizen/check.html", chosen=[d.id for d in s.documents if d.id in chosen],
                cards=[{"id": d.id, "title": row["title"]} for d, row in zip(s.documents, _doc_rows(s), strict=True)
                       if d in cards])


@bp.get("/check/card/<doc_id>.png")
def card_face(doc_id: str) -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        abort(404)
    doc = next((d for d in s.documents if d.id == doc_id and d.medium is Medium.CARD), None)
    profile = kiosk().devices.profiles.get("card_printer")
    if doc is None or profile is None or doc.identity is None:  # not yet downloaded: the check page waits for it
        abort(404)
    resp = Response(card_preview_png(doc, profile.size_px), mimetype="image/png")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/check/reject")
def reject() -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    if (refused := out_of_service()) is not None:
        return refused
    code = assist_code(s)
    try:
        kiosk().sessions.reject_data(s.id, request.form.getlist("doc"))
    except SessionError:
        live = kiosk().sessions.get(s.id)
        return redirect(url_for(STEP_VIEW[live.step]) if live else url_for("citizen.welcome"))
    session.pop("sid", None)
    cfg = kiosk().cfg
    return page("citizen/data_rejected.html", assist_code=code, phone=cfg.kiosk.assist_phone,
                idle_timeout=min(60, cfg.session.idle_timeout_s),
                idle_warn=min(cfg.session.warn_before_s, 10))
