"""The remote-status API (docs/status-api.yaml): status, events, Prometheus metrics and a few commands.

A separate Flask app on its own listener, so the citizen UI can stay on loopback while
central staff and Prometheus reach this one over the management network. Every route
needs a bearer token (``adm-kiosk token create NAME``) and answers errors as JSON. Reading
needs any token; the commands (service mode, diagnostics, lifting a kiosk-wide PIN
lockout, the low-blanks threshold) need an ``operate`` one (403 otherwise), and each is
audited with the token's name, never its secret. Views call the kiosk's services: a
request never touches hardware, never interrupts a print and holds no SQL. No personal
data leaves through here.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, g, jsonify, request
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from werkzeug.exceptions import HTTPException

from kiosk.config import status_tls_context
from kiosk.services import Kiosk
from kiosk.staff.diagnostics import RecentLogs, bundle
from kiosk.staff.service_mode import MESSAGE_MAX, REMOTE_MODES, ModeRefused
from kiosk.staff.status import BLANKS_LOW_MAX
from kiosk.staff.tokens import Caller

EVENTS_DEFAULT_LIMIT = 100
EVENTS_MAX_LIMIT = 500
CATEGORY_RE = re.compile(r"[A-Za-z0-9-]{1,32}")  # as docs/status-api.yaml says


def _error(status: int, code: str, message: str) -> Response:
    resp = jsonify(error=code, message=message)
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="adm-kiosk-status"'
    return resp


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 20 or not low <= int(raw) <= high:
        raise ValueError(f"'{name}' must be an integer from {low} to {high}")
    return int(raw)


def _body(*fields: str) -> dict[str, Any]:
    """The request's JSON object, with no field but ``fields`` (a typo must not be ignored silently)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValueError("the body is a JSON object (Content-Type: application/json)")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(repr(f) for f in unknown)[:200]}")
    return body


def _actor() -> str:
    caller: Caller = g.caller
    return f"api:{caller.name}"


def operate(view: Callable[[], Response]) -> Callable[[], Response]:
    """A command: an ``operate`` token only; a malformed body (ValueError) answers 422."""
    @wraps(view)
    def wrapped() -> Response:
        if not g.caller.may_operate:
            return _error(403, "forbidden", "this token may only read (adm-kiosk token create NAME --scope operate)")
        try:
            return view()
        except ValueError as exc:
            return _error(422, "bad-body", str(exc))
    return wrapped


