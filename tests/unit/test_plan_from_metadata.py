"""The plan is made from what central's redemption says (kind, medium, pages), before the content has arrived.

With ``content_follows`` a document still downloading is planned like any other; its lane's ``ready`` hook
waits for it, and a document whose content still is not there afterwards fails its job alone, before anything
is consumed. Witnesses: the simulated printers' output, the hopper's count, the simulated central's records.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hardware_sim import citizens
from kiosk.model import DocumentKind
from kiosk.printing.service import PlanRefused
from kiosk.services import Kiosk


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    return make_kiosk(**{"status.heartbeat_interval_s": 0})


def test_a_document_without_content_is_planned_only_when_its_content_follows(kiosk: Kiosk) -> None:
    ident, kinds = citizens.DEMO[1]  # KTP-el, KK, akta kelahiran
    issued = kiosk.central_server.sim.issue_pin(ident.nik, kinds)
    s = kiosk.sessions.start(issued.nik, "nik")
    assert kiosk.sessions.submit_pin(s.id, issued.pin).ok
    kk = next(d for d in s.documents if d.kind is DocumentKind.KK)
    kk.pdf = None  # as if its download had not delivered it
    with pytest.raises(PlanRefused) as refused:
        kiosk.printing.plan(s.documents)
    assert refused.value.codes == ["no-pdf"]
    hopper = kiosk.sim.queue("card_printer").hopper
    plan = kiosk.printing.plan(s.documents, content_follows=True)
    out = kiosk.printing.execute(s.id, s.redemption_id, plan, ready=lambda d: None)
    assert out[kk.id].state == "failed"
    assert {p.state for i, p in out.items() if i != kk.id} == {"done"}
    assert tuple(kiosk.store.query_one("SELECT state, error FROM print_jobs WHERE document_id=?", (kk.id,))) == \
        ("failed", "fetch-failed")
    assert len(kiosk.sim.cups.timeline("a4")) == 1 and kiosk.sim.queue("card_printer").hopper == hopper - 1
    kiosk.outbox.flush()
    central = kiosk.central_server.sim
    assert [(r["outcome"], r["reason"]) for r in central.reports_for(kk.id)] == [("failed", "fetch-failed")]
    assert central.document_states(issued.request_id)["kk"] == "ready"  # the PIN stays valid for it
