"""The print transaction: plan before consuming, journal before acting, recover after a crash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk.citizen.session import ActiveSession, SessionError
from kiosk.printing.service import PlanRefused
from kiosk.services import Kiosk


def authenticated(k: Kiosk, who: int = 0) -> tuple[ActiveSession, object]:
    issued = k.issue_demo_pins()[who]
    s = k.sessions.start(issued.nik, "nik")
    assert k.sessions.submit_pin(s.id, issued.pin).ok
    return s, issued


def crash(k: Kiosk) -> None:
    """A power cut: threads and files stop where they are; nothing is ended cleanly."""
    k.background.stop()
    k.monitor.stop()
    k.central_server.stop()
    k.store.close()


def _card_job_taken(k: Kiosk, tmp_path: Path) -> tuple[Any, str, Path]:
    """A citizen's card job that took its blank, and a face to send the printer by hand: (job, serial, file)."""
    s, _ = authenticated(k)
    plan = k.printing.plan([d for d in s.documents if d.medium.value == "card"])
    (job,) = k.printing.journal_plan(s.id, s.redemption_id, plan)
    serial = k.printing.jobs.submit(job.id, [plan.documents[0].kind.value])
    path = tmp_path / "face.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    return job, str(serial), path


def blanks(k: Kiosk) -> dict[str, int]:
    return dict(k.store.query("SELECT state, COUNT(*) FROM blank_cards GROUP BY state"))


def test_a_session_prints_every_document_and_reports_once(kiosk: Kiosk) -> None:
    s, issued = authenticated(kiosk)
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    kiosk.sessions.wait_printed(s.id)
    assert s.outcome is not None and not s.outcome.failed and len(s.outcome.printed) == 2
    jobs = kiosk.store.query("SELECT kind, state, blank_serial FROM print_jobs")
    assert {(j[0], j[1]) for j in jobs} == {("ktp-el", "printed"), ("kk", "printed")}
    serial = next(j[2] for j in jobs if j[0] == "ktp-el")
    assert kiosk.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (serial,))[0] == "printed"
    # the A4 document is the central's PDF byte for byte
    kk = next(d for d in s.documents if d.kind.value == "kk")
    out = kiosk.sim.cups.printed_files("a4")
    assert len(out) == 1 and hashlib.sha256(out[0].read_bytes()).hexdigest() == kk.sha256
    assert len(kiosk.sim.cups.printed_files("card")) == 1
    # reports reach central once; the PIN is used up only now that everything printed
    kiosk.outbox.flush()
    kiosk.outbox.flush()
    sim = kiosk.central_server.sim
    assert sim.report_count("printed") == 2
    assert sim.request_state(issued.request_id) == "used"
    # ribbon and paper counted down
    assert kiosk.printing.supply("card_printer", "ribbon") == 299
    assert kiosk.printing.supply("document_printer", "paper") == 249
    # the receipt lists both, with the masked NIK and the card serial
    receipt = kiosk.sim.escpos.receipts[-1].text
    assert "3201********0001" in receipt and serial in receipt and s.reference in receipt


def test_plan_refuses_without_consuming_anything(kiosk: Kiosk) -> None:
    s, issued = authenticated(kiosk)
    kiosk.sim.queue("card_printer").state_reasons.append("media-empty-error")
    kiosk.monitor.refresh()  # the plan reads the monitor's cache
    before = blanks(kiosk)
    with pytest.raises(SessionError) as exc:
        kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    assert "not ready" in exc.value.citizen_message and "PIN" in exc.value.citizen_message
    assert blanks(kiosk) == before
    assert kiosk.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 0
    assert kiosk.central_server.sim.request_state(issued.request_id) == "ready"


def test_plan_lists_every_reason(kiosk: Kiosk) -> None:
    s, _ = authenticated(kiosk)
    with kiosk.store.tx() as db:
        db.execute("UPDATE blank_cards SET state='spoiled' WHERE kind='ktp-el'")
        db.execute("UPDATE supplies SET remaining=0 WHERE name='paper'")
    with pytest.raises(PlanRefused) as exc:
        kiosk.printing.plan(s.documents)
    assert set(exc.value.codes) >= {"blanks-ktp-el", "paper"}


