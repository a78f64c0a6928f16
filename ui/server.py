"""Serves the app with waitress (a pure-Python production WSGI server; no compiler, no nginx needed)."""

from __future__ import annotations

from flask import Flask


def serve(app: Flask, host: str, port: int, threads: int = 8) -> None:
    from waitress import serve as waitress_serve
    waitress_serve(app, host=host, port=port, threads=threads, ident="adm-kiosk",
                   max_request_body_size=1 << 20, clear_untrusted_proxy_headers=True)
