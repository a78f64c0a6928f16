"""Only central's acknowledgement delivers a report; only well-formed IDs from central are used.

Between the kiosk and central sits whatever the network has: a captive portal or a proxy
answering 200 with its own HTML page, a middlebox mangling bodies, an old central saying
``accepted: false``. Each case is a transport in front of the simulated central (issue 13
defect 4, issue 12's last defect). The witnesses are the simulated central's own records:
every delivery it received, and whether the request is still "ready" there (then the same
PIN prints the same documents again at another kiosk).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from hardware_sim import citizens
from kiosk.citizen.central import CentralClient
from kiosk.citizen.session import SessionError
from kiosk.services import Kiosk


class InTheWay(httpx.BaseTransport):
    """Something between the kiosk and central that answers ``path`` in its own way."""

    def __init__(self, path: str, answer: str) -> None:
        self.path = path
        self.answer = answer
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != self.path or not self.answer:
            return self.real.handle_request(request)
        if self.answer == "proxy-html":  # never reaches central
            return httpx.Response(200, html="<html><body>Welcome to the network</body></html>")
        resp = self.real.handle_request(request)
        resp.read()
        body = json.loads(resp.content)
        if self.answer == "garbage":
            return httpx.Response(200, content=b"\x00\xffOK")
        if self.answer == "wrong-key":
            return httpx.Response(200, json={**body, "idempotency_key": "K1:job:1:printed"})
        if self.answer == "accepted-false":
            return httpx.Response(200, json={"accepted": False, "reason": "duplicate"})
        if self.answer == "lost-ack":  # central recorded it; the answer never arrived
            return httpx.Response(504, html="<html>Gateway Timeout</html>")
        if self.answer == "bad-document-id":
            body["documents"][0]["id"] = "../../journal.sqlite3"
            return httpx.Response(200, json=body)
        raise AssertionError(self.answer)


def route_through(k: Kiosk, transport: InTheWay) -> CentralClient:
    client = CentralClient(k.central_server.url, k.cfg.kiosk.id, k.central._key, retries=0, transport=transport)
    k.outbox.central = client
    k.sessions.central = client
    return client


def print_one(k: Kiosk) -> str:
    issued = k.central_server.sim.issue_pin(citizens.DEMO[0][0].nik, citizens.DEMO[0][1])
    s = k.sessions.start(issued.nik, "nik")
    assert k.sessions.submit_pin(s.id, issued.pin).ok
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id)
    assert s.outcome is not None and not s.outcome.failed
    k.sessions.end(s.id)
    return issued.request_id


def retry_now(k: Kiosk) -> int:
    with k.store.tx() as db:  # the backoff has not run out in a test's time: make the retry due
        db.execute("UPDATE outbox SET next_attempt_at=0 WHERE sent_at IS NULL")
    return sum(k.outbox.flush() for _ in range(5))


@pytest.fixture
def quiet_kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    k = make_kiosk(**{"status.heartbeat_interval_s": 0})
    k.background.stop()  # the test decides when the outbox is flushed
    for q in k.sim.cups.queues.values():
        q.seconds_per_job = 0.0
    return k


@pytest.mark.parametrize("answer", ["proxy-html", "garbage", "wrong-key", "accepted-false"])
def test_only_centrals_acknowledgement_delivers_a_report(quiet_kiosk: Kiosk, answer: str) -> None:
    k = quiet_kiosk
    sim = k.central_server.sim
    client = route_through(k, InTheWay("/v1/reports", answer))
    request_id = print_one(k)
    pending = k.outbox.backlog()
    assert pending == len(citizens.DEMO[0][1])
    assert k.outbox.flush() == 0
    assert retry_now(k) == 0  # retried, still not delivered
    assert k.outbox.backlog() == pending
    assert "ReportNotAcknowledged" in k.outbox.last_error() and client.last_error.startswith("ReportNotAcknowledged")
    retried = k.store.query_one("SELECT MAX(attempts), MIN(next_attempt_at) FROM outbox WHERE sent_at IS NULL")
    assert retried[0] >= 2 and retried[1] > time.time()  # tried again, backed off, never marked sent
    if answer == "proxy-html":  # central never heard of the prints: the request is still open there
        assert sim.deliveries() == [] and sim.request_state(request_id) == "ready"

    client.close()
    route_through(k, InTheWay("/v1/reports", ""))
    assert retry_now(k) == pending and k.outbox.backlog() == 0
    assert sim.request_state(request_id) == "used"
    statuses = [d.status for d in sim.deliveries()]
    assert statuses.count("accepted") == pending
    assert sim.printed_twice() == {}


def test_a_lost_acknowledgement_is_resent_and_central_counts_the_repeat(quiet_kiosk: Kiosk) -> None:
    k = quiet_kiosk
    sim = k.central_server.sim
    route_through(k, InTheWay("/v1/reports", "lost-ack"))
    request_id = print_one(k)
    pending = k.outbox.backlog()
    assert retry_now(k) == 0 and k.outbox.backlog() == pending
    assert sim.request_state(request_id) == "used"  # central has them; the kiosk cannot know
    route_through(k, InTheWay("/v1/reports", ""))
    assert retry_now(k) == pending
    assert [d.status for d in sim.deliveries()].count("duplicate") >= 1
    assert sim.repeats() >= 1  # the witness sees "reported twice" ...
    assert sim.printed_twice() == {}  # ... and that nothing was printed twice


def test_a_key_reused_for_another_report_is_rejected(quiet_kiosk: Kiosk) -> None:
    sim = quiet_kiosk.central_server.sim
    first = {"idempotency_key": "K:abc", "document_id": "D1", "outcome": "failed", "reason": "x"}
    assert sim.report("K", first) == (200, {"idempotency_key": "K:abc", "status": "accepted"})
    assert sim.report("K", dict(first)) == (200, {"idempotency_key": "K:abc", "status": "duplicate"})
    status, body = sim.report("K", {**first, "outcome": "printed"})
    assert status == 409 and body["status"] == "rejected"
    assert [d.status for d in sim.deliveries()] == ["accepted", "duplicate", "rejected"] and sim.repeats() == 2


def test_a_bad_document_id_from_central_is_refused_and_costs_nothing(quiet_kiosk: Kiosk) -> None:
    """Issue 13 defect 12: document IDs from central were used unchecked (as file names)."""
    k = quiet_kiosk
    sim = k.central_server.sim
    route_through(k, InTheWay("/v1/redemptions", "bad-document-id"))
    issued = sim.issue_pin(citizens.DEMO[0][0].nik, citizens.DEMO[0][1])
    blanks = dict(k.store.query("SELECT state, COUNT(*) FROM blank_cards GROUP BY state"))
    s = k.sessions.start(issued.nik, "nik")
    tries = k.pins.tries_left(s.nik_hash)
    with pytest.raises(SessionError) as refused:
        k.sessions.submit_pin(s.id, issued.pin)
    assert refused.value.code == "central-unavailable"  # "central is not available; your PIN is still valid"
    assert "PIN is still valid" in refused.value.citizen_message
    assert k.pins.tries_left(s.nik_hash) == tries  # the reservation was released, not spent
    assert sim.redeems(issued.nik) == ["ok"] and sim.request_state(issued.request_id) == "ready"
    assert dict(k.store.query("SELECT state, COUNT(*) FROM blank_cards GROUP BY state")) == blanks
    assert k.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 0
    assert "invalid or repeated document ID" in k.sessions.central.last_error


def test_two_flushes_at_once_deliver_each_report_once(quiet_kiosk: Kiosk) -> None:
    """The background tick and a technician's (or a test's) flush at the same moment: central's own
    delivery records must show each report once, not once per flusher (they used to both send it)."""
    k = quiet_kiosk
    sim = k.central_server.sim
    request_id = print_one(k)
    pending = k.outbox.backlog()
    assert pending >= 2
    start = threading.Barrier(3)

    def flush() -> None:
        start.wait()
        k.outbox.flush()

    flushers = [threading.Thread(target=flush) for _ in range(3)]
    for t in flushers:
        t.start()
    for t in flushers:
        t.join(30)
    assert k.outbox.backlog() == 0
    keys = [d.idempotency_key for d in sim.deliveries()]
    assert len(keys) == len(set(keys)) == pending, keys
    assert sim.repeats() == 0 and sim.request_state(request_id) == "used"