def test_duty_cycle_limit_refuses_more_cards(kiosk: Kiosk) -> None:
    s, _ = authenticated(kiosk)
    with kiosk.store.tx() as db:
        db.execute("INSERT INTO duty_cycle VALUES ('card_printer', date('now', 'localtime'), 100)")
    with pytest.raises(PlanRefused) as exc:
        kiosk.printing.plan(s.documents)
    assert "duty-limit" in exc.value.codes


def test_jam_mid_session_spoils_the_blank_and_keeps_the_pin(kiosk: Kiosk) -> None:
    s, issued = authenticated(kiosk)
    kiosk.sim.queue("card_printer").jam_on(1)
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    kiosk.sessions.wait_printed(s.id)
    states = dict(kiosk.store.query("SELECT kind, state FROM print_jobs"))
    assert states == {"ktp-el": "failed", "kk": "printed"}
    assert blanks(kiosk).get("spoiled") == 1
    assert s.progress[next(d.id for d in s.documents if d.kind.value == "ktp-el")].message.startswith("The document")
    kiosk.outbox.flush()
    sim = kiosk.central_server.sim
    assert sim.document_states(issued.request_id) == {"ktp-el": "ready", "kk": "printed"}
    assert sim.request_state(issued.request_id) == "ready"  # the PIN still works for the KTP-el
    assert "Belum tercetak" in kiosk.sim.escpos.receipts[-1].text  # the citizen chose Bahasa Indonesia


def test_receipt_fault_does_not_undo_documents(kiosk: Kiosk) -> None:
    s, _ = authenticated(kiosk)
    kiosk.sim.escpos.paper = "out"
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    kiosk.sessions.wait_printed(s.id)
    assert s.outcome is not None and not s.outcome.failed
    assert s.receipt_error == "media-empty"


def test_recovery_settles_jobs_left_open(make_kiosk: Callable[..., Kiosk], tmp_path: Path) -> None:
    k = make_kiosk(tmp_path / "a")
    s, _ = authenticated(k)
    plan = k.printing.plan(s.documents)
    jobs = k.printing.journal_plan(s.id, s.redemption_id, plan)
    card = next(d for d in plan.documents if d.medium.value == "card")
    card_job = jobs[plan.documents.index(card)]
    serial = k.printing.jobs.submit(card_job.id, [card.kind.value])
    path = tmp_path / "face.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    k.sim.cups.printFile("card", str(path), card_job.title, {})  # submitted, then a power cut
    crash(k)

    k2 = make_kiosk(tmp_path / "a", start=False)
    k2.sim.cups.printFile("card", str(path), card_job.title, {})  # the printer finished it
    settled = k2.printing.recover()
    assert settled == 2
    rows = dict(k2.store.query("SELECT id, state FROM print_jobs"))
    assert rows[card_job.id] == "printed"
    assert [v for j, v in rows.items() if j != card_job.id] == ["failed"]  # never submitted: failed, nothing spoiled
    assert k2.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (serial,))[0] == "printed"
    assert k2.store.query_one("SELECT COUNT(*) FROM outbox WHERE kind='report'")[0] == 1
    assert k2.store.query_one("SELECT state, outcome FROM sessions")[1] == "interrupted"


def test_recovery_returns_a_blank_the_printer_never_saw(make_kiosk: Callable[..., Kiosk], tmp_path: Path) -> None:
    """Killed after taking the blank, before the printer received the job: the card is still in the hopper."""
    k = make_kiosk(tmp_path / "b")
    s, _ = authenticated(k)
    plan = k.printing.plan([d for d in s.documents if d.medium.value == "card"])
    (job,) = k.printing.journal_plan(s.id, s.redemption_id, plan)
    serial = k.printing.jobs.submit(job.id, [plan.documents[0].kind.value])
    crash(k)
    k2 = make_kiosk(tmp_path / "b", start=False)
    k2.printing.recover()
    assert k2.store.query_one("SELECT state FROM print_jobs WHERE id=?", (job.id,))[0] == "failed"
    state, job_ref, note = k2.store.query_one("SELECT state, job_id, note FROM blank_cards WHERE serial=?", (serial,))
    assert (state, job_ref) == ("stock", None) and f"job {job.id}" in note
    assert k2.store.query_one("SELECT blank_serial FROM print_jobs WHERE id=?", (job.id,))[0] == serial  # history kept


