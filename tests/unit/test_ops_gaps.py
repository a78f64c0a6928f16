"""Three gaps left by the status-API commands, each seen from outside the code that had it.

- A pending remote out-of-service took effect only on the background tick, so the next
  citizen could start a session in the second after the last one's ended.
- The diagnostics bundle fetched through ``POST /api/v1/diagnostics`` had an empty recent.log.
- A heartbeat counted as delivered on any HTTP 200, even one that was not central's
  acknowledgement (central's own records, the witness, had no heartbeat).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable

import pytest

from hardware_sim import citizens
from kiosk.citizen.session import SessionError
from kiosk.model import DocumentKind
from kiosk.services import Kiosk
from kiosk.staff.tokens import Tokens
from ui.api import create_status_app


def test_a_pending_out_of_service_applies_before_the_next_citizen_starts(make_kiosk: Callable[..., Kiosk]) -> None:
    k = make_kiosk()
    k.background.stop()  # the tick would apply it a moment later: the next citizen must not slip in meanwhile
    sim = k.central_server.sim
    first, second = citizens.DEMO[0][0], citizens.DEMO[1][0]
    sim.issue_pin(first.nik, [DocumentKind.KK], pin="918273")
    sim.issue_pin(second.nik, [DocumentKind.KK], pin="273645")
    s = k.sessions.start(first.nik, "nik")
    assert k.sessions.submit_pin(s.id, "918273").ok
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 30)  # printed; the citizen is still collecting their documents
    assert not k.service.request("out_of_service", "api:console", "Perawatan").applied
    with pytest.raises(SessionError) as refused:  # the next citizen taps: the last session ends, the mode applies
        k.sessions.start(second.nik, "nik")
    assert refused.value.code == "out-of-service"
    assert k.mode == "out_of_service" and k.service.pending() == ""
    assert k.store.query_one("SELECT COUNT(*) FROM sessions")[0] == 1
    assert sim.redeems(second.nik) == []


def test_the_remote_diagnostics_bundle_has_the_recent_log_without_niks_or_pins(kiosk: Kiosk) -> None:
    ident, _ = citizens.DEMO[0]
    api = create_status_app(kiosk).test_client()  # built at start, as the listener is
    kiosk.central_server.sim.issue_pin(ident.nik, [DocumentKind.KK], pin="918273")
    logging.getLogger("kiosk.test").warning("a technician looked at NIK %s", ident.nik)
    s = kiosk.sessions.start(ident.nik, "nik")
    assert kiosk.sessions.submit_pin(s.id, "918273").ok
    operator = {"Authorization": "Bearer " + Tokens(kiosk.store).create("console", scope="operate")}
    r = api.post("/api/v1/diagnostics", headers=operator)
    assert r.status_code == 200
    log = zipfile.ZipFile(io.BytesIO(r.data)).read("recent.log").decode()
    assert "a technician looked at NIK 3201********0001" in log
    assert ident.nik not in log and "918273" not in log


def test_a_heartbeat_counts_only_on_centrals_acknowledgement(make_kiosk: Callable[..., Kiosk]) -> None:
    k = make_kiosk(start=False)
    sim = k.central_server.sim
    assert k.telemetry.heartbeat_tick(now=1e10)
    sim.faults.fail_next(200)  # a 200 whose body is not a HeartbeatAck (a captive portal, a proxy, a broken central)
    assert k.outbox.flush() == 0
    assert sim.heartbeats() == [] and k.outbox.backlog() == 1  # central has none, and the kiosk knows it
    assert "not an acknowledgement" in k.outbox.last_error()
    with k.store.tx() as db:  # the backoff has passed
        db.execute("UPDATE outbox SET next_attempt_at=0")
    assert k.outbox.flush() == 1
    assert len(sim.heartbeats()) == 1 and k.outbox.backlog() == 0


def test_the_recent_log_survives_a_logging_setup_after_it(kiosk: Kiosk) -> None:
    """``setup_logging`` replaces the root logger's handlers: the buffer must be put back, not left deaf."""
    from kiosk.logs import setup_logging
    from kiosk.staff.diagnostics import RecentLogs
    logs = RecentLogs.install()
    setup_logging(logging.INFO)
    assert RecentLogs.install() is logs
    logging.getLogger("kiosk.test").warning("after the setup")
    assert logs.lines[-1].endswith("after the setup")
