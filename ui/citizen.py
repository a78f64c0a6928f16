"""The citizen's screens: welcome -> identify -> PIN -> documents -> printing -> done.

Plain server-rendered pages; a little JavaScript (static/kiosk.js) runs the keypads, the
idle countdown and the polling. The browser holds only the session ID in a cookie.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from drivers.base import N_, DeviceError
from kiosk.citizen.central import CentralUnavailable
from kiosk.citizen.downloads import DownloadProgress
from kiosk.citizen.session import ActiveSession, SessionError, Step
from kiosk.model import DocumentKind, InvalidNik
from kiosk.services import Kiosk

bp = Blueprint("citizen", __name__)
MEDIUM_LABEL = {"card": N_("Card"), "a4": N_("A4 paper")}
# Why the welcome screen is showing again, when a session ended without the citizen asking.
ENDED_MESSAGE = {
    "timeout": N_("The screen was closed because nothing was touched for a while. Please start again."),
    "card": N_("Your e-KTP was taken off the reader, so we stopped for your safety. Please start again."),
}
# Numbers the page's script updates in place, inside translated sentences (so word order stays the translator's).
CENTRAL_UNAVAILABLE = CentralUnavailable.citizen_message
IDLE_COUNT = Markup('<strong id="idle-count">0</strong>')
DIGIT_COUNT = Markup('<strong class="typed-count">0</strong>')


def kiosk() -> Kiosk:
    return current_app.extensions["kiosk"]  # type: ignore[no-any-return]


def current() -> ActiveSession | None:
    s = kiosk().sessions.get(session.get("sid"))
    if s is None and "sid" in session:
        # The session ended (Finish, timeout, the card pulled), perhaps while this request was in flight: its cookie
        # must not bring the citizen's language and accessibility choices back to the next citizen.
        for key in ("sid", "lang", "a11y"):
            session.pop(key, None)
    return s


def page(template: str, **ctx: Any) -> str:
    cfg = kiosk().cfg
    if ctx.get("idle_timeout") is None:
        ctx["idle_timeout"] = cfg.session.idle_timeout_s
    ctx.setdefault("idle_warn", cfg.session.warn_before_s)
    ctx.setdefault("lang", session.get("lang", cfg.kiosk.language))
    ctx.setdefault("idle_count_html", IDLE_COUNT)
    ctx.setdefault("count_html", DIGIT_COUNT)
    return render_template(template, **ctx)


def assist_code(s: ActiveSession | None) -> str:
    """What staff ask for: the kiosk ID and four hex digits from a hash of the session ID (easy to read
    aloud, and no part of the session's cookie on screen); the time of day when there is no session."""
    cfg = kiosk().cfg
    suffix = hashlib.sha256(s.id.encode()).hexdigest()[:4].upper() if s else time.strftime("%H%M")
    return f"{cfg.kiosk.id}-{suffix}"


def local_path(value: str | None, default: str = "/") -> str:
    """Only same-site paths: a crafted link must not send the kiosk's browser elsewhere.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so ``/\t/evil``
    and ``/\\evil`` are ``//evil``, another host; anything but a plain absolute path (no
    scheme, no host, nothing unprintable or blank, also once percent-decoded) falls back to
    ``default``. (A newline would also make werkzeug refuse the header: a 500.)
    """
    if not value:
        return default
    for form in (value, unquote(value)):
        if (not form.isprintable() or any(c.isspace() or c == "\\" for c in form)
                or not form.startswith("/") or form.startswith("//")):
            return default
    parts = urlsplit(value)
    return default if parts.scheme or parts.netloc else value


def out_of_service() -> Any:
    """The answer to a state-changing citizen request while the kiosk is out of service or in maintenance
    (409, the out-of-service screen or its message in the citizen's language), else None."""
    avail = kiosk().availability()
    if avail.available:
        return None
    message = kiosk().store.get_setting("out_of_service_message") or avail.message
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify(status="out-of-service", error=_(message), message=_(message)), 409
    return page("citizen/out_of_service.html", message=message, idle_timeout=0), 409


def screen_hook(name: str) -> Callable[..., Any] | None:
    """A screen another citizen module registered (ui/citizen_fallback.py: ``closed``, ``plan_refused``)."""
    hooks: dict[str, Callable[..., Any]] = current_app.extensions.get("citizen_screens", {})
    return hooks.get(name)


def has_camera() -> bool:
    return kiosk().scanner.camera is not None


def card_on_reader() -> bool:
    """From the card watch's cache: a request never waits on the reader (a frozen pcscd would hold it)."""
    return kiosk().devices.get("card_reader") is not None and kiosk().monitor.card_present()


def require(step: Step) -> ActiveSession | Any:
    s = current()
    if s is None:
        return redirect(url_for("citizen.welcome"))
    if s.step is not step:
        return redirect(url_for(STEP_VIEW[s.step]))
    return s


STEP_VIEW = {Step.IDENTIFIED: "citizen.pin", Step.AUTHENTICATED: "citizen.documents",
             Step.PRINTING: "citizen.printing", Step.DONE: "citizen.done"}


@bp.get("/")
def welcome() -> Any:
    closed_page = screen_hook("closed")
    if closed_page and not kiosk().hours.is_open() and current() is None:  # one started before closing may finish
        return closed_page()
    avail = kiosk().availability()
    if not avail.available:
        message = kiosk().store.get_setting("out_of_service_message") or avail.message
        return page("citizen/out_of_service.html", message=message, idle_timeout=0), 503
    s = current()
    if s is not None and s.step is not Step.IDENTIFIED:
        return redirect(url_for(STEP_VIEW[s.step]))
    has_reader = kiosk().devices.get("card_reader") is not None
    ended = ENDED_MESSAGE.get(request.args.get("ended", ""))
    # Idle on the welcome screen only matters when someone left it in another language: back to the default.
    # Large text, contrast or a speech choice left behind count the same (ui/citizen_a11y.py).
    default_lang = (session.get("lang", kiosk().cfg.kiosk.language) == kiosk().cfg.kiosk.language
                    and not session.get("a11y"))
    return page("citizen/welcome.html", has_reader=has_reader, has_camera=has_camera(),
                ended_message=_(ended) if ended else "", idle_timeout=0 if default_lang else None)


@bp.post("/lang")
def set_lang() -> Any:
    lang = request.form.get("lang", "id")
    session["lang"] = lang if lang in ("id", "en") else "id"
    s = current()
    if s is not None:
        s.lang = session["lang"]  # the receipt follows the language on screen
        kiosk().sessions.touch(s.id)
    return redirect(local_path(request.form.get("next")))


@bp.get("/help")
def help_page() -> Any:
    s = current()
    cfg = kiosk().cfg
    if s is not None:
        kiosk().sessions.touch(s.id)
    return page("citizen/help.html", assist_code=assist_code(s), help_text=cfg.kiosk.help_text,
                phone=cfg.kiosk.assist_phone, back=local_path(request.args.get("back")))


# -- identify ---------------------------------------------------------------------------

@bp.get("/nik")
def nik_form() -> Any:
    if not kiosk().availability().available:
        return redirect(url_for("citizen.welcome"))
    return page("citizen/nik.html", error=None, typed="")


def _start(nik: str, method: str) -> Any:
    try:
        s = kiosk().sessions.start(nik, method, session.get("lang", kiosk().cfg.kiosk.language))
    except InvalidNik as exc:
        return None, _(exc.reason)
    except SessionError as exc:
        if exc.code == "locked":
            return redirect(url_for("citizen.locked", seconds=exc.info.get("seconds", 0),
                                    scope=exc.info.get("scope", "nik"))), None
        return None, _(exc.citizen_message)
    session["sid"] = s.id
    return redirect(url_for("citizen.pin")), None


@bp.post("/nik")
def nik_submit() -> Any:
    if (refused := out_of_service()) is not None:
        return refused
    typed = request.form.get("nik", "")
    resp, error = _start(typed, "nik")
    if resp is not None:
        return resp
    digits = "".join(c for c in typed if c.isdigit())[:16]
    return page("citizen/nik.html", error=error, typed=digits), 422


@bp.get("/poll")
def poll() -> Any:
    """The welcome screen polls this twice a second: it reacts to an e-KTP on the reader without a button
    press. The card watch's cache only, never the reader itself (a frozen pcscd would hold the request)."""
    return jsonify(card=card_on_reader(), available=kiosk().availability().available and kiosk().hours.is_open())


@bp.post("/card/read")
def card_read() -> Any:
    if (refused := out_of_service()) is not None:
        return refused
    reader = kiosk().devices.get("card_reader")
    if reader is None:
        return jsonify(error=_("The card reader is not working. Please type your NIK instead.")), 409
    try:
        data = kiosk().card_reads.read()  # on the reader's worker, within a deadline: a frozen pcscd cannot hang us
    except DeviceError as exc:
        kiosk().store.audit("device", "card-read-failed", code=exc.code)
        return jsonify(error=_(exc.citizen_message), code=exc.code), 409
    kiosk().monitor.card_read()
    resp, error = _start(data.identity["nik"], "ektp")
    if error:
        return jsonify(error=error), 422
    return jsonify(redirect=resp.location)


# The scanner's messages are plain msgids in kiosk/citizen/scanning.py; listed here so the catalogue extracts them
# (a unit test checks the two stay the same).
QR_MESSAGES = (
    N_("The camera is not available. Please use another way or ask staff for help."),
    N_("This code is not from Dukcapil."),
    N_("This is a document's code. To identify, show the QR code from your WhatsApp message."),
    N_("This is a WhatsApp code. To check a document, show the QR code printed on the document."),
    N_("This QR code is not valid any more. Please use the code from your latest WhatsApp message."),
    N_("The Dukcapil server is not available right now. Please try again later."),
)


@bp.get("/qr")
def qr_page() -> Any:
    if not kiosk().availability().available or not has_camera():
        return redirect(url_for("citizen.welcome"))
    return page("citizen/qr.html")


@bp.post("/qr/poll")
def qr_poll() -> Any:
    """Polled by the QR page: the newest camera frame's WhatsApp QR starts the session (the PIN still follows)."""
    if (refused := out_of_service()) is not None:
        return refused
    if not has_camera():
        return jsonify(status="unavailable", message=_(QR_MESSAGES[0])), 409
    result = kiosk().scanner.identify(wait_s=0.3)
    if result.status != "identified":
        return jsonify(status=result.status, message=_(result.message) if result.message else "")
    resp, error = _start(result.nik, "qr")
    if error:
        return jsonify(status="invalid", message=error), 422
    return jsonify(status="identified", redirect=resp.location)


VERDICT_TEXT = {
    "valid": N_("This document is authentic and valid."),
    "superseded": N_("This document is authentic, but it has been replaced by a newer one."),
    "unknown": N_("This document is not in the Dukcapil database."),
}


def signed_by(signer: str, office: str, signed_at: str) -> dict[str, str]:
    """Who signed the document (TTE), from central's record, with the signing time in the kiosk's local time."""
    try:
        when = datetime.fromisoformat(signed_at).astimezone().strftime("%d-%m-%Y %H.%M") if signed_at else ""
    except ValueError:  # central sent something that is not a time: shown as unknown
        when = ""
    return {"signer": signer, "signer_office": office, "signed_at": when}


@bp.get("/verify")
def verify_page() -> Any:
    """"Cek keaslian dokumen": hold a printed KK or akta's QR code to the camera, see central's verdict."""
    if not kiosk().availability().available or not has_camera():
        return redirect(url_for("citizen.welcome"))
    return page("citizen/verify.html")


@bp.post("/verify/poll")
def verify_poll() -> Any:
    """Polled by the verify page; the verdict carries no more personal data than the document shows."""
    if not has_camera():
        return jsonify(status="unavailable", message=_(QR_MESSAGES[0])), 409
    check = kiosk().scanner.check_document(wait_s=0.3)
    if check.status in VERDICT_TEXT:
        kiosk().store.audit("citizen", "document-checked", verdict=check.status, kind=check.kind)
        try:
            title = _(DocumentKind(check.kind).title) if check.kind else ""
        except ValueError:
            title = check.kind
        return jsonify(status=check.status, verdict=_(VERDICT_TEXT[check.status]), kind=title,
                       number=check.number, issue_date=check.issue_date, office=check.office,
                       **signed_by(check.signer, check.signer_office, check.signed_at))
    return jsonify(status=check.status, message=_(check.message) if check.message else "")


# -- PIN ----------------------------------------------------------------------------------

@bp.get("/pin")
def pin() -> Any:
    s = require(Step.IDENTIFIED)
    if not isinstance(s, ActiveSession):
        return s
    error = _(CENTRAL_UNAVAILABLE) if request.args.get("e") == "unavailable" else None  # a download failed
    return page("citizen/pin.html", nik=s.nik.masked, error=error, method=s.method)


@bp.post("/pin")
def pin_submit() -> Any:
    s = require(Step.IDENTIFIED)
    if not isinstance(s, ActiveSession):
        return s
    if (refused := out_of_service()) is not None:  # before central is asked: the PIN stays unspent
        return refused
    try:
        # no wait for the downloads: the documents screen lists them at once, each "downloading" until it is here
        result = kiosk().sessions.submit_pin(s.id, request.form.get("pin", ""), wait_s=0.0)
    except SessionError as exc:
        status = 503 if exc.code in ("central-unavailable", "fetch-failed") else 422
        return page("citizen/pin.html", nik=s.nik.masked, error=_(exc.citizen_message), method=s.method), status
    if result.ok:
        return redirect(url_for("citizen.documents"))
    if result.lockout:
        kiosk().sessions.end(s.id, "locked")
        session.pop("sid", None)
        return redirect(url_for("citizen.locked", seconds=result.lockout.seconds_left, scope=result.lockout.scope))
    error = _("The PIN is wrong. %(n)s tries left.", n=result.tries_left)
    return page("citizen/pin.html", nik=s.nik.masked, error=error, method=s.method), 422


@bp.get("/locked")
def locked() -> Any:
    arg = request.args.get("seconds", "")
    seconds = min(int(arg), 86400) if arg.isdigit() else 900
    minutes = max(1, (seconds + 59) // 60)
    until = time.strftime("%H.%M" if session.get("lang", kiosk().cfg.kiosk.language) == "id" else "%H:%M",
                          time.localtime(time.time() + seconds + 59))
    scope = "kiosk" if request.args.get("scope") == "kiosk" else "nik"
    return page("citizen/locked.html", minutes=minutes, until=until, scope=scope)


# -- documents and printing -----------------------------------------------------------------

@bp.get("/documents")
def documents() -> Any:
    """The documents as soon as central's redemption answers: each row "downloading" or "ready", "Cetak" at once
    (each print lane waits for its own document); the progress line while any is still downloading."""
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    return _documents_page(s, [])


def _documents_page(s: ActiveSession, errors: list[str], status: int = 200) -> Any:
    try:
        state = kiosk().sessions.downloaded(s.id)
    except SessionError as exc:  # a download failed before "Cetak": the PIN step, told why
        return page("citizen/pin.html", nik=s.nik.masked, error=_(exc.citizen_message), method=s.method), 503
    return page("citizen/documents.html", docs=_doc_rows(s, state), errors=errors,
                download_text="" if state.finished else _download_text(state)), status


def _download_text(state: DownloadProgress) -> str:
    return _("Downloading your documents (%(n)s of %(total)s)", n=state.current, total=state.total)


@bp.get("/documents/status")
def documents_status() -> Any:
    """Polled while documents download (the documents screen, the data check's wait): the progress line and each
    document's state, until they (or those named by ``doc``) are here, or a download failed."""
    s = current()
    if s is None:
        return jsonify(ended=True), 404
    if s.step is not Step.AUTHENTICATED:
        return jsonify(finished=True, url=url_for(STEP_VIEW[s.step]))
    try:
        state = kiosk().sessions.downloaded(s.id)
    except SessionError:
        return jsonify(finished=True, failed=True, url=url_for("citizen.pin", e="unavailable"))
    wanted = set(request.args.getlist("doc")) or {d.id for d in s.documents}
    return jsonify(finished=state.finished or wanted <= state.ready, failed=False, text=_download_text(state),
                   docs={r["id"]: {"state": r["state"], "label": r["label"]} for r in _doc_rows(s, state)},
                   url=url_for("citizen.documents"))


def _doc_rows(s: ActiveSession, state: DownloadProgress | None = None) -> list[dict[str, Any]]:
    labels = {"ready": _("Ready"), "downloading": _("Downloading...")}
    rows = []
    for d in s.documents:
        st = "ready" if state is None or d.id in state.ready else "downloading"
        rows.append({"id": d.id, "title": _(d.kind.title), "medium": _(MEDIUM_LABEL[d.medium.value]),
                     "pages": d.pages, "icon": d.medium.value, "state": st, "label": labels[st]})
    return rows


@bp.post("/print")
def print_docs() -> Any:
    s = require(Step.AUTHENTICATED)
    if not isinstance(s, ActiveSession):
        return s
    if (refused := out_of_service()) is not None:
        return refused
    chosen = request.form.getlist("doc")
    try:
        kiosk().sessions.start_printing(s.id, chosen)
    except SessionError as exc:
        if exc.code in ("wrong-step", "no-session"):  # a second tap: the first one prints, this one shows it
            return redirect(url_for(STEP_VIEW[s.step]) if kiosk().sessions.get(s.id) else url_for("citizen.welcome"))
        if exc.code == "fetch-failed":  # a download failed: back at the PIN step, told why
            return redirect(url_for("citizen.pin", e="unavailable"))
        offer_fallback = screen_hook("plan_refused")
        if exc.code == "plan-refused" and offer_fallback and (fallback := offer_fallback(s, exc)) is not None:
            return fallback
        reasons = [_(r) for r in exc.info.get("reasons", [exc.citizen_message])]  # type: ignore[union-attr]
        return _documents_page(s, reasons, 409)
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
    return page("citizen/printing.html", rows=_progress_rows(s), idle_timeout=0)


def _progress_rows(s: ActiveSession) -> list[dict[str, str]]:
    labels = {"queued": _("Waiting"), "printing": _("Printing..."), "done": _("Printed"), "failed": _("Not printed")}
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
    cfg = kiosk().cfg
    return page("citizen/done.html", rows=rows, failed=failed, reference=s.reference, receipt_ok=not s.receipt_error,
                assist_code=assist_code(s), phone=cfg.kiosk.assist_phone,
                idle_timeout=min(30, cfg.session.idle_timeout_s), idle_warn=min(cfg.session.warn_before_s, 10))


@bp.post("/end")
def end() -> Any:
    s = current()
    if s is not None:  # while printing too: documents not yet at a printer are then never printed
        kiosk().sessions.end(s.id, "done" if s.step is Step.DONE else "cancelled")
    session.pop("sid", None)
    session.pop("lang", None)  # the next citizen starts in the kiosk's default language
    session.pop("a11y", None)  # and with normal text and contrast, speech by headset (ui/citizen_a11y.py)
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
        return jsonify(active=False, reason="timeout")
    if s.method == "ektp" and s.step in (Step.IDENTIFIED, Step.AUTHENTICATED):
        if kiosk().devices.get("card_reader") is not None and kiosk().monitor.card_removed(s.started):
            kiosk().sessions.end(s.id, "card-removed")
            session.pop("sid", None)
            session.pop("lang", None)
            session.pop("a11y", None)
            return jsonify(active=False, reason="card")
    return jsonify(active=True, step=s.step.value)


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
