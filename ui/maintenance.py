"""The technician's screens under ``/maintenance``: login, dashboard, self-tests, supplies,
reconciliation, faults, journal, diagnostics and (in simulation) the simulator panel.

Every route but login and logout answers 403 without a technician session. The session is its
own cookie (``adm_tech``, path ``/maintenance``, HttpOnly, SameSite=Strict) holding a
random token checked server-side (``kiosk.technicians``), short-lived and ended when idle;
forms carry the app's CSRF token. Views call ``kiosk.maintenance.Maintenance`` only.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from drivers.base import N_
from kiosk.journal.reconciliation import report_pdf
from kiosk.staff.diagnostics import EXPORTS, audit_events, export, recent_jobs
from kiosk.staff.maintenance import BLANK_KINDS, Maintenance, MaintenanceError
from kiosk.staff.selftests import TESTS

bp = Blueprint("maintenance", __name__, url_prefix="/maintenance")
COOKIE = "adm_tech"
# Open without a session: the login itself, and logout (an idle session may have ended on the server a moment
# before the screen's own idle timer sends its logout; that logout must still land on the citizen screen).
PUBLIC = {"maintenance.login", "maintenance.login_submit", "maintenance.logout"}

TEST_TITLES = {
    "card_printer": N_("Card printer: test print"),
    "document_printer": N_("A4 printer: test page"),
    "receipt_printer": N_("Receipt printer: test receipt"),
    "card_reader": N_("Card reader: read an e-KTP"),
    "camera": N_("Camera: decode a code"),
    "central": N_("Central server: reachability"),
}
DEVICE_TITLES = {
    "card_reader": N_("Card reader"), "camera": N_("Camera"), "card_printer": N_("Card printer"),
    "document_printer": N_("A4 printer"), "receipt_printer": N_("Receipt printer"), "central": N_("Central server"),
}
ERRORS = {
    "serial-format": N_("A serial number must end in digits."),
    "serial-prefix": N_("The first and last serial must have the same prefix and length."),
    "serial-order": N_("The last serial comes before the first."),
    "count-mismatch": N_("The count does not match the serial range."),
    "batch-too-large": N_("That batch is too large for one load."),
    "overlap": N_("Refused: some of these serials are already in the journal."),
    "kind": N_("Choose the kind of blank card."),
    "batch-format": N_("The batch number may hold letters, digits, '.', '/', '_' and '-'."),
    "no-supply": N_("Unknown supply."),
    "supply-range": N_("The count must be between 0 and the capacity."),
    "not-in-stock": N_("That serial is not in stock."),
    "device": N_("Unknown device."),
    "not-stuck": N_("That job is no longer stuck."),
    "not-simulated": N_("The simulator is only available in simulation."),
    "action": N_("Unknown action."),
    "date": N_("The date is written as YYYY-MM-DD."),
}


def maintenance() -> Maintenance:
    return current_app.extensions["maintenance"]  # type: ignore[no-any-return]


@bp.record_once
def _setup(state: Any) -> None:
    from kiosk.staff.diagnostics import RecentLogs
    app = state.app
    app.extensions.setdefault("maintenance", Maintenance(app.extensions["kiosk"], logs=RecentLogs.install()))


@bp.app_template_filter("mt_when")
def _when(ts: float | None) -> str:
    return time.strftime("%d-%m-%Y %H:%M:%S", time.localtime(ts)) if ts else "-"


@bp.before_app_request
def _expire() -> None:
    """Any request (the citizen screens poll) lets an idle technician session end and the kiosk return to service."""
    m = current_app.extensions.get("maintenance")
    if m is not None:
        m.expire_idle()


@bp.before_request
def _gate() -> Any:
    if request.endpoint in PUBLIC:
        return None
    tech = maintenance().technician(request.cookies.get(COOKIE))
    if tech is None:
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error="technician session required"), 403
        return render_template("maintenance/forbidden.html", **_ctx()), 403
    g.technician = tech
    return None


def _ctx(**ctx: Any) -> dict[str, Any]:
    m = current_app.extensions.get("maintenance")
    ctx.setdefault("lang", session.get("lang", current_app.extensions["kiosk"].cfg.kiosk.language))
    ctx.setdefault("technician", getattr(g, "technician", None))
    ctx.setdefault("simulated", bool(m and m.sim.available))
    ctx.setdefault("idle_s", int(m.sessions.idle_s) if m else 0)
    ctx.setdefault("device_titles", DEVICE_TITLES)
    return ctx


def page(template: str, **ctx: Any) -> str:
    return render_template(f"maintenance/{template}", **_ctx(**ctx))


def _error(exc: MaintenanceError) -> None:
    flash(_(ERRORS.get(exc.code, N_("Unknown action."))) + _details(exc.info), "error")


def _details(info: dict[str, Any]) -> str:
    return (" (" + ", ".join(f"{k}: {v}" for k, v in info.items()) + ")") if info else ""


# -- login -----------------------------------------------------------------------------------

@bp.get("/login")
def login() -> Any:
    return page("login.html", error=None)


@bp.post("/login")
def login_submit() -> Any:
    m = maintenance()
    tech_id = request.form.get("tech_id", "")[:64]
    password = request.form.get("password", "")[:128]
    result, token = m.login(tech_id, password)
    if not result.ok or token is None:
        if result.locked_s:
            error = _("Too many failed logins. Try again in %(m)s minutes.", m=max(1, (result.locked_s + 59) // 60))
        else:
            error = _("Wrong ID or password.")
        return page("login.html", error=error), 401 if not result.locked_s else 429
    resp = redirect(url_for("maintenance.dashboard"))
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/maintenance",
                    max_age=int(m.sessions.max_age_s))
    return resp


@bp.post("/logout")
def logout() -> Any:
    maintenance().logout(request.cookies.get(COOKIE), reason=request.form.get("reason", "logout")[:20] or "logout")
    resp = redirect(url_for("citizen.welcome"))
    resp.delete_cookie(COOKIE, path="/maintenance")
    return resp


@bp.get("/session")
def session_state() -> Any:
    return jsonify(technician=g.technician, seconds_left=maintenance().sessions.seconds_left())


# -- dashboard --------------------------------------------------------------------------------

@bp.get("/")
def dashboard() -> Any:
    m = maintenance()
    return page("dashboard.html", d=m.dashboard(), now=time.time(), oos=m.out_of_service())


# -- self-tests -------------------------------------------------------------------------------

@bp.get("/selftests")
def selftests() -> Any:
    m = maintenance()
    return page("selftests.html", tests=TESTS, titles=TEST_TITLES, results=m.last_results,
                has_camera=m.kiosk.devices.get("camera") is not None)


@bp.post("/selftests/<test>")
def selftest_run(test: str) -> Any:
    if test not in TESTS:
        return jsonify(error="unknown self-test"), 404
    maintenance().self_test(g.technician, test)
    return redirect(url_for("maintenance.selftests", _anchor=f"test-{test}"))


@bp.get("/camera.jpg")
def camera_preview() -> Any:
    jpeg = maintenance().camera_snapshot()
    if jpeg is None:
        return jsonify(error="no frame"), 404
    return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


# -- supplies and reconciliation ----------------------------------------------------------------

@bp.get("/supplies")
def supplies() -> Any:
    m = maintenance()
    stock = {k: m.kiosk.printing.blanks_in_stock(k) for k in BLANK_KINDS}
    return page("supplies.html", supplies=m.supplies(), stock=stock, kinds=BLANK_KINDS)


@bp.post("/supplies/blanks")
def load_blanks() -> Any:
    f = request.form
    try:
        count = int(f.get("count", "0") or 0)
        n = maintenance().load_batch(g.technician, f.get("kind", ""), f.get("batch", ""), f.get("first", ""),
                                     f.get("last", ""), count)
    except ValueError:
        flash(_("The count must be a number."), "error")
    except MaintenanceError as exc:
        _error(exc)
    else:
        flash(_("%(n)s blank cards loaded.", n=n), "ok")
    return redirect(url_for("maintenance.supplies"))


@bp.post("/supplies/replace")
def replace_supply() -> Any:
    f = request.form
    try:
        amount = int(f["remaining"]) if f.get("remaining") else None
        maintenance().reset_supply(g.technician, f.get("device", ""), f.get("name", ""), amount)
    except ValueError:
        flash(_("The count must be a number."), "error")
    except MaintenanceError as exc:
        _error(exc)
    else:
        flash(_("Supply replaced; its counter is reset."), "ok")
    return redirect(url_for("maintenance.supplies"))


@bp.post("/supplies/spoil")
def spoil_blank() -> Any:
    try:
        maintenance().spoil_blank(g.technician, request.form.get("serial", ""), request.form.get("reason", ""))
    except MaintenanceError as exc:
        _error(exc)
    else:
        flash(_("The blank is recorded as spoiled."), "ok")
    return redirect(url_for("maintenance.supplies"))


@bp.get("/reconciliation")
def reconciliation() -> Any:
    return page("reconciliation.html", rec=maintenance().reconciliation())


@bp.get("/reconciliation.pdf")
def reconciliation_pdf() -> Any:
    m = maintenance()
    rec = m.reconciliation()
    m.store.audit("maintenance", "reconciliation-report", actor=g.technician, balanced=rec.balanced)
    body = report_pdf(rec, location=m.kiosk.cfg.kiosk.location, technician=g.technician, _=_)
    name = f"reconciliation-{m.kiosk.cfg.kiosk.id}-{time.strftime('%Y%m%d-%H%M')}.pdf"
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@bp.get("/blank-report")
def blank_report() -> Any:
    day = request.args.get("date", "")
    try:
        report, delivered = maintenance().blank_report(day)
    except MaintenanceError as exc:
        _error(exc)
        return redirect(url_for("maintenance.blank_report"))
    return page("blank_report.html", report=report, delivered=delivered)


@bp.post("/blank-report/print")
def blank_report_print() -> Any:
    day = request.form.get("date", "")
    try:
        code = maintenance().print_blank_report(g.technician, day)
    except MaintenanceError as exc:
        _error(exc)
        return redirect(url_for("maintenance.blank_report"))
    if code:
        flash(_("The report was not printed") + f" ({code})", "error")
    else:
        flash(_("The report was printed on the receipt printer."), "ok")
    return redirect(url_for("maintenance.blank_report", date=day) if day else url_for("maintenance.blank_report"))


# -- faults -------------------------------------------------------------------------------------

@bp.get("/faults")
def faults() -> Any:
    m = maintenance()
    return page("faults.html", faults=m.faults(), jobs=m.stuck_jobs(), oos=m.out_of_service())


@bp.post("/faults/clear")
def clear_fault() -> Any:
    try:
        ready, code = maintenance().clear_fault(g.technician, request.form.get("device", ""))
    except MaintenanceError as exc:
        _error(exc)
    else:
        if ready:
            flash(_("Fault cleared: the device is ready."), "ok")
        else:
            flash(_("The device still reports a fault: %(code)s", code=code or "-"), "error")
    return redirect(url_for("maintenance.faults"))


@bp.post("/jobs/<int:job_id>/<action>")
def job_action(job_id: int, action: str) -> Any:
    m = maintenance()
    try:
        if action == "recheck":
            outcome = m.recheck_job(g.technician, job_id)
            flash(_("Job %(id)s: %(outcome)s", id=job_id, outcome=outcome), "ok")
        elif action == "cancel":
            m.cancel_job(g.technician, job_id)
            flash(_("Job %(id)s cancelled; its blank is recorded as spoiled.", id=job_id), "ok")
        else:
            return jsonify(error="unknown action"), 404
    except MaintenanceError as exc:
        _error(exc)
    return redirect(url_for("maintenance.faults"))


@bp.post("/service")
def service() -> Any:
    out = request.form.get("out") == "1"
    maintenance().set_out_of_service(g.technician, out, request.form.get("message", ""))
    flash(_("The kiosk will be out of service when you log out.") if out
          else _("The kiosk will serve citizens again when you log out."), "ok")
    return redirect(url_for("maintenance.faults"))


# -- journal and diagnostics ------------------------------------------------------------------------

@bp.get("/journal")
def journal() -> Any:
    store = maintenance().store
    return page("journal.html", jobs=recent_jobs(store, 50), audit=audit_events(store, 50),
                devices=audit_events(store, 50, devices=True), exports=EXPORTS)


@bp.get("/journal/<what>.<fmt>")
def journal_export(what: str, fmt: str) -> Any:
    m = maintenance()
    try:
        body, mimetype = export(m.store, what, fmt)
    except ValueError:
        return jsonify(error="unknown export"), 404
    m.store.audit("maintenance", "journal-exported", actor=g.technician, what=what, format=fmt)
    name = f"{what}-{m.kiosk.cfg.kiosk.id}-{time.strftime('%Y%m%d-%H%M')}.{fmt}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/diagnostics")
def diagnostics() -> Any:
    return page("diagnostics.html")


@bp.get("/diagnostics.zip")
def diagnostics_zip() -> Any:
    m = maintenance()
    name = f"diagnostics-{m.kiosk.cfg.kiosk.id}-{time.strftime('%Y%m%d-%H%M')}.zip"
    return Response(m.diagnostics(g.technician), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- simulator panel ---------------------------------------------------------------------------------

@bp.get("/simulator")
def simulator() -> Any:
    m = maintenance()
    if not m.sim.available:
        return page("forbidden.html", reason=_("The simulator is only available in simulation.")), 404
    return page("simulator.html", cards=m.sim.cards(), on_reader=m.sim.card_on_reader(), presets=m.sim.qr_presets(),
                faults=m.sim.faults(), all_faults=m.sim.all_faults, headset=m.sim.headset_plugged())


@bp.post("/simulator")
def simulator_action() -> Any:
    m = maintenance()
    f = request.form
    action = f.get("action", "")
    try:
        m.simulate(g.technician, action, index=f.get("index", "0"), payload=f.get("payload", ""), fault=f.get("fault", ""))
    except MaintenanceError as exc:
        _error(exc)
    except (KeyError, ValueError, IndexError):
        flash(_("Unknown action."), "error")
    else:
        flash(_("Done: %(action)s", action=action + (f" {f.get('fault')}" if action == "fault" else "")), "ok")
    return redirect(url_for("maintenance.simulator"))
