"""Help for the citizen on every screen: "Panggil petugas" (call staff) and assisted mode (an operator helping).

The call-staff control is ``templates/_call_staff.html``, included by the base layout, with
``static/call-staff.js``; without script its forms still work. Calls go to
``kiosk.staff_calls`` (the owner; central hears through the outbox). Assisted mode goes to
``kiosk.assisted``: the operator signs in here (``/assist/login``, role operator only), the
cookie ``adm_assist`` marks the helper's browser, every citizen page shown is recorded
among the screens passed, and the PIN screen suspends the helper (a "Petugas, mohon
berpaling" notice, helper controls gone, helper actions refused with 423, no resume until
the PIN step is over). The kiosk cannot tell whose finger touches the glass; what it
enforces is that the helper's sign-in is worth nothing on the PIN screen and that the
PIN is never shown, spoken or kept.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, session
from flask_babel import gettext as _

from kiosk.citizen.session import Step
from ui.citizen import current, kiosk, local_path, page

bp = Blueprint("citizen_help", __name__)
ASSIST_COOKIE = "adm_assist"
# The citizen pages (endpoint -> the screen name central, the metric and the audit see).
SCREENS = {"citizen.welcome": "welcome", "citizen.nik_form": "nik", "citizen.nik_submit": "nik",
           "citizen.qr_page": "qr", "citizen.verify_page": "verify", "citizen.pin": "pin", "citizen.pin_submit": "pin",
           "citizen.documents": "documents", "citizen.print_docs": "documents", "citizen.printing": "printing",
           "citizen.done": "done", "citizen.help_page": "help", "citizen.locked": "locked",
           "citizen_help.assist_login": "assist-login"}
PAGE_VIEWS = {"citizen.welcome", "citizen.nik_form", "citizen.qr_page", "citizen.verify_page", "citizen.pin",
              "citizen.documents", "citizen.printing", "citizen.done", "citizen.help_page", "citizen.locked"}


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


def _on_pin_step() -> bool:
    s = current()
    return s is not None and s.step is Step.IDENTIFIED


def _anyone_on_pin_step() -> bool:
    """Whether any citizen session is at the PIN step (whatever browser asks: the helper's may hold no session)."""
    return any(s.step is Step.IDENTIFIED for s in kiosk().sessions.active())


def _back() -> Any:
    return redirect(local_path(request.form.get("next")))


@bp.app_context_processor
def _help_context() -> dict[str, Any]:
    """What the include needs: the open call, the live assisted session, whether this browser is the helper's."""
    k = kiosk()
    try:
        call, assisted = k.staff_calls.current(), k.assisted.live()
    except sqlite3.DatabaseError:  # the out-of-service page of a broken journal still renders
        call, assisted = None, None
    return {"help_call": call, "help_assisted": assisted,
            "help_is_helper": k.assisted.is_helper(request.cookies.get(ASSIST_COOKIE)),
            "help_screen": SCREENS.get(request.endpoint or "", "unknown"),
            "help_on_pin": assisted is not None and request.endpoint == "citizen.pin"}


@bp.before_app_request
def _assisted_screens() -> Any:
    """While assisted: each citizen page shown is a screen passed; the PIN screen suspends the helper, and a PIN
    sent while the helper is not suspended is refused (the helper must have looked away first)."""
    endpoint = request.endpoint or ""
    if not endpoint.startswith("citizen."):
        return None
    assisted = kiosk().assisted
    live = assisted.live()
    if live is None:
        return None
    if request.method == "GET" and endpoint in PAGE_VIEWS:
        assisted.seen(SCREENS[endpoint], session.get("sid"), _on_pin_step())
    elif endpoint == "citizen.pin_submit" and live.state != "suspended":
        message = _("Staff, please look away. Only the citizen types the PIN.")
        return (jsonify(error=message), 409) if _wants_json() else (page("citizen/error.html", message=message), 409)
    return None


# -- call staff ------------------------------------------------------------------------------

@bp.post("/help/call")
def call() -> Any:
    screen = request.form.get("screen", "")
    s = current()
    try:
        c = kiosk().staff_calls.call(screen if screen in SCREENS.values() else "unknown", s.id if s else None)
    except sqlite3.DatabaseError:
        message = _("Staff could not be called from this kiosk. Please ask at the counter.")
        return (jsonify(status="failed", error=message), 503) if _wants_json() else page(
            "citizen/error.html", message=message), 503
    if s is not None:
        kiosk().sessions.touch(s.id)
    if _wants_json():
        return jsonify(status="open", screen=c.screen)
    return _back()


@bp.post("/help/call/cancel")
def cancel() -> Any:
    cancelled = kiosk().staff_calls.cancel()
    if _wants_json():
        return jsonify(status="cancelled" if cancelled else "none")
    return _back()


@bp.get("/help/call/state")
def call_state() -> Any:
    c = kiosk().staff_calls.current()
    return jsonify(status="open" if c else "none")


# -- assisted mode ---------------------------------------------------------------------------------

@bp.get("/assist/login")
def assist_login() -> Any:
    return render_template("assist/login.html", error=None, technician=None, next=local_path(request.args.get("next")),
                           lang=session.get("lang", kiosk().cfg.kiosk.language))


@bp.post("/assist/login")
def assist_login_submit() -> Any:
    nxt = local_path(request.form.get("next"))
    operator = request.form.get("operator_id", "")[:64]
    password = request.form.get("password", "")[:128]
    result, token, refused = kiosk().assisted.sign_in(operator, password)
    if token is None:
        if refused == "busy":
            error, status = _("Another staff member is already helping at this kiosk."), 409
        elif result.locked_s:
            error = _("Too many failed logins. Try again in %(m)s minutes.", m=max(1, (result.locked_s + 59) // 60))
            status = 429
        else:
            error, status = _("Wrong ID or password."), 401
        return render_template("assist/login.html", error=error, technician=None, next=nxt,
                               lang=session.get("lang", kiosk().cfg.kiosk.language)), status
    resp = redirect(nxt)
    resp.set_cookie(ASSIST_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return resp


@bp.post("/assist/finish")
def assist_finish() -> Any:
    if not kiosk().assisted.finish(request.cookies.get(ASSIST_COOKIE)):
        return _refused()
    resp = _back() if not _wants_json() else jsonify(status="ended")
    resp.delete_cookie(ASSIST_COOKIE, path="/")
    return resp


@bp.post("/assist/resume")
def assist_resume() -> Any:
    if not kiosk().assisted.resume(request.cookies.get(ASSIST_COOKIE), _anyone_on_pin_step()):
        return _refused()
    return jsonify(status="active") if _wants_json() else _back()


def _refused() -> Any:
    """A helper action while suspended (the PIN screen) or without the helper's own sign-in: 423, said plainly."""
    live = kiosk().assisted.live()
    message = (_("Staff, please look away. Only the citizen types the PIN.") if live and live.state == "suspended"
               else _("Only the staff member who signed in to help can do this."))
    if _wants_json():
        return jsonify(status="refused", error=message), 423
    return page("citizen/error.html", message=message), 423
