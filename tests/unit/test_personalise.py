"""KTP-el personalisation at the card printer's encoder station, through the whole simulated kiosk.

Each refusal is checked against witnesses the kiosk does not own: the simulated printer's
chip hopper and its own hopper count (what physically left), the paper in the output tray,
and the simulated central's records, besides the journal (tests/reliability/ledger.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from drivers.passive_auth import TrustAnchors
from hardware_sim.ektp_card import VirtualEktp
from hardware_sim.factory import ENCODER_READER
from kiosk.cli.simulation import SimulatedKiosk
from kiosk.model import DocumentKind
from tests.reliability.ledger import audit_kiosk
from tests.unit.test_flow import Citizen
from ui import create_app

KTP = [DocumentKind.KTP_EL]
BUDI, DEWI = "3201010508900001", "3271015707850004"


def print_ktp(kiosk: SimulatedKiosk, nik: str = BUDI) -> tuple[dict[str, Any], Citizen, str]:
    """A citizen types the NIK and PIN and prints a KTP-el; returns the final status, the screen, the request."""
    issued = kiosk.central_server.sim.issue_pin(nik, KTP)
    c = Citizen(create_app(kiosk).test_client())
    c.get("/")
    c.post("/nik", nik=issued.nik)
    assert c.post("/pin", pin=issued.pin).location == "/documents"
    c.post("/print", doc=c.documents())
    return c.wait_done(), c, issued.request_id


def balanced(kiosk: SimulatedKiosk) -> None:
    kiosk.outbox.flush()
    ledger = audit_kiosk(kiosk)
    assert not ledger.violations and ledger.hopper_gap == 0, ledger.violations
    assert kiosk.sim.chips.count() == kiosk.printing.blanks_in_stock("ktp-el")


def test_a_printed_ktp_el_carries_a_chip_any_reader_verifies(kiosk: SimulatedKiosk) -> None:
    kiosk.sim.insert_card(DEWI)  # someone else's e-KTP was on the reader before
    status, _c, request_id = print_ktp(kiosk, BUDI)
    assert [r["state"] for r in status["rows"]] == ["done"]
    chip = kiosk.sim.chips.last_printed()
    assert chip is not None and chip.locked and chip.serial == "KTP-SIM-000001"
    job = kiosk.store.query_one("SELECT blank_serial, state FROM print_jobs")
    assert tuple(job) == ("KTP-SIM-000001", "printed")  # the serial the chip said, not a guess
    assert kiosk.sim.tap_printed_card()
    data = kiosk.card_reads.read()  # the kiosk's own reader: chip and passive authentication
    assert data.identity["nik"] == BUDI and data.identity["name"] == "BUDI SANTOSO"
    kiosk.outbox.flush()
    assert kiosk.central_server.sim.document_states(request_id) == {"ktp-el": "printed"}
    balanced(kiosk)


def test_the_job_takes_the_blank_at_the_encoder_not_the_next_in_stock(kiosk: SimulatedKiosk) -> None:
    kiosk.sim.chips.chips.insert(0, kiosk.sim.chips.chips.pop(4))  # a technician loaded them out of order
    print_ktp(kiosk)
    assert kiosk.store.query_one("SELECT blank_serial FROM print_jobs")[0] == "KTP-SIM-000005"
    assert kiosk.store.query_one("SELECT state FROM blank_cards WHERE serial='KTP-SIM-000001'")[0] == "stock"
    balanced(kiosk)


def test_a_blank_outside_the_loaded_batches_is_set_aside_and_the_next_one_used(kiosk: SimulatedKiosk) -> None:
    hopper = kiosk.sim.queue("card_printer")
    before = hopper.hopper
    kiosk.sim.chips.put_on_top(VirtualEktp(kiosk.sim.sam_key, "KTP-FOREIGN-000001"),
                               lambda: setattr(hopper, "hopper", hopper.hopper + 1))
    status, _c, request_id = print_ktp(kiosk)
    assert status["rows"][0]["state"] == "done"
    assert kiosk.sim.chips.rejected == ["KTP-FOREIGN-000001"]  # out of the hopper, into the reject bin
    assert hopper.hopper == before - 1 and len(kiosk.sim.cups.printed_files("card")) == 1
    assert kiosk.store.query_one("SELECT blank_serial FROM print_jobs")[0] == "KTP-SIM-000001"
    audit = kiosk.store.query_one("SELECT detail FROM audit WHERE event='blank-set-aside'")
    assert audit is not None and "KTP-FOREIGN-000001" in audit[0] and "not in any loaded batch" in audit[0]
    events = kiosk.events.page(0, 200, "print")["events"]
    assert any(e["event"] == "blank-set-aside" for e in events)
    kiosk.outbox.flush()
    assert kiosk.central_server.sim.document_states(request_id) == {"ktp-el": "printed"}
    balanced(kiosk)


def test_a_hopper_of_foreign_blanks_prints_nothing_and_keeps_the_pin(kiosk: SimulatedKiosk) -> None:
    hopper = kiosk.sim.queue("card_printer")
    for i in range(3):
        kiosk.sim.chips.put_on_top(VirtualEktp(kiosk.sim.sam_key, f"KTP-OTHER-{i:06d}"),
                                   lambda: setattr(hopper, "hopper", hopper.hopper + 1))
    status, _c, request_id = print_ktp(kiosk)
    row = status["rows"][0]
    assert row["state"] == "failed" and "PIN" in row["message"]
    assert len(kiosk.sim.chips.rejected) == 3 and not kiosk.sim.cups.printed_files("card")
    assert kiosk.store.query_one("SELECT COUNT(*) FROM blank_cards WHERE state != 'stock'")[0] == 0
    assert kiosk.central_server.sim.document_states(request_id) == {"ktp-el": "ready"}  # the PIN still prints it
    balanced(kiosk)


def test_a_print_stopped_before_the_feed_spoils_the_personalised_blank(kiosk: SimulatedKiosk) -> None:
    """The chip holds this citizen's data: it can never go back to stock for the next one."""
    kiosk.sim.queue("card_printer").jam_on(1, "media-empty")  # the printer aborts before it feeds the card
    top = kiosk.sim.chips.top()
    assert top is not None
    status, _c, _r = print_ktp(kiosk)
    assert status["rows"][0]["state"] == "failed"
    assert kiosk.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (top.serial,))[0] == "spoiled"
    assert kiosk.sim.chips.rejected == [top.serial]  # ejected from the station, not left for the next citizen
    balanced(kiosk)
    kiosk.simulator.fix("card_printer")  # the technician refills and clears the printer
    kiosk.monitor.refresh()
    status, _c, _r = print_ktp(kiosk, DEWI)  # the next citizen's card is fine
    assert status["rows"][0]["state"] == "done"
    balanced(kiosk)


