"""The web UI: ``create_app(kiosk)`` builds the Flask app around a ``kiosk.services.Kiosk``.

Views call the kiosk's services, never a driver. Every user-facing string goes through
the gettext catalogue in ``kiosk/translations`` (Flask-Babel), Bahasa Indonesia first.
"""

from __future__ import annotations

import ipaddress
import secrets
import sqlite3
from typing import Any

from flask import Flask, render_template, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from drivers.base import N_
from kiosk.i18n import LANGUAGES, TRANSLATIONS, compile_catalogues
from kiosk.services import Kiosk

csrf = CSRFProtect()
MAX_BODY = 64 * 1024


def _is_loopback(addr: str | None) -> bool:
    try:
        return ipaddress.ip_address((addr or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def create_app(kiosk: Kiosk) -> Flask:
    compile_catalogues()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=kiosk.cfg.ui.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_NAME="adm_citizen",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=MAX_BODY,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        BABEL_DEFAULT_LOCALE=kiosk.cfg.kiosk.language,
        WTF_CSRF_TIME_LIMIT=None,  # the session's own idle timeout bounds a page's life
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["kiosk"] = kiosk

    def locale() -> str:
        lang = session.get("lang")
        return lang if lang in LANGUAGES else kiosk.cfg.kiosk.language

    @app.before_request
    def _loopback_only() -> Any:
        """The citizen UI is for the kiosk's own touchscreen; remote staff use the status API.
        Registered before CSRF, so a remote caller is refused as such (403), whatever it sends."""
        if not _is_loopback(request.remote_addr) and not app.config.get("ALLOW_REMOTE_UI"):
            return ("Forbidden: the kiosk UI answers only on this machine's loopback address.", 403)
        return None

    @app.errorhandler(sqlite3.DatabaseError)
    def _journal_failed(exc: sqlite3.DatabaseError) -> Any:
        """The journal cannot be written (disk full, read-only): out of service, never a stack trace.
        Nothing was half-done: every journal write is one transaction."""
        app.logger.error("journal error during %s: %s", request.path, exc)
        return render_template("citizen/out_of_service.html", message=N_("This kiosk is temporarily out of service."),
                               idle_timeout=0, idle_warn=0, lang=session.get("lang", kiosk.cfg.kiosk.language)), 503

    Babel(app, locale_selector=locale)
    csrf.init_app(app)

    from ui.citizen import bp as citizen_bp
    app.register_blueprint(citizen_bp)
    from ui.citizen_help import bp as citizen_help_bp
    app.register_blueprint(citizen_help_bp)
    from ui.citizen_check import bp as citizen_check_bp
    app.register_blueprint(citizen_check_bp)
    from ui.citizen_fallback import bp as citizen_fallback_bp
    app.register_blueprint(citizen_fallback_bp)
    from ui.citizen_a11y import bp as a11y_bp
    app.register_blueprint(a11y_bp)
    from ui.maintenance import bp as maintenance_bp
    app.register_blueprint(maintenance_bp)

    @app.after_request
    def _headers(resp: Any) -> Any:
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    return app
