"""The citizen's screens: welcome -> identify -> PIN -> documents -> printing -> done.

Plain server-rendered pages; a little JavaScript (static/kiosk.js) runs the keypads, the
idle countdown and the polling. The browser holds only the session ID in a cookie.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from drivers.base import N_, DeviceError
from kiosk.model import InvalidNik
from kiosk.service import Kiosk
from kiosk.session import ActiveSession, SessionError, Step

bp = Blueprint("citizen", __name__)
MEDIUM_LABEL = {"card": N_("Card"), "a4": N_("A4 paper")}


def kiosk() -> Kiosk:
    return current_app.extensions["kiosk"]  # type: ignore[no-any-return]


def current() -> ActiveSession | None:
    s = kiosk().sessions.get(session.get("sid"))
    if s is None:
        session.pop("sid", None)
    return s


def page(template: str, **ctx: Any) -> str:
    cfg = kiosk().cfg
    ctx.setdefault("idle_timeout", cfg.session.idle_timeout_s)
    ctx.setdefault("idle_warn", cfg.session.warn_before_s)
    ctx.setdefault("lang", session.get("lang", cfg.kiosk.language))
    return render_template(template, **ctx)


def require(step: Step) -> ActiveSession | Any:
    s = current()
    if s is None:
        return redirect(url_for("citizen.welcome"))
    if s.step is not step:
        return redirect(url_for(STEP_VIEW[s.step]))
    return s


STEP_VIEW = {Step.IDENTIFIED: "citizen.pin", Step.AUTHENTICATED: "citizen.documents",
             Step.PRINTING: "citizen.printing", Step.DONE: "citizen.done", Step.ENDED: "citizen.welcome"}


@bp.get("/")
def welcome() -> Any:
    avail = kiosk().availability()
    if not avail.available:
        message = kiosk().store.get_setting("out_of_service_message") or avail.message
        return page("citizen/out_of_service.html", message=message), 503
    s = current()
    if s is not None and s.step is not Step.IDENTIFIED:
        return redirect(url_for(STEP_VIEW[s.step]))
    has_reader = kiosk().devices.get("card_reader") is not None
    has_camera = kiosk().devices.get("camera") is not None and hasattr(kiosk(), "scanner")
    return page("citizen/welcome.html", has_reader=has_reader, has_camera=has_camera)


@bp.post("/lang")
def set_lang() -> Any:
    lang = request.form.get("lang", "id")
    session["lang"] = lang if lang in ("id", "en") else "id"
    nxt = request.form.get("next", "/")
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")


@bp.get("/help")
def help_page() -> Any:
    s = current()
    cfg = kiosk().cfg
    code = f"{cfg.kiosk.id}-{(s.id[:4].upper() if s else time.strftime('%H%M'))}"
    return page("citizen/help.html", assist_code=code, help_text=cfg.kiosk.help_text, phone=cfg.kiosk.assist_phone)


# -- identify ---------------------------------------------------------------------------

@bp.get("/nik")
def nik_form() -> Any:
    if not kiosk().availability().available:
        return redirect(url_for("citizen.welcome"))
    return page("citizen/nik.html", error=None)


def _start(nik: str, method: str) -> Any:
    try:
        s = kiosk().sessions.start(nik, method, session.get("lang", kiosk().cfg.kiosk.language))
    except InvalidNik as exc:
        return None, _(exc.reason)
    except SessionError as exc:
        if exc.code == "locked":
            return redirect(url_for("citizen.locked", seconds=exc.info.get("seconds", 0))), None
        return None, _(exc.message)
    session["sid"] = s.id
    return redirect(url_for("citizen.pin")), None


@bp.post("/nik")
def nik_submit() -> Any:
    if not kiosk().availability().available:
        return redirect(url_for("citizen.welcome"))
    resp, error = _start(request.form.get("nik", ""), "nik")
    if resp is not None:
        return resp
    return page("citizen/nik.html", error=error), 422


@bp.get("/poll")
def poll() -> Any:
    """The welcome screen polls this: it reacts to an e-KTP on the reader without a button press."""
    reader = kiosk().devices.get("card_reader")
    present = bool(reader and kiosk().monitor.status("card_reader").media == "present") or bool(
        reader and reader.card_present())
    return jsonify(card=present, available=kiosk().availability().available)


@bp.post("/card/read")
def card_read() -> Any:
    reader = kiosk().devices.get("card_reader")
    if reader is None:
        return jsonify(error=_("The card reader is not working. Please type your NIK instead.")), 409
    try:
        data = reader.read()
    except DeviceError as exc:
        kiosk().store.audit("device", "card-read-failed", code=exc.code)
        return jsonify(error=_(exc.citizen_message), code=exc.code), 409
    resp, error = _start(data.identity["nik"], "ektp")
    if error:
        return jsonify(error=error), 422
    return jsonify(redirect=resp.location)


# -- PIN ----------------------------------------------------------------------------------

@bp.get("/pin")
def pin() -> Any:
    s = require(Step.IDENTIFIED)
    if not isinstance(s, ActiveSession):
        return s
    return page("citizen/pin.html", nik=s.nik.masked, error=None, method=s.method)


@bp.post("/pin")
def pin_submit() -> Any:
    s = require(Step.IDENTIFIED)
    if not isinstance(s, ActiveSession):
        return s
    try:
        result = kiosk().sessions.submit_pin(s.id, request.form.get("pin", ""))
    except SessionError as exc:
        status = 503 if exc.code in ("CentralUnavailable", "fetch-failed") else 422
        return page("citizen/pin.html", nik=s.nik.masked, error=_(exc.message), method=s.method), status
    if result.ok:
        return redirect(url_for("citizen.documents"))
    if result.lockout:
        kiosk().sessions.end(s.id, "locked")
        session.pop("sid", None)
        return redirect(url_for("citizen.locked", seconds=result.lockout.seconds_left))
    error = _("The PIN is wrong. %(n)s tries left.", n=result.tries_left)
    return page("citizen/pin.html", nik=s.nik.masked, error=error, method=s.method), 422


@bp.get("/locked")
def locked() -> Any:
    seconds = request.args.get("seconds", "0")
    minutes = max(1, (int(seconds) + 59) // 60) if seconds.isdigit() else 15
    return page("citizen/locked.html", minutes=minutes)


# -- documents and printing -----------------------------------------------------------------

@bp.get("/documents")
def documents() -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    return page("citizen/documents.html", docs=_doc_rows(s), errors=[])


def _doc_rows(s: ActiveSession) -> list[dict[str, Any]]:
    return [{"id": d.id, "title": _(d.kind.title), "medium": _(MEDIUM_LABEL[d.medium.value]), "pages": d.pages,
             "icon": d.medium.value} for d in s.documents]


@bp.post("/print")
def print_docs() -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    chosen = request.form.getlist("doc")
    try:
        kiosk().sessions.start_printing(s.id, chosen)
    except SessionError as exc:
        reasons = [_(r) for r in exc.info.get("reasons", [exc.message])]  # type: ignore[union-attr]
        return page("citizen/documents.html", docs=_doc_rows(s), errors=reasons), 409
    return redirect(url_for("citizen.printing"))


@bp.get("/printing")
def printing() -> Any:
    s = current()
    if s is None:
        return redirect(url_for("citizen.welcome"))
    if s.step is Step.DONE:
        return redirect(url_for("citizen.done"))
    if s.step is not Step.PRINTING:
        return redirect(url_for(STEP_VIEW[s.step]))
    return page("citizen/printing.html", rows=_progress_rows(s))


def _progress_rows(s: ActiveSession) -> list[dict[str, str]]:
    labels = {"queued": _("Waiting"), "printing": _("Printing..."), "done": _("Done"), "failed": _("Not printed")}
    return [{"id": p.document_id, "title": _(p.kind.title), "state": p.state, "label": labels[p.state],
             "message": _(p.message) if p.message else ""} for p in s.progress.values()]


@bp.get("/printing/status")
def printing_status() -> Any:
    s = current()
    if s is None:
        return jsonify(ended=True), 404
    s.last_activity = time.monotonic()
    return jsonify(done=s.step is Step.DONE, rows=_progress_rows(s))


@bp.get("/done")
def done() -> Any:
    s = current()
    if s is None:
        return redirect(url_for("citizen.welcome"))
    if s.step is not Step.DONE:
        return redirect(url_for(STEP_VIEW[s.step]))
    rows = _progress_rows(s)
    failed = [r for r in rows if r["state"] != "done"]
    return page("citizen/done.html", rows=rows, failed=failed, reference=s.reference,
                receipt_ok=not s.receipt_error, idle_timeout=min(30, kiosk().cfg.session.idle_timeout_s))


@bp.post("/end")
def end() -> Any:
    s = current()
    if s is not None and s.step is not Step.PRINTING:
        kiosk().sessions.end(s.id, "done" if s.step is Step.DONE else "cancelled")
    session.pop("sid", None)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(ok=True)
    return redirect(url_for("citizen.welcome"))


@bp.post("/touch")
def touch() -> Any:
    s = current()
    if s:
        kiosk().sessions.touch(s.id)
    return jsonify(ok=True, active=s is not None)


@bp.get("/session/state")
def session_state() -> Any:
    """Polled by every step page: lets the page react to a timeout or an e-KTP pulled mid-flow."""
    s = current()
    if s is None:
        return jsonify(active=False)
    card_gone = False
    if s.method == "ektp" and s.step in (Step.IDENTIFIED, Step.AUTHENTICATED):
        reader = kiosk().devices.get("card_reader")
        card_gone = reader is not None and not reader.card_present()
        if card_gone:
            kiosk().sessions.end(s.id, "card-removed")
            session.pop("sid", None)
    return jsonify(active=not card_gone, step=s.step.value)


@bp.app_errorhandler(413)
def too_large(_exc: Any) -> Any:
    return jsonify(error="request body too large"), 413


@bp.app_errorhandler(400)
def bad_request(exc: Any) -> Any:
    desc = getattr(exc, "description", "bad request")
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return jsonify(error=str(desc)), 400
    current_app.logger.info("bad request on %s: %s", request.path, desc)
    return page("citizen/error.html", message=_("Something went wrong. Please start again.")), 400