@pytest.mark.parametrize(("fault", "code"), [({"write_fails_after": 3}, "encode-failed"),
                                             ({"readback_differs": True}, "digest-mismatch")])
def test_a_failed_encode_spoils_that_blank_and_prints_no_face(kiosk: SimulatedKiosk, fault: dict[str, Any],
                                                               code: str) -> None:
    top = kiosk.sim.chips.top()
    assert top is not None
    for k, v in fault.items():
        setattr(top.faults, k, v)
    hopper_before = kiosk.sim.queue("card_printer").hopper
    status, _c, request_id = print_ktp(kiosk)
    assert status["rows"][0]["state"] == "failed"
    assert "chip" in status["rows"][0]["message"].lower()
    assert not kiosk.sim.cups.printed_files("card")  # no face printed
    assert kiosk.sim.chips.rejected == [top.serial]
    assert kiosk.sim.queue("card_printer").hopper == hopper_before - 1
    state, note = kiosk.store.query_one("SELECT state, note FROM blank_cards WHERE serial=?", (top.serial,))
    assert state == "spoiled" and code in note
    kiosk.outbox.flush()
    reports = [d for d in kiosk.central_server.sim.deliveries() if d.outcome == "failed"]
    assert len(reports) == 1
    assert kiosk.central_server.sim.document_states(request_id) == {"ktp-el": "ready"}  # PIN still valid
    balanced(kiosk)
    status, _c, _r = print_ktp(kiosk)  # the next blank is fine: the same PIN prints the card
    assert status["rows"][0]["state"] == "done"
    balanced(kiosk)


