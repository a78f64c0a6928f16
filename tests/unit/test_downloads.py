"""Documents streamed from the simulated central (over HTTP, through the link shaper) by the real client.

What a citizen or central would notice: the bytes that arrive are central's, checked as
they stream; a dropped connection is tried again within the bound; a wrong, oversized or
late document fails (never printed, nothing left on disk) within the bound; the print
service's ``ready`` hook waits for one document and raises for a failed one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware_sim.central import CentralSim
from hardware_sim.central_keepalive import KeepAliveCentralServer
from hardware_sim.citizens import DEMO
from hardware_sim.link_shaper import LinkProfile, LinkShaper
from kiosk.citizen import central as central_mod
from kiosk.citizen.central import CentralClient, CentralError, CentralUnavailable, DocumentTooLarge, Redemption
from kiosk.citizen.downloads import Downloads
from kiosk.model import DocumentKind, Medium

KEY = b"k" * 32
NIK = DEMO[1][0].nik
KINDS = [DocumentKind.KTP_EL, DocumentKind.KK, DocumentKind.AKTA_KELAHIRAN]


@pytest.fixture
def central(tmp_path: Path) -> Iterator[tuple[CentralSim, LinkShaper, CentralClient]]:
    sim = CentralSim(tmp_path / "central.db", seed=1)
    sim.register_kiosk("ADM-T", KEY)
    server = KeepAliveCentralServer(sim).start()
    link = LinkShaper.for_url(server.url).start()
    client = CentralClient(link.url, "ADM-T", KEY, timeout_s=1.0, retries=1)
    yield sim, link, client
    client.close()
    link.stop()
    server.stop()


def redeem(sim: CentralSim, client: CentralClient) -> Redemption:
    issued = sim.issue_pin(NIK, KINDS)
    return client.redeem(NIK, issued.pin)


def test_documents_arrive_as_central_sent_them_in_parallel(central: tuple, tmp_path: Path) -> None:
    sim, link, client = central
    r = redeem(sim, client)
    link.configure(rtt_s=0.2)
    downloads = Downloads(client, r.id, r.documents, tmp_path / "dl", parallel=3, bound_s=10).start()
    state = downloads.wait_all(10)
    assert state.done == 3 and not state.failed
    took = downloads.finished_at - downloads.started  # type: ignore[operator]
    assert took < 3 * 0.2 + 0.3, f"three documents over a 200 ms link took {took:.2f} s: not in parallel"
    for d in r.documents:
        downloads.wait(d)  # the ready hook: returns at once for a downloaded document
        status, sent = sim.document(r.id, d.id)
        if d.medium is Medium.A4:
            assert d.pdf == sent and hashlib.sha256(d.pdf).hexdigest() == d.sha256
        else:
            assert d.identity is not None and d.identity.nik == NIK and d.photo
    downloads.close()
    assert not (tmp_path / "dl").exists()  # the files go with the session


def test_a_reset_mid_document_is_tried_again_within_the_bound(central: tuple, tmp_path: Path) -> None:
    sim, link, client = central
    r = redeem(sim, client)
    doc = next(d for d in r.documents if d.medium is Medium.A4)
    link.configure(reset_at_bytes=1_000, faults_left=1)
    client.fetch(r.id, doc, tmp_path / "kk.part", time.monotonic() + 5)
    assert link.counters()["resets"] == 1
    assert doc.pdf == sim.document(r.id, doc.id)[1]


def test_a_document_whose_checksum_does_not_match_is_refused_and_removed(central: tuple, tmp_path: Path) -> None:
    sim, _link, client = central
    r = redeem(sim, client)
    doc = next(d for d in r.documents if d.medium is Medium.A4)
    doc.sha256 = "0" * 64
    with pytest.raises(CentralUnavailable, match="checksum"):
        client.fetch(r.id, doc, tmp_path / "kk.part", time.monotonic() + 5)
    assert doc.pdf is None and not (tmp_path / "kk.part").exists()


def test_an_oversized_document_is_cut_off_not_stored(central: tuple, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sim, link, client = central
    r = redeem(sim, client)
    doc = next(d for d in r.documents if d.medium is Medium.A4)
    monkeypatch.setattr(central_mod, "MAX_DOCUMENT_BYTES", 1_000)
    before = link.counters()["connections"]
    with pytest.raises(DocumentTooLarge):
        client.fetch(r.id, doc, tmp_path / "kk.part", time.monotonic() + 5)
    assert link.counters()["connections"] - before <= 1  # not fetched again: it would only be too large again
    assert doc.pdf is None and not (tmp_path / "kk.part").exists()


def test_a_link_that_stalls_past_the_bound_fails_every_document_within_it(central: tuple, tmp_path: Path) -> None:
    sim, link, client = central
    r = redeem(sim, client)
    link.configure(stall_at_bytes=500, stall_s=30)
    downloads = Downloads(client, r.id, r.documents, tmp_path / "dl", parallel=3, bound_s=2).start()
    t0 = time.monotonic()
    state = downloads.wait_all(10)
    assert state.failed and time.monotonic() - t0 < 2 + 1.5
    with pytest.raises(CentralError):
        downloads.wait(r.documents[0])  # the ready hook raises: the print service fails that job
    while downloads.finished_at is None:  # every worker ends by the bound
        assert time.monotonic() - t0 < 2 + 1.5
        time.sleep(0.05)
    assert not [p for p in (tmp_path / "dl").rglob("*") if p.is_file()]
    downloads.close()


def test_ready_waits_for_a_document_still_downloading(central: tuple, tmp_path: Path) -> None:
    sim, link, client = central
    r = redeem(sim, client)
    link.configure(bandwidth_bps=10_000)
    downloads = Downloads(client, r.id, r.documents, tmp_path / "dl", parallel=1, bound_s=15).start()
    last = r.documents[-1]
    assert downloads.progress().done < 3
    downloads.wait(last)
    assert downloads.progress().done == 3 and (last.pdf or last.identity)
    downloads.close()


def test_closing_stops_the_downloads_between_chunks(central: tuple, tmp_path: Path) -> None:
    sim, link, client = central
    r = redeem(sim, client)
    link.configure(bandwidth_bps=2_000)
    downloads = Downloads(client, r.id, r.documents, tmp_path / "dl", parallel=3, bound_s=20).start()
    time.sleep(0.3)
    t0 = time.monotonic()
    downloads.close()  # the citizen left
    assert downloads.wait_all(5).failed and time.monotonic() - t0 < 3
    assert not (tmp_path / "dl").exists()
    assert LinkProfile().bandwidth_bps == 0


def test_the_session_hands_the_print_service_its_downloads_as_the_ready_hook(kiosk: object,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract with the print service: ``execute(..., ready=...)`` gets ``Downloads.wait``, which returns for a
    downloaded document and raises ``CentralError`` for one that failed (so that job fails, the PIN stays valid)."""
    from kiosk.cli.simulation import SimulatedKiosk

    assert isinstance(kiosk, SimulatedKiosk)
    original = kiosk.printing.execute
    handed: list[object] = []

    def execute(session_id: str, redemption_id: str, plan: object, progress: object = None,
                ready: object = None) -> object:
        handed.append(ready)
        for doc in plan.documents:  # type: ignore[attr-defined]
            ready(doc)  # type: ignore[operator]
        return original(session_id, redemption_id, plan, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(kiosk.printing, "execute", execute)
    issued = kiosk.issue_demo_pins()[1]
    s = kiosk.sessions.start(issued.nik, "nik")
    assert kiosk.sessions.submit_pin(s.id, issued.pin).ok
    assert kiosk.sessions.downloaded(s.id, wait_s=5).finished
    downloads = s.downloads
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    kiosk.sessions.wait_printed(s.id, 30)
    assert handed == [downloads.wait]  # type: ignore[union-attr]
    assert s.outcome is not None and not s.outcome.failed
    assert len(kiosk.sim.cups.printed_files("a4")) == 2
