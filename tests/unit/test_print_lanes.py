"""Printing in lanes: the card and the A4 documents at their printers at the same time.

Printers take their profile's time (``[sim] realistic_timing``, scaled down). The witnesses
are the simulated printers' own records: when each job started and ended at the printer
(``SimCups.timeline``, read from the spool on disk), what came out (the queue's output),
the hopper's count, when the receipt printer started and cut, and the simulated central's
records of what it was told.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import printer_profiles
from drivers.printers import ABORTED, COMPLETED
from hardware_sim import citizens
from hardware_sim.factory import job_clock
from hardware_sim.spool import SimCups
from kiosk.citizen.central import CentralUnavailable
from kiosk.citizen.session import ActiveSession
from kiosk.model import Document, DocumentKind
from kiosk.printing import card_face, lanes
from kiosk.services import Kiosk

SCALE = 0.05  # a KTP-el takes 1.3 s, a one-page A4 document 0.4 s
REALISTIC = {"sim.realistic_timing": True, "sim.timing_scale": SCALE, "status.heartbeat_interval_s": 0}
SITI = 1  # citizens.DEMO[1]: KTP-el + KK + akta kelahiran


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    return make_kiosk(**REALISTIC)


def authenticated(k: Kiosk, who: int = SITI, kinds: list[DocumentKind] | None = None) -> ActiveSession:
    ident, demo_kinds = citizens.DEMO[who]
    issued = k.central_server.sim.issue_pin(ident.nik, kinds or demo_kinds)
    s = k.sessions.start(issued.nik, "nik")
    assert k.sessions.submit_pin(s.id, issued.pin).ok
    s.request_id = issued.request_id  # type: ignore[attr-defined]
    return s


def print_all(k: Kiosk, s: ActiveSession) -> None:
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 30)
    assert s.outcome is not None


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return min(a[1], b[1]) - max(a[0], b[0])


def test_the_card_and_the_a4_documents_print_at_the_same_time(kiosk: Kiosk) -> None:
    s = authenticated(kiosk)
    print_all(kiosk, s)
    assert s.outcome is not None and not s.outcome.failed and len(s.outcome.printed) == 3
    card = kiosk.sim.cups.timeline("card")
    a4 = kiosk.sim.cups.timeline("a4")
    assert [o for *_x, o in card] == ["completed"] and [o for *_x, o in a4] == ["completed"] * 2
    card_at = (card[0][1], card[0][2])
    # the A4 printer worked while the card printed (in turn, the KK would start only after the card ended; how
    # long they overlap depends on how soon the KK's signature check ends, so on the machine's load)
    assert overlap(card_at, (a4[0][1], a4[-1][2])) > 0
    profile = kiosk.devices.profiles["card_printer"]
    assert card_at[1] - card_at[0] == pytest.approx(SCALE * profile.job_s(2), abs=0.02)  # the profile's own time
    assert a4[0][2] <= a4[1][1]  # one lane per printer: the KK, then the akta, never two at once
    jobs = dict(kiosk.store.query("SELECT uuid, kind FROM print_jobs"))
    assert [jobs[t[-32:]] for t, *_ in a4] == ["kk", "akta-kelahiran"]  # in the session's order
    assert len(kiosk.sim.cups.printed_files("card")) == 1 and len(kiosk.sim.cups.printed_files("a4")) == 2


def test_the_receipt_starts_right_after_the_last_outcome(kiosk: Kiosk) -> None:
    s = authenticated(kiosk)
    print_all(kiosk, s)
    last_end = max(end for q in ("card", "a4") for _t, _s, end, _o in kiosk.sim.cups.timeline(q))
    receipt = kiosk.sim.escpos.receipts[-1]
    assert receipt.ended > receipt.started >= last_end  # it lists every outcome, so it comes after them
    assert receipt.started - last_end < 0.3  # and at once: nobody waits for anything else
    assert receipt.ended - receipt.started == pytest.approx(
        SCALE * kiosk.devices.profiles["receipt_printer"].timing.receipt_time_s(kiosk.sim.escpos.length_mm(receipt)),
        abs=0.05)


def test_sequential_printing_when_lanes_are_off(make_kiosk: Callable[..., Kiosk]) -> None:
    """``[printing] parallel = false``: every document in turn, as before lanes (the benchmark's peer)."""
    k = make_kiosk(**REALISTIC, **{"printing.parallel": False})
    s = authenticated(k)
    print_all(k, s)
    jobs = sorted([(start, end) for q in ("card", "a4") for _t, start, end, _o in k.sim.cups.timeline(q)])
    assert len(jobs) == 3 and all(a[1] <= b[0] for a, b in zip(jobs, jobs[1:], strict=False))


def test_a_document_whose_download_fails_fails_alone_before_anything_is_consumed(kiosk: Kiosk) -> None:
    s = authenticated(kiosk)
    kk = next(d for d in s.documents if d.kind is DocumentKind.KK)
    hopper = kiosk.sim.queue("card_printer").hopper
    seen: list[str] = []

    def ready(doc: Document) -> None:
        seen.append(doc.kind.value)
        if doc.id == kk.id:
            raise CentralUnavailable("download of the KK stalled")

    plan = kiosk.printing.plan(s.documents)
    out = kiosk.printing.execute(s.id, s.redemption_id, plan, ready=ready)
    assert sorted(seen) == ["akta-kelahiran", "kk", "ktp-el"]
    assert out[kk.id].state == "failed" and out[kk.id].message == CentralUnavailable.citizen_message
    assert {p.state for i, p in out.items() if i != kk.id} == {"done"}  # the other lane and the akta went on
    assert tuple(kiosk.store.query_one("SELECT state, error FROM print_jobs WHERE document_id=?", (kk.id,))) == \
        ("failed", "fetch-failed")
    a4 = kiosk.sim.cups.timeline("a4")
    jobs = dict(kiosk.store.query("SELECT uuid, kind FROM print_jobs"))
    assert [jobs[t[-32:]] for t, *_ in a4] == ["akta-kelahiran"]  # no paper for the KK
    assert kiosk.sim.queue("card_printer").hopper == hopper - 1  # one blank: the KTP-el's
    assert kiosk.printing.supply("document_printer", "paper") == 250 - plan.documents[2].pages
    kiosk.outbox.flush()
    central = kiosk.central_server.sim
    assert central.document_states(s.request_id) == {  # type: ignore[attr-defined]
        "ktp-el": "printed", "kk": "ready", "akta-kelahiran": "printed"}
    assert central.request_state(s.request_id) == "ready"  # type: ignore[attr-defined]  # the PIN, for the KK


def test_a_lane_waiting_for_its_download_does_not_hold_the_other_printer(kiosk: Kiosk) -> None:
    s = authenticated(kiosk)
    arrived = threading.Event()

    def ready(doc: Document) -> None:
        if doc.kind is DocumentKind.KK:
            assert arrived.wait(10)

    plan = kiosk.printing.plan(s.documents)
    worker = threading.Thread(target=kiosk.printing.execute, args=(s.id, s.redemption_id, plan),
                              kwargs={"ready": ready})
    worker.start()
    deadline = time.monotonic() + 10
    while not kiosk.sim.cups.timeline("card") and time.monotonic() < deadline:
        time.sleep(0.02)
    arrived.set()  # the KK arrives only once the card is out
    worker.join(20)
    card, a4 = kiosk.sim.cups.timeline("card"), kiosk.sim.cups.timeline("a4")
    assert [o for *_x, o in card] == ["completed"] and [o for *_x, o in a4] == ["completed"] * 2
    assert card[0][2] <= a4[0][1]  # the card printed while the KK was still on its way
    assert not (kiosk.cfg.data_dir / "work" / s.id).exists()  # the work dir went once both lanes ended


def test_the_next_card_face_renders_while_the_current_card_prints(make_kiosk: Callable[..., Kiosk],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    k = make_kiosk(**REALISTIC)
    render = card_face.render_front
    slow_s = 0.6

    def slow_render(*args: Any, **kw: Any) -> Any:
        time.sleep(slow_s)  # a face with a large photo on a slow kiosk PC
        return render(*args, **kw)

    monkeypatch.setattr("kiosk.printing.service.render_front", slow_render)
    s = authenticated(k, kinds=[DocumentKind.KTP_EL, DocumentKind.KIA])
    print_all(k, s)
    assert s.outcome is not None and not s.outcome.failed
    (_t1, _s1, first_end, o1), (_t2, second_start, _e2, o2) = k.sim.cups.timeline("card")
    assert (o1, o2) == ("completed", "completed")
    assert second_start - first_end < slow_s / 2  # the second face was ready when the first card came out


def test_the_simulated_printers_take_their_profiles_time(tmp_path: Path) -> None:
    """One job after another, each for what the profile says: a cold card printer warms up first, a warm one
    does not; a job refused before the feed takes no time."""
    cups = SimCups(tmp_path)
    profile = printer_profiles.load("evolis-primacy2")
    q = cups.add_queue("card", hopper=10)
    q.clock = job_clock(profile, SCALE)
    card = tmp_path / "card.pdf"
    card.write_bytes(card_face.card_pdf(Image.new("RGB", (100, 60)), Image.new("RGB", (100, 60)), 300))
    ids = [cups.printFile("card", str(card), f"adm-job-{i}", {}) for i in range(2)]
    deadline = time.monotonic() + 10
    while any(cups.getJobAttributes(i)["job-state"] != COMPLETED for i in ids) and time.monotonic() < deadline:
        time.sleep(0.02)
    (_a, s1, e1, o1), (_b, s2, e2, o2) = cups.timeline("card")
    assert (o1, o2) == ("completed", "completed")
    assert e1 - s1 == pytest.approx(SCALE * 26.0, abs=1e-6)  # cold: warm-up, encoder, two sides
    assert s2 == pytest.approx(e1, abs=1e-6) and e2 - s2 == pytest.approx(SCALE * 21.0, abs=1e-6)  # queued, warm
    q.jam_on(1, "media-empty")
    refused = cups.printFile("card", str(card), "adm-job-empty", {})
    while cups.getJobAttributes(refused)["job-state"] not in (ABORTED,) and time.monotonic() < deadline:
        time.sleep(0.02)
    _t, s3, e3, o3 = cups.timeline("card")[-1]
    assert o3 == "aborted" and e3 == s3 and q.hopper == 8  # nothing fed, nothing taken from the hopper


def test_a_lane_goes_on_after_a_step_that_raises_and_hands_each_step_its_preparations_error() -> None:
    items = [("card", 1), ("a4", 2), ("card", 3), ("a4", 4)]
    assert lanes.by_printer(items, lambda i: i[0]) == [[("card", 1), ("card", 3)], [("a4", 2), ("a4", 4)]]
    assert lanes.by_printer(items, lambda i: i[0], parallel=False) == [items]
    done: list[tuple[int, str]] = []

    def prepare(item: tuple[str, int]) -> None:
        if item[1] == 2:
            raise CentralUnavailable("stalled")

    def step(item: tuple[str, int], error: BaseException | None) -> None:
        done.append((item[1], type(error).__name__))
        if item[1] == 1:
            raise RuntimeError("a bug in one step")

    lanes.run(lanes.by_printer(items, lambda i: i[0]), prepare, step)
    assert sorted(done) == [(1, "NoneType"), (2, "CentralUnavailable"), (3, "NoneType"), (4, "NoneType")]


def test_progress_sees_each_document_one_call_at_a_time(kiosk: Kiosk) -> None:
    """The citizen's progress screen: every document goes waiting -> printing -> printed, though two lanes
    report at once; the callback is never entered twice at the same time."""
    s = authenticated(kiosk)
    seen: dict[str, list[str]] = {}
    inside = threading.Lock()
    overlapped: list[str] = []

    def progress(p: Any) -> None:
        if not inside.acquire(blocking=False):
            overlapped.append(p.document_id)
            return
        try:
            seen.setdefault(p.document_id, []).append(p.state)
            time.sleep(0.01)  # a slow screen update: a second lane reporting now would overlap
        finally:
            inside.release()

    kiosk.printing.execute(s.id, s.redemption_id, kiosk.printing.plan(s.documents), progress)
    assert overlapped == []
    assert {d.id: seen[d.id] for d in s.documents} == {d.id: ["queued", "printing", "done"] for d in s.documents}