def test_encoder_absent_takes_nothing(kiosk: SimulatedKiosk) -> None:
    kiosk.sim.encoder_slot.plugged = False
    status, _c, request_id = print_ktp(kiosk)
    assert status["rows"][0]["state"] == "failed"
    assert kiosk.printing.blanks_in_stock("ktp-el") == 80 and kiosk.sim.chips.count() == 80
    assert kiosk.sim.chips.rejected == [] and not kiosk.sim.cups.printed_files("card")
    assert kiosk.central_server.sim.document_states(request_id) == {"ktp-el": "ready"}
    balanced(kiosk)


def test_a_dead_chip_is_ejected_and_reported(kiosk: SimulatedKiosk) -> None:
    top = kiosk.sim.chips.top()
    assert top is not None
    top.faults.dead = True
    status, _c, _r = print_ktp(kiosk)
    assert status["rows"][0]["state"] == "failed"
    assert kiosk.sim.chips.rejected == [top.serial]
    assert kiosk.store.query_one("SELECT 1 FROM audit WHERE event='chip-unreadable'") is not None
    # its serial could not be read, so the journal still counts it in stock until a technician records it damaged
    kiosk.printing.blanks.damaged(top.serial, "T-01", "chip dead, set aside by the printer")
    balanced(kiosk)


def test_an_encoder_that_hangs_is_bounded(make_kiosk: Any) -> None:
    kiosk = make_kiosk()
    kiosk.printing.personaliser.deadline_s = 0.5
    release = __import__("threading").Event()
    encoder = kiosk.printing.personaliser.encoder
    real = encoder.blank_serial
    encoder.blank_serial = lambda: (release.wait(10), real())[1]  # pcscd frozen mid-call
    t0 = time.monotonic()
    status, _c, _r = print_ktp(kiosk)
    assert time.monotonic() - t0 < 8
    assert status["rows"][0]["state"] == "failed"
    release.set()
    assert kiosk.printing.blanks_in_stock("ktp-el") == 80


def test_kia_has_no_chip_and_never_touches_the_encoder(kiosk: SimulatedKiosk) -> None:
    nik = "3201011203150003"
    issued = kiosk.central_server.sim.issue_pin(nik, [DocumentKind.KIA])
    c = Citizen(create_app(kiosk).test_client())
    c.get("/")
    c.post("/nik", nik=issued.nik)
    c.post("/pin", pin=issued.pin)
    c.post("/print", doc=c.documents())
    assert c.wait_done()["rows"][0]["state"] == "done"
    assert kiosk.sim.chips.count() == 80 and kiosk.sim.chips.top().files == {}
    balanced(kiosk)


def test_the_simulated_kiosk_trusts_the_simulated_centrals_csca(kiosk: SimulatedKiosk) -> None:
    anchors = TrustAnchors.from_pem_file(kiosk.cfg.devices.card_reader.csca_file)
    assert anchors.cscas[0] == kiosk.central_server.sim.chip_pki.csca
    assert kiosk.cfg.devices.card_printer.encoder == ENCODER_READER
    assert "chip-pki" in kiosk.cfg.devices.card_reader.csca_file and "/sim/" in kiosk.cfg.devices.card_reader.csca_file


