"""Card and A4 printers through a real cupsd and ippeveprinter, with every fault switch.

One private cupsd per module (started in ~0.1 s; each job ~1 s through the IPP backend).
Skips with the reason when this machine cannot run cupsd/ippeveprinter (not root, missing).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import printer_profiles
from drivers.base import DeviceState, SupplyLevel
from drivers.printers import CupsPrinter, pycups_connect
from hardware_sim import citizens
from hardware_sim.cupsd import CupsSandbox, SimPrinter, missing
from kiosk.cli.print_test import a4_test_pdf, card_test_faces
from kiosk.printing.card_face import card_pdf

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(bool(missing()), reason=f"private cupsd unavailable: {', '.join(missing())}")]

CARD, A4 = "evolis-primacy2", "office-laser-a4"


@pytest.fixture(scope="module")
def box() -> Iterator[CupsSandbox]:
    sandbox = CupsSandbox().start()
    try:
        sandbox.add_sim_printer("card", printer_profiles.load(CARD))
        sandbox.add_sim_printer("a4", printer_profiles.load(A4))
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def card(box: CupsSandbox) -> Iterator[tuple[CupsPrinter, SimPrinter]]:
    yield CupsPrinter("card_printer", "card", pycups_connect(box.sock), printer_profiles.load(CARD).cups_options), \
        box.printers["card"]
    box.reset_queue("card")


@pytest.fixture
def a4(box: CupsSandbox) -> Iterator[tuple[CupsPrinter, SimPrinter]]:
    yield CupsPrinter("document_printer", "a4", pycups_connect(box.sock), printer_profiles.load(A4).cups_options), \
        box.printers["a4"]
    box.reset_queue("a4")


@pytest.fixture(scope="module")
def card_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    profile = printer_profiles.load(CARD)
    path = tmp_path_factory.mktemp("card") / "card.pdf"
    path.write_bytes(card_pdf(*card_test_faces(profile), profile.dpi))
    return path


def _three_page_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format="A4")
    for i in range(1, 4):
        pdf.add_page()
        pdf.set_font("Helvetica", "", 20)
        pdf.cell(0, 20, f"Kartu Keluarga - page {i} of 3")
    path.write_bytes(bytes(pdf.output()))
    return path


def _print(printer: CupsPrinter, path: Path, title: str, timeout_s: float = 30) -> tuple[int, object]:
    job = printer.submit(str(path), title)
    return job, printer.wait(job, timeout_s)


def _env(sim: SimPrinter, job: int) -> dict[str, str]:
    text = (sim.out / f"job{job}.env").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_card_prints_both_faces_on_cr80_two_sided(card: tuple[CupsPrinter, SimPrinter], card_file: Path) -> None:
    printer, sim = card
    n = sim.count() + 1
    _, result = _print(printer, card_file, "adm-job-card")
    assert result.ok, result
    assert sim.pages(n) == 2  # front and back in one job
    env = _env(sim, n)
    assert "x-dimension=5400 y-dimension=8600" in env["IPP_MEDIA_COL"]  # om_card_54x86mm reached the printer
    assert env["IPP_SIDES"] == "two-sided-long-edge"
    assert printer.status().state is DeviceState.ONLINE


def test_jam_on_the_second_of_two_cards(card: tuple[CupsPrinter, SimPrinter], card_file: Path) -> None:
    printer, sim = card
    first = sim.count() + 1
    sim.fault_on(2, "media-jam")
    _, one = _print(printer, card_file, "adm-job-1")
    _, two = _print(printer, card_file, "adm-job-2")
    assert one.ok and not two.ok
    assert "media-jam" in two.reasons
    assert [p.name for p in sim.printed()][-1] == f"job{first}.pdf"  # only the first card came out
    st = printer.status()
    assert (st.state, st.code, st.media) == (DeviceState.USER_ERROR, "media-jam", "jammed")
    sim.clear()  # staff clear the jam
    assert printer.status().state is DeviceState.ONLINE


def test_card_hopper_empty_is_seen_before_any_job(card: tuple[CupsPrinter, SimPrinter]) -> None:
    printer, sim = card
    sim.media_empty()
    st = printer.status()
    assert (st.state, st.code, st.supplies["media"].level) == (DeviceState.USER_ERROR, "media-empty", SupplyLevel.OUT)
    sim.clear()
    assert printer.status().ready


def test_ribbon_low_still_prints_and_ribbon_out_stops(card: tuple[CupsPrinter, SimPrinter], card_file: Path) -> None:
    printer, sim = card
    sim.ribbon(7)
    st = printer.status()
    assert st.ready and st.supplies["ribbon"].level is SupplyLevel.LOW and st.supplies["ribbon"].remaining == 7
    assert _print(printer, card_file, "adm-job-low")[1].ok
    sim.ribbon(0)
    st = printer.status()
    assert (st.state, st.code, st.supplies["ribbon"].level) == (DeviceState.USER_ERROR, "marker-supply-empty",
                                                                 SupplyLevel.OUT)
    _, result = _print(printer, card_file, "adm-job-out")
    assert not result.ok and "marker-supply-empty" in result.reasons


def test_job_failure_is_not_printed(card: tuple[CupsPrinter, SimPrinter], card_file: Path) -> None:
    printer, sim = card
    sim.fail()
    _, result = _print(printer, card_file, "adm-job-fail")
    assert result.state in ("aborted", "canceled") and "other" in result.reasons
    assert printer.status().state is DeviceState.HARDWARE_ERROR
    sim.clear()
    assert _print(printer, card_file, "adm-job-after")[1].ok  # the queue was not left stopped


def test_slow_job_times_out_and_is_canceled(card: tuple[CupsPrinter, SimPrinter], card_file: Path) -> None:
    printer, sim = card
    sim.slow(20)
    job = printer.submit(str(card_file), "adm-job-slow")
    started = time.monotonic()
    assert printer.wait(job, 1.5).state == "timeout"
    assert time.monotonic() - started < 5
    printer.cancel(job)
    deadline = time.monotonic() + 10
    while printer.job_state(job)[0] not in (7, 8, 9) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert printer.job_state(job)[0] == 7  # canceled
    assert printer.find_job("adm-job-slow") == job  # recovery can still find it by title


def test_a4_document_prints_every_page(a4: tuple[CupsPrinter, SimPrinter], tmp_path: Path) -> None:
    printer, sim = a4
    n = sim.count() + 1
    _, result = _print(printer, _three_page_pdf(tmp_path / "kk.pdf"), "adm-job-kk")
    assert result.ok
    assert sim.pages(n) == 3
    assert "iso_a4_210x297mm" in _env(sim, n).get("IPP_MEDIA", "") + _env(sim, n).get("IPP_MEDIA_COL", "") \
        or "x-dimension=21000 y-dimension=29700" in _env(sim, n)["IPP_MEDIA_COL"]


def test_a4_paper_out_in_the_middle_of_a_document(a4: tuple[CupsPrinter, SimPrinter], tmp_path: Path) -> None:
    printer, sim = a4
    n = sim.fault_on(1, "media-empty", after_pages=2)
    _, result = _print(printer, _three_page_pdf(tmp_path / "kk.pdf"), "adm-job-kk-out")
    assert not result.ok and "media-empty" in result.reasons
    assert sim.pages(n) == 2 and len(list(sim.out.glob(f"job{n}-page*.pdf"))) == 2  # two sheets came out
    st = printer.status()
    assert (st.state, st.code) == (DeviceState.USER_ERROR, "media-empty")
    sim.clear()
    assert printer.status().ready


def test_a4_test_page(a4: tuple[CupsPrinter, SimPrinter], tmp_path: Path) -> None:
    printer, _ = a4
    path = tmp_path / "test.pdf"
    path.write_bytes(a4_test_pdf(printer_profiles.load(A4), "ADM-T"))
    assert _print(printer, path, "adm-print-test-document")[1].ok


def test_lost_cupsd_is_offline_not_a_crash(tmp_path: Path) -> None:
    with CupsSandbox() as lonely:
        lonely.add_sim_printer("a4", printer_profiles.load(A4))
        printer = CupsPrinter("document_printer", "a4", pycups_connect(lonely.sock))
        assert printer.status().ready
        lonely.printers["a4"].proc.kill()  # the printer itself switched off
        lonely.printers["a4"].proc.wait()
        st = printer.status()
        assert (st.state, st.code) == (DeviceState.OFFLINE, "offline") and "not answering" in st.detail
        lonely.kill_cupsd()
        st = printer.status()
        assert (st.state, st.code) == (DeviceState.OFFLINE, "offline")
        with pytest.raises(Exception) as info:
            printer.submit(__file__, "adm-job-x")
        assert getattr(info.value, "code", "") == "offline"
        assert printer.wait(1, 0.2).state == "timeout"  # not a verdict: the job may still print


def test_citizen_print_transaction_through_real_cupsd(make_kiosk: Callable[..., object]) -> None:
    """The whole flow in ``--sim=system``: plan, blank, submit to cupsd, printed, reported, receipt on the pty."""
    from kiosk.cli.simulation import SimulatedKiosk

    k: SimulatedKiosk = make_kiosk(**{"sim.mode": "system"})  # type: ignore[assignment]
    assert k.system_sim is not None and "cups" in k.system_sim.peers
    assert k.cfg.devices.card_printer.transport == "cups" and k.cfg.devices.receipt_printer.transport == "serial"
    issued = k.issue_demo_pins()[0]
    s = k.sessions.start(issued.nik, "nik")
    assert k.sessions.submit_pin(s.id, issued.pin).ok
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 60)
    jobs = k.store.query("SELECT kind, state, blank_serial, printer_job_id, error FROM print_jobs")
    assert s.outcome is not None and not s.outcome.failed, jobs
    assert {(j[0], j[1]) for j in jobs} == {("ktp-el", "printed"), ("kk", "printed")}
    box = k.system_sim.peers["cups"]
    assert len(box.printers["card"].printed()) == 1 and len(box.printers["a4"].printed()) == 1
    serial = next(j[2] for j in jobs if j[0] == "ktp-el")
    emulator = k.system_sim.peers["escpos"].emulator
    deadline = time.monotonic() + 5
    while not emulator.receipts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert serial in emulator.receipts[-1].text and s.reference in emulator.receipts[-1].text
    assert emulator.receipts[-1].png is not None  # a person can look at it

    # a jam on the next card: the job fails, the blank is journaled as spoiled, the kiosk says why
    box.printers["card"].fault_on(1, "media-jam")
    issued2 = k.issue_demo_pins()[1]
    s2 = k.sessions.start(issued2.nik, "nik")
    assert k.sessions.submit_pin(s2.id, issued2.pin).ok
    card_docs = [d.id for d in s2.documents if d.kind.value in ("ktp-el", "kia")]
    if not card_docs:
        pytest.skip("second demo citizen has no card document")
    k.sessions.start_printing(s2.id, card_docs)
    k.sessions.wait_printed(s2.id, 60)
    assert s2.outcome is not None and s2.outcome.failed
    spoiled = k.store.query("SELECT state, note FROM blank_cards WHERE state='spoiled'")
    assert len(spoiled) == 1 and "media-jam" in spoiled[0][1]
    assert k.monitor.fresh("card_printer").code == "media-jam"


def test_realistic_timing_takes_the_profiles_time(card: tuple[CupsPrinter, SimPrinter],
                                                  a4: tuple[CupsPrinter, SimPrinter], card_file: Path,
                                                  tmp_path: Path) -> None:
    """``--sim=system`` with ``[sim] realistic_timing``: each ippeveprinter takes its profile's time for the
    job's pages (a cold card printer warms up first), by the printer's own clock."""
    scale = 0.1
    (card_printer, card_sim), (a4_printer, a4_sim) = card, a4
    card_profile, a4_profile = printer_profiles.load(CARD), printer_profiles.load(A4)
    card_sim.timing(card_profile, scale)
    a4_sim.timing(a4_profile, scale)
    try:
        for i in range(2):
            _job, result = _print(card_printer, card_file, f"timed-card-{i}")
            assert result.ok  # type: ignore[attr-defined]
        _job, result = _print(a4_printer, _three_page_pdf(tmp_path / "three.pdf"), "timed-a4")
        assert result.ok  # type: ignore[attr-defined]
    finally:
        card_sim.timing(None)
        a4_sim.timing(None)
    (s1, e1), (s2, e2) = card_sim.times()[-2:]
    assert e1 - s1 == pytest.approx(scale * card_profile.job_s(2), abs=0.25)  # cold: 2.6 s
    assert e2 - s2 == pytest.approx(scale * card_profile.job_s(2, warm=True), abs=0.25)  # warm: 2.1 s
    s3, e3 = a4_sim.times()[-1]
    assert e3 - s3 == pytest.approx(scale * a4_profile.job_s(3), abs=0.25)  # first page out + two pages at 30 ppm


def test_card_and_a4_print_at_once_in_system_simulation(make_kiosk: Callable[..., object]) -> None:
    """``--sim=system`` with realistic timing: the KTP-el and the KK are at their ippeveprinters at the same
    time, by the printers' own clocks, and each takes its profile's time."""
    from kiosk.cli.simulation import SimulatedKiosk

    scale = 0.1
    k: SimulatedKiosk = make_kiosk(**{"sim.mode": "system", "sim.realistic_timing": True,  # type: ignore[assignment]
                                      "sim.timing_scale": scale})
    assert k.system_sim is not None
    ident, kinds = citizens.DEMO[1]  # KTP-el, KK, akta
    issued = k.central_server.sim.issue_pin(ident.nik, kinds)
    s = k.sessions.start(issued.nik, "nik")
    assert k.sessions.submit_pin(s.id, issued.pin).ok
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 60)
    assert s.outcome is not None and not s.outcome.failed
    box = k.system_sim.peers["cups"]
    (card_start, card_end), = box.printers["card"].times()
    a4 = box.printers["a4"].times()
    assert len(a4) == 2 and a4[0][1] <= a4[1][0]  # the KK, then the akta: one job at a time
    # the KK printed while the card did (in turn, it would start only after the card ended; how long they overlap
    # depends on how soon the KK's signature check ends, so on the machine's load)
    assert min(card_end, a4[0][1]) - max(card_start, a4[0][0]) > 0
    profiles = k.devices.profiles  # each printer's own time for its job (a loaded machine adds to it, never cuts it)
    assert card_end - card_start == pytest.approx(scale * profiles["card_printer"].job_s(2), abs=0.5)
    assert a4[0][1] - a4[0][0] == pytest.approx(scale * profiles["document_printer"].job_s(1), abs=0.5)