def test_a_job_recovery_cannot_ask_about_is_settled_once_the_printer_answers(make_kiosk: Callable[..., Kiosk],
                                                                            tmp_path: Path) -> None:
    """Recovery with cupsd still down left the job open until the next start; now the background tick asks again."""
    k = make_kiosk(tmp_path / "c")
    job, serial, path = _card_job_taken(k, tmp_path)
    k.sim.queue("card_printer").seconds_per_job = 0  # it prints at once (the test must not race the printer)
    k.sim.cups.printFile("card", str(path), job.title, {})  # at the printer, then a power cut
    crash(k)
    k2 = make_kiosk(tmp_path / "c", start=False)
    k2.sim.cups.down = True  # cupsd is slower to come back than the kiosk
    k2.printing.recover()
    assert [j.id for j in k2.printing.jobs.unconfirmed_jobs()] == [job.id]
    assert k2.printing.recheck_unconfirmed() == 0
    k2.sim.cups.down = False
    k2._tick()
    assert k2.store.query_one("SELECT state FROM print_jobs WHERE id=?", (job.id,))[0] == "printed"
    assert k2.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (serial,))[0] == "printed"
    assert len(k2.sim.cups.printed_files("card")) == 1  # the witness: the card came out


@pytest.mark.parametrize("settled_by", ["background re-check", "technician", "recovery"])
def test_an_unconfirmed_job_the_printer_stopped_before_the_feed_returns_its_blank(
        make_kiosk: Callable[..., Kiosk], tmp_path: Path, settled_by: str) -> None:
    """Soak-found: cupsd was lost while the card printer refused a job as it began (its hopper read empty), so the
    job stayed unconfirmed; whoever settled it later heard "failed" and spoiled the blank, while the card was still
    in the hopper (the hopper one card over the journal). The printer's own word on the feed decides."""
    from kiosk.staff.maintenance import Maintenance
    from tests.reliability.ledger import audit_kiosk

    k = make_kiosk(tmp_path / "u", **{"status.heartbeat_interval_s": 0})
    k.background.stop()
    job, serial, path = _card_job_taken(k, tmp_path)
    q = k.sim.queue("card_printer")
    q.seconds_per_job = 0
    q.jam_on(1, "media-empty")  # refused as it begins: no card moves
    pjid = k.sim.cups.printFile("card", str(path), job.title, {})
    k.printing.jobs.printer_job(job.id, pjid)
    k.printing.jobs.unconfirmed(job.id, "cupsd-unreachable")  # what the print saw: cupsd gone before its verdict
    hopper = q.hopper
    if settled_by == "background re-check":
        assert k.printing.recheck_unconfirmed() == 1
    elif settled_by == "technician":
        assert Maintenance(k).recheck_job("T-01", job.id) == "failed"
    else:
        assert k.printing.recover() >= 1
    assert k.store.query_one("SELECT state FROM print_jobs WHERE id=?", (job.id,))[0] == "failed"
    assert k.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (serial,))[0] == "stock"
    assert q.hopper == hopper  # the witness: the printer's hopper still holds that card
    k.outbox.flush()
    led = audit_kiosk(k)
    assert led.hopper_gap == 0 and not [v for v in led.violations if "hopper" in v], led.violations