def test_the_simulator_panel_taps_the_card_just_printed_and_injects_chip_faults(kiosk: SimulatedKiosk) -> None:
    panel = kiosk.simulator
    assert panel.tap_printed_card() == ""  # nothing printed yet
    print_ktp(kiosk, DEWI)
    assert panel.tap_printed_card() == "3271********0004"
    assert panel.card_on_reader() == "3271********0004"
    for fault in ("encoder-absent", "chip-dead", "chip-write-fails", "chip-readback-differs"):
        assert fault in panel.faults()
    panel.inject("chip-write-fails")
    top = kiosk.sim.chips.top()
    assert top is not None and top.faults.write_fails_after == 2
    panel.inject("encoder-absent")
    assert kiosk.printing.personaliser is not None and kiosk.sim.encoder_slot.plugged is False
    panel.fix("card_printer")
    assert kiosk.sim.encoder_slot.plugged is True


def _printing(kiosk: SimulatedKiosk, within_s: float = 10) -> bool:
    """Whether the card printer has a job at work (its own word, as the soak asks)."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if kiosk.sim.cups.getPrinterAttributes("card")["printer-state"] == 4:  # IPP processing
            return True
        time.sleep(0.01)
    return False


def test_a_card_job_waits_while_another_card_is_at_the_station(kiosk: SimulatedKiosk) -> None:
    """Soak-found: a citizen cancelled while her KTP-el printed, and the next citizen's job read the serial of the
    card still at the station (hers, personalised), was refused it and ejected it: her card went to the reject
    bin and the printer's hopper lost a card the journal never heard of. One card at the station at a time."""
    kiosk.sim.queue("card_printer").seconds_per_job = 1.0
    issued = kiosk.central_server.sim.issue_pin(BUDI, KTP)
    first = Citizen(create_app(kiosk).test_client())
    first.get("/")
    first.post("/nik", nik=issued.nik)
    first.post("/pin", pin=issued.pin)
    first.post("/print", doc=first.documents())
    assert _printing(kiosk)
    first.post("/cancel")  # she walks away; her card is at the printer and still comes out
    status, _c, _r = print_ktp(kiosk, DEWI)  # the next citizen, at once
    assert status["rows"][0]["state"] == "done", status
    end = time.monotonic() + 10
    while kiosk.printing.in_flight() and time.monotonic() < end:
        time.sleep(0.05)
    assert kiosk.sim.chips.rejected == []  # nobody's card in the reject bin
    serials = [r[0] for r in kiosk.store.query("SELECT blank_serial FROM print_jobs ORDER BY id")]
    assert [c.serial for c in kiosk.sim.chips.output] == serials and all(c.locked for c in kiosk.sim.chips.output)
    assert [r[0] for r in kiosk.store.query("SELECT state FROM print_jobs ORDER BY id")] == ["printed", "printed"]
    balanced(kiosk)


def _written_card_at_the_station(k: SimulatedKiosk) -> tuple[Any, str, str]:
    """A KTP-el personalised at the station whose print has not happened (its job still open): (job, serial,
    the session's id)."""
    issued = k.central_server.sim.issue_pin(BUDI, KTP)
    s = k.sessions.start(issued.nik, "nik")
    assert k.sessions.submit_pin(s.id, issued.pin).ok
    plan = k.printing.plan(s.documents)
    (job,) = k.printing.journal_plan(s.id, s.redemption_id, plan)
    chip = k.printing.personaliser
    serial = chip.take_blank(job, lambda sn: k.printing.jobs.submit(job.id, ["ktp-el"], serial=sn))
    chip.personalise(job, plan.documents[0], serial)
    return job, serial, s.id


