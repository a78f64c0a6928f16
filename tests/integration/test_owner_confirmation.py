"""The owner's WhatsApp confirmation: one message per printed document, none for a failed one, none twice.

Through the real loopback HTTP between the kiosk's outbox and the simulated central; the
witness is central's WhatsApp list (``whatsapp_messages()``), which the kiosk does not own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from kiosk.cli.simulation import SimulatedKiosk
from tests.unit.test_flow import Citizen
from ui import create_app

pytestmark = pytest.mark.integration
LOCATION = "Kantor Kecamatan Ciawi"
CONFIRMATION = re.compile(rf"^Dokumen Anda telah dicetak di ADM {LOCATION} pada \d\d-\d\d-\d{{4}} \d\d\.\d\d$")


def _print_all(k: SimulatedKiosk, fail_a4: bool = False) -> list[str]:
    issued = k.issue_demo_pins()[0]
    citizen = Citizen(create_app(k).test_client())
    citizen.identify(issued.nik)
    citizen.get("/pin")
    citizen.post("/pin", pin=issued.pin)
    if fail_a4:
        k.sim.queue("document_printer").jam_on(1, "media-empty")
    citizen.post("/print", doc=citizen.documents())
    return [row["state"] for row in citizen.wait_done()["rows"]]


def _delivered(k: SimulatedKiosk) -> None:
    deadline = time.monotonic() + 15
    while k.outbox.backlog() and time.monotonic() < deadline:
        k.outbox.flush()
        time.sleep(0.05)
    assert k.outbox.backlog() == 0, k.outbox.last_error()


def _confirmations(k: SimulatedKiosk) -> list[str]:
    return [m for m in k.central_server.sim.whatsapp_messages() if m.startswith("Dokumen Anda telah dicetak")]


@pytest.fixture
def kiosk_at(make_kiosk: Callable[..., SimulatedKiosk]) -> SimulatedKiosk:
    k = make_kiosk(**{"kiosk.location": LOCATION})
    _delivered(k)  # the first heartbeat: central learns where this kiosk stands
    return k


def test_one_message_per_printed_document_even_when_the_report_is_repeated(kiosk_at: SimulatedKiosk) -> None:
    k = kiosk_at
    assert _print_all(k) == ["done", "done"]
    _delivered(k)
    messages = _confirmations(k)
    assert len(messages) == 2 and all(CONFIRMATION.match(m) for m in messages), messages
    # the kiosk lost central's acknowledgements (a crash before it journaled them) and sends both reports again
    with k.store.tx() as db:
        assert db.execute("UPDATE outbox SET sent_at=NULL, next_attempt_at=0 WHERE kind='report'").rowcount == 2
    _delivered(k)
    assert k.central_server.sim.repeats() >= 2  # both really reached central again (the background loop flushes too)
    assert _confirmations(k) == messages


def test_no_message_for_a_document_that_failed(kiosk_at: SimulatedKiosk) -> None:
    k = kiosk_at
    assert _print_all(k, fail_a4=True) == ["done", "failed"]
    _delivered(k)
    assert k.central_server.sim.report_count("failed") == 1
    assert len(_confirmations(k)) == 1
