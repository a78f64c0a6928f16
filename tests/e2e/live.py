"""A simulated kiosk served over real HTTP, and Debian's Chromium set up as the kiosk's touchscreen.

Shared by the e2e tests, ``tools/screens.py`` and ``bench/bench_ui.py`` so that all three see
the same thing a citizen sees: the default in-process simulation behind a threaded werkzeug
server on the loopback address, and a 1080 x 1920 touch context.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from kiosk.cli.composition import build_kiosk
from kiosk.services import Kiosk
from tests.conftest import sim_config

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1080, "height": 1920}


def kiosk_context_args(base_url: str, lang: str = "id") -> dict[str, Any]:
    """The kiosk's screen: portrait, touch only (no hover), Indonesian, no network but the kiosk itself."""
    return {"base_url": base_url, "viewport": VIEWPORT, "has_touch": True, "is_mobile": False,
            "locale": "id-ID" if lang == "id" else "en-US", "device_scale_factor": 1}


@dataclass
class LiveKiosk:
    kiosk: Kiosk
    url: str
    pins: dict[str, Any]  # NIK -> IssuedPin (.pin, .qr_token, .documents)
    app: Any = None  # the Flask app, for tests that need its extensions (maintenance)

    @property
    def sim(self) -> Any:
        return self.kiosk.sim


@contextmanager
def serve(base: Path, **overrides: Any) -> Iterator[LiveKiosk]:
    """Builds, starts and serves a simulated kiosk; stops the server and the kiosk on exit.

    A threaded server, because the browser polls (/poll, /session/state) while it navigates.
    """
    from ui import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the test output
    kiosk = build_kiosk(sim_config(base, **overrides))
    kiosk.start()
    srv = None
    thread = None
    try:
        pins = {p.nik: p for p in kiosk.issue_demo_pins()}
        app = create_app(kiosk)
        srv = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, name="e2e-http", daemon=True)
        thread.start()
        yield LiveKiosk(kiosk, f"http://127.0.0.1:{srv.server_port}", pins, app)
    finally:
        if srv is not None:
            srv.shutdown()
        if thread is not None:
            thread.join(5)
        kiosk.stop()