def test_a_crash_after_the_chip_was_written_never_puts_that_blank_back_in_stock(make_kiosk: Any, tmp_path: Any) -> None:
    """Killed after personalising, before the printer received the job: recovery finds the job unseen by the
    printer, which used to mean "back to stock"; the card holds a citizen's locked chip, so it is spoiled, and
    the next citizen's job ejects it from the station and prints on the next blank."""
    from tests.unit.test_printing import crash

    k = make_kiosk(tmp_path / "k")
    _job, serial, _sid = _written_card_at_the_station(k)
    assert k.sim.chips.top().locked  # written and locked, at the station: then the power cut
    crash(k)
    k2 = make_kiosk(tmp_path / "k", start=False)
    k2.printing.recover()
    state, note = k2.store.query_one("SELECT state, note FROM blank_cards WHERE serial=?", (serial,))
    assert state == "spoiled" and "chip written" in note
    assert k2.printing.blanks_in_stock("ktp-el") == 79
    k2.start()
    status, _c, _r = print_ktp(k2, DEWI)
    assert status["rows"][0]["state"] == "done"
    assert k2.sim.chips.rejected == [serial]  # the written card went to the reject bin, not to Dewi
    assert k2.store.query_one("SELECT blank_serial FROM print_jobs WHERE state='printed'")[0] != serial
    balanced(k2)


def test_another_process_at_the_station_makes_the_job_wait_then_fail_with_nothing_taken(kiosk: SimulatedKiosk) -> None:
    """``adm-kiosk print-test card`` in another process holds the station (its flock beside the journal): the
    citizen's job waits for it, within the bound, and then fails without taking a blank."""
    import fcntl
    import os

    path = kiosk.store.path.parent / "card-station.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as the other process does; released when it exits
    kiosk.printing.job_timeout_s = 0.5
    try:
        status, _c, request_id = print_ktp(kiosk)
    finally:
        os.close(fd)
    assert status["rows"][0]["state"] == "failed" and status["rows"][0]["message"]
    assert kiosk.printing.blanks_in_stock("ktp-el") == 80 and kiosk.sim.chips.count() == 80
    assert kiosk.store.query_one("SELECT error FROM print_jobs")[0] == "encoder: station-busy"
    kiosk.outbox.flush()
    assert kiosk.central_server.sim.document_states(request_id) == {"ktp-el": "ready"}
    balanced(kiosk)
    kiosk.printing.job_timeout_s = 30
    status, _c, _r = print_ktp(kiosk)  # the other process is gone: the same PIN prints
    assert status["rows"][0]["state"] == "done"
    balanced(kiosk)


def _print_kia(k: SimulatedKiosk) -> dict[str, Any]:
    issued = k.central_server.sim.issue_pin("3201011203150003", [DocumentKind.KIA])
    c = Citizen(create_app(k).test_client())
    c.get("/")
    c.post("/nik", nik=issued.nik)
    c.post("/pin", pin=issued.pin)
    c.post("/print", doc=c.documents())
    return c.wait_done()


def test_a_kia_never_takes_a_written_ktp_el_card_left_at_the_station(kiosk: SimulatedKiosk) -> None:
    """Soak-found (2,000 sessions): a KTP-el's print was not confirmed (cupsd lost), then settled "stopped before
    the feed" and its blank spoiled; its written card still sat at the station, and the next KIA job's feed took
    that card: the hopper one card over the journal. The written card is ejected first; while its job is still
    open, the KIA waits for another time (nothing taken)."""
    job, serial, sid = _written_card_at_the_station(kiosk)
    kiosk.sessions.end(sid)
    status = _print_kia(kiosk)  # its job still open: that card may yet be fed for it
    assert status["rows"][0]["state"] == "failed"
    assert kiosk.printing.blanks_in_stock("kia") == 20 and kiosk.sim.chips.rejected == []
    kiosk.printing.settle(job.id, False, "then the printer reported it stopped before the feed", blank_unused=True)
    assert kiosk.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (serial,))[0] == "spoiled"
    status = _print_kia(kiosk)
    assert status["rows"][0]["state"] == "done"
    assert kiosk.sim.chips.rejected == [serial]  # the written card to the reject bin, not under the KIA's face
    balanced(kiosk)