def test_a_refused_submit_returns_the_blank(kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch) -> None:
    s, _ = authenticated(kiosk)
    card = [d for d in s.documents if d.medium.value == "card"]
    plan = kiosk.printing.plan(card)

    def refuse(*_a: object, **_k: object) -> int:
        raise RuntimeError("server-error-not-accepting-jobs")  # what pycups raises when cupsd refuses

    monkeypatch.setattr(kiosk.sim.cups, "printFile", refuse)
    out = kiosk.printing.execute(s.id, s.redemption_id, plan)
    assert [p.state for p in out.values()] == ["failed"]
    job = kiosk.store.query_one("SELECT state, blank_serial FROM print_jobs")
    assert job[0] == "failed" and job[1]  # a blank was taken for it...
    # ...and its chip was already written for this citizen: spoiled and ejected, never back to stock
    assert blanks(kiosk).get("spoiled", 0) == 1 and blanks(kiosk)["stock"] == 99
    assert kiosk.sim.chips.rejected == [job[1]] and kiosk.sim.queue("card_printer").hopper == 99


def test_blank_serials_are_journaled_once(kiosk: Kiosk) -> None:
    with pytest.raises(ValueError, match="already journaled"):
        kiosk.printing.load_blanks("ktp-el", "again", ["KTP-SIM-000001"])
    assert kiosk.printing.load_blanks("ktp-el", "B2", ["KTP-B2-0001", "KTP-B2-0002"]) == 2
    assert kiosk.printing.blanks_in_stock("ktp-el") == 82


def test_retention_forgets_masked_niks_but_keeps_the_books(kiosk: Kiosk) -> None:
    s, _ = authenticated(kiosk)
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    kiosk.sessions.wait_printed(s.id)
    kiosk.sessions.end(s.id)
    kiosk.outbox.flush()
    import time as _time
    assert kiosk.store.forget(_time.time() + 1, _time.time() + 1) == 1
    assert tuple(kiosk.store.query_one("SELECT nik_masked, nik_hash FROM sessions")) == ("", "")
    assert kiosk.store.query_one("SELECT COUNT(*) FROM outbox WHERE kind='report'")[0] == 0
    assert kiosk.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 2
    assert kiosk.store.query_one("SELECT COUNT(*) FROM blank_cards WHERE state='printed'")[0] == 1


def test_a_mute_receipt_printer_is_not_counted_as_printed(kiosk: Kiosk) -> None:
    s, _ = authenticated(kiosk)
    kiosk.sim.escpos.mute = True  # answers no status query: nobody knows if paper came out
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    kiosk.sessions.wait_printed(s.id)
    assert s.outcome is not None and not s.outcome.failed
    assert s.receipt_error in ("unconfirmed", "no-answer")
    assert kiosk.store.query_one("SELECT COUNT(*) FROM audit WHERE event='receipt-unconfirmed'")[0] == 1


def test_a_card_job_aborted_for_an_empty_hopper_returns_its_blank(kiosk: Kiosk) -> None:
    """h5's fault matrix: the printer aborted the job before any card was fed, yet its blank was journaled
    spoiled: the hopper held one more card than the journal's stock. Without an encoder the blank goes back
    to stock; with one, its chip was already written for this citizen, so it is spoiled and ejected: either
    way the hopper and the journal's stock agree."""
    s, issued = authenticated(kiosk)
    hopper = kiosk.sim.queue("card_printer")
    before = hopper.hopper
    hopper.jam_on(1, "media-empty")
    kiosk.sessions.start_printing(s.id, [d.id for d in s.documents])
    kiosk.sessions.wait_printed(s.id)
    assert dict(kiosk.store.query("SELECT kind, state FROM print_jobs")) == {"ktp-el": "failed", "kk": "printed"}
    spoiled = blanks(kiosk).get("spoiled", 0)
    assert spoiled == (1 if kiosk.printing.personaliser else 0)
    assert hopper.hopper == before - spoiled
    assert kiosk.printing.blanks_in_stock("ktp-el") + kiosk.printing.blanks_in_stock("kia") == hopper.hopper
    kiosk.outbox.flush()
    sim = kiosk.central_server.sim
    assert sim.document_states(issued.request_id) == {"ktp-el": "ready", "kk": "printed"}  # told failed: PIN valid
    assert [d.outcome for d in sim.deliveries() if d.outcome == "failed"] == ["failed"]