def create_status_app(kiosk: Kiosk, logs: RecentLogs | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=1024)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["kiosk"] = kiosk
    logs = logs if logs is not None else RecentLogs.install()  # the diagnostics bundle's recent.log
    tokens = kiosk.tokens

    @app.before_request
    def _authenticate() -> Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "unauthorized", "a bearer token is required (adm-kiosk token create NAME)")
        caller = tokens.verify(token.strip())
        if caller is None:
            return _error(401, "unauthorized", "the token is unknown or revoked")
        g.caller = caller
        return None

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        resp = _error(exc.code or 500, (exc.name or "error").lower().replace(" ", "-"), exc.description or "")
        if exc.code == 405:
            resp.headers["Allow"] = ", ".join(sorted(getattr(exc, "valid_methods", None) or ["GET", "HEAD"]))
        return resp

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Response:
        app.logger.exception("status API failed")
        return _error(500, "internal-error", type(exc).__name__)

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    @app.get("/api/v1/status", provide_automatic_options=False)
    def status() -> Response:
        return jsonify(kiosk.telemetry.snapshot())

    @app.get("/api/v1/events", provide_automatic_options=False)
    def events() -> Response:
        try:
            since = _int_arg("since", 0, 0, 2**62)
            limit = _int_arg("limit", EVENTS_DEFAULT_LIMIT, 1, EVENTS_MAX_LIMIT)
        except ValueError as exc:
            return _error(422, "bad-parameter", str(exc))
        category = request.args.get("category", "")
        if category and not CATEGORY_RE.fullmatch(category):
            return _error(422, "bad-parameter", "'category' is a word such as device, print, security")
        return jsonify(kiosk.events.page(since, limit, category))

    @app.get("/metrics", provide_automatic_options=False)
    def metrics() -> Response:
        # format 0.0.4: what Prometheus 2.x negotiates (prometheus-client's latest is 1.0.0)
        return Response(kiosk.telemetry.metrics(), content_type=CONTENT_TYPE_PLAIN_0_0_4)

    @app.put("/api/v1/mode", provide_automatic_options=False)
    @operate
    def put_mode() -> Response:
        body = _body("mode", "message")
        mode, message = body.get("mode"), body.get("message", "")
        if mode not in REMOTE_MODES or not isinstance(message, str) or len(message) > MESSAGE_MAX:
            raise ValueError(f"'mode' is one of {', '.join(REMOTE_MODES)}; 'message' a text of at most {MESSAGE_MAX} characters")
        try:
            change = kiosk.service.request(mode, _actor(), message)
        except ModeRefused as exc:
            return _error(409, exc.code, str(exc))
        if change.applied:
            return jsonify(mode=mode, state="applied", detail="the kiosk is in this mode now")
        resp = jsonify(mode=mode, state="pending",
                       detail="a citizen's documents are printing; the mode applies when their session ends")
        resp.status_code = 202
        return resp

    @app.post("/api/v1/diagnostics", provide_automatic_options=False)
    @operate
    def post_diagnostics() -> Response:
        actor = _actor()
        kiosk.store.audit("maintenance", "diagnostics-downloaded", actor=actor)
        name = f"adm-diagnostics-{kiosk.cfg.kiosk.id}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.zip"
        return Response(bundle(kiosk.status, logs, actor), content_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.delete("/api/v1/lockouts/kiosk", provide_automatic_options=False)
    @operate
    def delete_kiosk_lockout() -> Response:
        return jsonify(lifted=kiosk.pins.lift_kiosk_wide(_actor()))

    @app.put("/api/v1/settings/blanks-low", provide_automatic_options=False)
    @operate
    def put_blanks_low() -> Response:
        threshold = _body("threshold").get("threshold")
        # JSON Schema's integer includes 5.0; a bool is not a number here
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
                or not 0 <= threshold <= BLANKS_LOW_MAX or threshold != int(threshold):
            raise ValueError(f"'threshold' is an integer from 0 to {BLANKS_LOW_MAX}")
        kiosk.status.set_blanks_low_at(int(threshold), _actor())
        return jsonify(threshold=int(threshold))

    return app


class StatusListener:
    """The status app on its own address, served by cheroot in a background thread; HTTPS only when TLS is set.

    With ``tls`` (an ``ssl.SSLContext`` from ``kiosk.config.status_tls_context``: the kiosk's
    certificate, and the CA whose client certificates are required when one is configured)
    every connection is TLS: a plain-HTTP request gets cheroot's "this server only speaks
    HTTPS" 400 (or a reset) and never reaches the app, and a client without a certificate
    signed by that CA is refused at the handshake. cheroot does the TLS handshake on its
    accepting thread, so a client that connects and stays silent would hold every other one
    off for as long as the socket timeout: ``SOCKET_TIMEOUT_S`` keeps that short (a handshake
    or a 1 KB request on the management network takes milliseconds). ``stop()`` is bounded:
    cheroot stops accepting, lets request threads finish for ``SHUTDOWN_S`` and closes the socket.
    """

    SHUTDOWN_S = 5
    SOCKET_TIMEOUT_S = 2

    def __init__(self, kiosk: Kiosk, host: str, port: int, threads: int = 4, tls: ssl.SSLContext | None = None) -> None:
        from cheroot.ssl.builtin import BuiltinSSLAdapter
        from cheroot.wsgi import Server

        self.server = Server((host, port), create_status_app(kiosk), numthreads=threads, server_name="adm-kiosk-status",
                             shutdown_timeout=self.SHUTDOWN_S, timeout=self.SOCKET_TIMEOUT_S)
        self.server.max_request_body_size = 1024
        if tls is not None:
            cfg = kiosk.cfg.status
            adapter = BuiltinSSLAdapter(cfg.tls_cert_file, cfg.tls_key_file)
            adapter.context = tls
            self.server.ssl_adapter = adapter
        self.server.prepare()  # binds now: the port is known and a taken one fails here, not in the thread
        self.port = int(self.server.bind_addr[1])
        self.url = f"{'https' if tls is not None else 'http'}://{host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve, name="status-listener", daemon=True)

    def start(self) -> StatusListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self._thread.join(self.SHUTDOWN_S + 5)


def start_status_listener(kiosk: Kiosk) -> StatusListener | None:
    """Starts the listener when ``[status] port`` is set (HTTPS when ``tls_cert_file`` is); None when it is off."""
    cfg = kiosk.cfg.status
    if not cfg.port:
        return None
    return StatusListener(kiosk, cfg.host, cfg.port, tls=status_tls_context(cfg)).start()
