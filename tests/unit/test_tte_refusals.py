"""TTE on A4 documents: what central signs prints; unsigned, tampered, expired or foreign-signed does not.

Each refusal is checked against witnesses the print code does not own: the simulated printer's
spool (nothing came out), the simulated central (the PIN still redeems, the document is still
ready, the failure's reason reached it) and the journal's own consistency (the job failed with
the reason, no paper drawn, nothing left in the outbox).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hardware_sim.central_tte import MODES
from kiosk.cli.simulation import SimulatedKiosk
from tests.unit.test_flow import Citizen
from ui import create_app

REFUSALS = {"unsigned": "unsigned", "tampered": "modified", "updated": "modified", "expired": "expired",
            "revoked": "revoked",
            "foreign": "untrusted"}


@pytest.fixture
def citizen(kiosk: SimulatedKiosk) -> Iterator[Citizen]:
    yield Citizen(create_app(kiosk).test_client())


def _print_kk(kiosk: SimulatedKiosk, citizen: Citizen, mode: str) -> tuple[Any, dict[str, Any], str]:
    central = kiosk.central_server.sim
    central.tte.mode = mode
    issued = kiosk.issue_demo_pins()[0]  # Budi: KTP-el and KK
    central.tte.mode = "signed"
    citizen.identify(issued.nik)
    citizen.post("/pin", pin=issued.pin)
    kk = next(d for d in kiosk.sessions.active()[0].documents if d.kind.value == "kk")
    r = citizen.post("/check", doc=[kk.id])  # no card chosen: straight to printing
    assert r.location == "/printing"
    return issued, citizen.wait_done(), kk.id


def test_a_signed_kk_prints_byte_for_byte(kiosk: SimulatedKiosk, citizen: Citizen) -> None:
    issued, status, kk_id = _print_kk(kiosk, citizen, "signed")
    assert [row["state"] for row in status["rows"]] == ["done"]
    [out] = kiosk.sim.cups.printed_files("a4")
    central = kiosk.central_server.sim
    assert b"/ByteRange" in out.read_bytes() and b"/adbe.pkcs7.detached" not in out.read_bytes()
    kiosk.outbox.flush()
    assert [r["outcome"] for r in central.reports_for(kk_id)] == ["printed"]


@pytest.mark.parametrize("mode", sorted(REFUSALS))
def test_a_refused_signature_prints_nothing_keeps_the_pin_and_tells_central(
        kiosk: SimulatedKiosk, citizen: Citizen, mode: str) -> None:
    paper_before = kiosk.printing.supply("document_printer", "paper")
    issued, status, kk_id = _print_kk(kiosk, citizen, mode)
    [row] = status["rows"]
    assert row["state"] == "failed"
    assert row["message"].startswith("Tanda tangan elektronik (TTE) dokumen ini tidak dapat diverifikasi")
    assert kiosk.sim.cups.printed_files("a4") == []  # the spool: no paper came out
    central = kiosk.central_server.sim
    kiosk.outbox.flush()
    assert kiosk.outbox.backlog() == 0
    reasons = [(r["outcome"], r["reason"]) for r in central.reports_for(kk_id)]
    assert reasons == [("failed", f"tte-invalid:{REFUSALS[mode]}")]
    assert central.document_states(issued.request_id)["kk"] == "ready"
    assert central.redeem("ANOTHER-KIOSK", issued.nik, issued.pin)[0] == 200  # the PIN still works at central
    job = kiosk.store.query_one("SELECT state, error FROM print_jobs WHERE document_id=?", (kk_id,))
    assert tuple(job) == ("failed", f"tte-invalid:{REFUSALS[mode]}")
    assert kiosk.printing.supply("document_printer", "paper") == paper_before


def test_the_sessions_refusal_screen_in_english(kiosk: SimulatedKiosk, citizen: Citizen) -> None:
    citizen.get("/")
    citizen.post("/lang", lang="en")
    _, status, _ = _print_kk(kiosk, citizen, "foreign")
    assert status["rows"][0]["message"].startswith("This document's electronic signature (TTE) could not be verified")


def test_every_mode_is_covered() -> None:
    assert set(MODES) == {"signed", *REFUSALS}
