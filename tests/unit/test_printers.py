"""The CUPS printer driver: reason and supply tables, a lost cupsd, jobs through the simulated spool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import printer_profiles
from drivers.base import DeviceState, SupplyLevel
from drivers.printers import CupsError, CupsPrinter, device_reasons, map_printer, supply_key
from hardware_sim.cupsd import card_ppd
from hardware_sim.spool import SimCups

ONLINE, BUSY, OFFLINE, USER, HW = (DeviceState.ONLINE, DeviceState.BUSY, DeviceState.OFFLINE,
                                   DeviceState.USER_ERROR, DeviceState.HARDWARE_ERROR)


@pytest.mark.parametrize(("state", "reasons", "expect", "code", "media"), [
    (3, ["none"], ONLINE, "", ""),
    (4, ["none"], BUSY, "", ""),
    (3, ["media-empty-error"], USER, "media-empty", ""),
    (3, ["media-needed-error"], USER, "media-empty", ""),
    (3, ["media-jam-error"], USER, "media-jam", "jammed"),
    (3, ["cover-open-error"], USER, "cover-open", ""),
    (3, ["door-open-error"], USER, "cover-open", ""),
    (3, ["marker-supply-empty-error"], USER, "marker-supply-empty", ""),
    (3, ["toner-empty-error"], USER, "marker-supply-empty", ""),
    (3, ["offline-report"], ONLINE, "", ""),  # history: CUPS keeps reasons of the last job as -report
    (3, ["offline-warning"], OFFLINE, "offline", ""),
    (3, ["paused"], OFFLINE, "paused", ""),
    (5, ["paused"], OFFLINE, "paused", ""),
    (5, ["none"], OFFLINE, "stopped", ""),
    (3, ["other-error"], HW, "other", ""),
    (3, ["media-jam-warning"], ONLINE, "", ""),  # a warning is not a stop
    (3, ["media-jam-report"], ONLINE, "", ""),
    (3, ["marker-supply-low-warning"], ONLINE, "", ""),
    (3, ["media-jam-error", "media-empty-error"], USER, "media-jam", "jammed"),  # the first error wins
    (3, ["some-vendor-thing-error"], ONLINE, "", ""),
])
def test_reason_table(state: int, reasons: list[str], expect: DeviceState, code: str, media: str) -> None:
    st = map_printer({"printer-state": state, "printer-state-reasons": reasons})
    assert (st.state, st.code, st.media) == (expect, code, media)


@pytest.mark.parametrize(("names", "levels", "extra", "expect"), [
    (["Ribbon"], [80], {}, {"ribbon": (SupplyLevel.OK, 80)}),
    (["Ribbon"], [7], {}, {"ribbon": (SupplyLevel.LOW, 7)}),
    (["Ribbon"], [0], {}, {"ribbon": (SupplyLevel.OUT, 0)}),
    (["Ribbon"], [-2], {}, {"ribbon": (SupplyLevel.UNKNOWN, None)}),  # unknown never reads as out
    (["Ribbon"], [-3], {}, {"ribbon": (SupplyLevel.UNKNOWN, None)}),
    (["Ribbon"], [50], {"printer-state-reasons": ["marker-supply-low-warning"]}, {"ribbon": (SupplyLevel.LOW, 50)}),
    (["YMCKO Ribbon", "Retransfer Film"], [60, 20], {"marker-low-levels": [10, 25]},
     {"ribbon": (SupplyLevel.OK, 60), "film": (SupplyLevel.LOW, 20)}),
    (["Toner Waste Tank", "Black Toner"], [25, 75], {}, {"waste": (SupplyLevel.OK, 25), "toner": (SupplyLevel.OK, 75)}),
    ("Black Toner", 5, {}, {"toner": (SupplyLevel.LOW, 5)}),  # pycups gives a lone value unwrapped
])
def test_marker_levels_become_supplies(names: Any, levels: Any, extra: dict[str, Any],
                                       expect: dict[str, tuple[SupplyLevel, int | None]]) -> None:
    st = map_printer({"printer-state": 3, "marker-names": names, "marker-levels": levels, **extra})
    assert {k: (v.level, v.remaining) for k, v in st.supplies.items()} == expect


def test_media_empty_marks_media_out_and_media_low_marks_low() -> None:
    assert map_printer({"printer-state-reasons": ["media-empty-error"]}).supplies["media"].level is SupplyLevel.OUT
    assert map_printer({"printer-state-reasons": ["media-low-report", "media-low-warning"]}).supplies["media"].level \
        is SupplyLevel.LOW


def test_supply_keys() -> None:
    assert [supply_key(n) for n in ("YMCKO Ribbon", "Retransfer film", "Black Toner", "Toner Waste Tank", "Cleaning Kit")] \
        == ["ribbon", "film", "toner", "waste", "cleaning-kit"]


def test_device_reasons_count_faults_whatever_their_suffix() -> None:
    assert device_reasons(["media-jam-report", "marker-supply-low-report", "none", "offline-report", "x-error"]) == \
        ["media-jam-error", "marker-supply-low-warning"]


class _Probing(SimCups):
    """The in-process spool plus an IPP device the driver can ask directly."""

    def __init__(self, out: Path) -> None:
        super().__init__(out)
        self.device: dict[str, Any] | Exception = {"printer-state-reasons": ["none"]}

    def getPrinterAttributes(self, name: str, requested_attributes: list[str] | None = None) -> dict[str, Any]:  # noqa: N802
        return {**super().getPrinterAttributes(name), "device-uri": "ipp://localhost:9/ipp/print"}

    def device_attributes(self, uri: str, requested: list[str]) -> dict[str, Any]:
        if isinstance(self.device, Exception):
            raise self.device
        return self.device


def test_status_asks_the_ipp_device_between_jobs(tmp_path: Path) -> None:
    cups = _Probing(tmp_path)
    cups.add_queue("card")
    printer = CupsPrinter("card_printer", "card", cups)
    assert printer.status().state is ONLINE
    cups.device = {"printer-state-reasons": ["media-jam-report"], "marker-names": ["Ribbon"], "marker-levels": [4]}
    st = printer.status()
    assert (st.state, st.code, st.supplies["ribbon"].level) == (USER, "media-jam", SupplyLevel.LOW)
    cups.device = ConnectionRefusedError(111, "refused")
    assert (printer.status().state, printer.status().code) == (OFFLINE, "offline")
    assert CupsPrinter("card_printer", "card", cups, probe_device=False).status().state is ONLINE


def test_lost_cupsd_is_offline_not_a_crash(tmp_path: Path) -> None:
    cups = SimCups(tmp_path)
    cups.add_queue("a4")
    printer = CupsPrinter("document_printer", "a4", cups)
    cups.down = True
    st = printer.status()
    assert (st.state, st.code) == (OFFLINE, "offline")
    printer.cancel(1)  # no exception either
    with pytest.raises(Exception) as info:
        printer.submit(__file__, "t")
    assert getattr(info.value, "code", "") in ("offline", "submit-failed")


def test_unknown_queue_is_no_device_and_other_ipp_errors_are_offline(tmp_path: Path) -> None:
    class Refusing(SimCups):
        status = 0x0406

        def getPrinterAttributes(self, name: str, requested_attributes: list[str] | None = None) -> dict[str, Any]:  # noqa: N802
            raise CupsError(self.status, "refused")

    cups = Refusing(tmp_path)
    printer = CupsPrinter("card_printer", "card", cups)
    assert printer.status().state is DeviceState.NO_DEVICE
    cups.status = 0x0503
    assert printer.status().state is OFFLINE


def test_submit_passes_profile_options_and_wait_follows_job_state(tmp_path: Path) -> None:
    cups = SimCups(tmp_path / "out")
    q = cups.add_queue("card", seconds_per_job=0.05)
    profile = printer_profiles.load("evolis-primacy2")
    printer = CupsPrinter("card_printer", "card", cups, profile.cups_options)
    doc = tmp_path / "card.pdf"
    doc.write_bytes(b"%PDF-1.4 test")
    job = printer.submit(str(doc), "adm-job-7")
    assert cups.jobs[job].options == {"media": "om_card_54x86mm", "print-quality": "5", "sides": "two-sided-long-edge"}
    assert printer.wait(job, 5, poll_s=0.01).ok
    assert printer.find_job("adm-job-7") == job
    q.jam_on(1)
    failed = printer.wait(printer.submit(str(doc), "adm-job-8"), 5, poll_s=0.01)
    assert failed.state == "aborted" and "media-jam" in failed.reasons  # the printer's reason joins the job's
    q.seconds_per_job = 5
    slow = printer.submit(str(doc), "adm-job-9")
    assert printer.wait(slow, 0.1, poll_s=0.01).state == "timeout"
    printer.cancel(slow)
    assert printer.job_state(slow)[0] == 7


def test_card_ppd_sizes_are_exact_points() -> None:
    ppd = card_ppd(printer_profiles.load("evolis-primacy2"))
    assert '*PageSize om_card_54x86mm/CR80 card: "<</PageSize[153.07 243.78]' in ppd
    assert '*ImageableArea om_card_54x86mm/CR80 card: "0 0 153.07 243.78"' in ppd
    assert "*OpenUI *Duplex" in ppd and "300dpi" in ppd


@pytest.mark.parametrize("name", ["evolis-primacy2", "fargo-hdp5000"])
def test_card_faces_render_at_the_profile_pixel_size(name: str) -> None:
    from hardware_sim import citizens
    from kiosk.model import DocumentKind
    from kiosk.printing.card_face import card_pdf, render_back, render_front

    profile = printer_profiles.load(name)
    ident, _ = citizens.DEMO[0]
    front = render_front(DocumentKind.KTP_EL, ident, citizens.photo_jpeg(ident), citizens.signature_png(ident),
                         profile.size_px)
    back = render_back(DocumentKind.KTP_EL, profile.size_px)
    assert front.size == back.size == profile.size_px == (1011, 638)
    pdf = card_pdf(front, back, profile.dpi)
    assert b"/Count 2" in pdf  # both faces, one job
    assert pdf.count(b"/MediaBox [ 0 0 242.64 153.12 ]") == 2  # 85.6 x 54 mm in points, each face


def test_print_test_card_faces_match_the_profile() -> None:
    from kiosk.cli.print_test import a4_test_pdf, card_test_faces

    profile = printer_profiles.load("fargo-hdp5000")
    front, back = card_test_faces(profile)
    assert front.size == back.size == profile.size_px
    a4 = a4_test_pdf(printer_profiles.load("office-laser-a4"), "ADM-T")
    assert a4.startswith(b"%PDF") and b"595.28 841.89" in a4


def test_clear_fault_reenables_a_stopped_queue(tmp_path: Path) -> None:
    from drivers.printers import CupsPrinter
    from hardware_sim.spool import SimCups
    cups = SimCups(tmp_path)
    q = cups.add_queue("card")
    q.accepting = False
    q.state_reasons.append("paused")
    printer = CupsPrinter("card_printer", "card", cups)
    assert not printer.status().ready
    printer.clear_fault()
    assert printer.status().ready


def _two_cards(tmp_path: Path) -> tuple[SimCups, Any, CupsPrinter, Path]:
    cups = SimCups(tmp_path / "out")
    q = cups.add_queue("card", seconds_per_job=0.2, hopper=10)
    doc = tmp_path / "card.pdf"
    doc.write_bytes(b"%PDF-1.4 test")
    return cups, q, CupsPrinter("card_printer", "card", cups), doc


def test_a_fault_after_completed_is_taken_as_the_job_s_own_when_no_other_job_can_own_it(tmp_path: Path) -> None:
    """cupsd 2.4's race: the printer aborted the job, cupsd says completed; the printer's jam tells."""
    _cups, q, printer, doc = _two_cards(tmp_path)
    job = printer.submit(str(doc), "adm-job-1")
    q.state_reasons.append("media-jam-error")  # the printer jams; cupsd will still say completed
    result = printer.wait(job, 5, poll_s=0.01)
    assert result.state == "aborted" and "printer-fault-after-completed" in result.reasons


def test_a_jam_of_one_job_does_not_fail_the_good_card_beside_it(tmp_path: Path) -> None:
    """h5's soak: with two jobs on one printer, the second card came out, the driver saw the first one's jam
    just after and called the second aborted; the journal said failed, and the citizen got it printed again."""
    cups, _q, printer, doc = _two_cards(tmp_path)
    first, second = printer.submit(str(doc), "adm-job-1"), printer.submit(str(doc), "adm-job-2")
    assert cups.fail_current("card", "media-jam") == first
    assert printer.wait(first, 5, poll_s=0.01).state == "aborted"
    result = printer.wait(second, 5, poll_s=0.01)
    assert result.ok, result
    assert [p.name for p in cups.printed_files("card")] == [f"{second:05d}-adm-job-2.pdf"]  # the witness agrees


@pytest.mark.parametrize(("fault", "fed"), [("media-empty", False), ("media-jam", True), ("other", True)])
def test_an_aborted_job_says_whether_the_printer_took_a_card(tmp_path: Path, fault: str, fed: bool) -> None:
    """A card the printer never fed (empty hopper) is still in it: the simulated hopper keeps its count."""
    cups, q, printer, doc = _two_cards(tmp_path)
    q.jam_on(1, fault)
    result = printer.wait(printer.submit(str(doc), "adm-job-1"), 5, poll_s=0.01)
    assert (result.state, result.fed) == ("aborted", fed)
    assert q.hopper == (9 if fed else 10) and cups.printed_files("card") == []


def test_the_simulated_hopper_count_loses_no_update_when_cards_move_at_once(tmp_path: Path) -> None:
    """Soak-found (2,000 sessions): a batch loaded between sessions while a cancelled citizen's card still printed
    lost one decrement, and the hopper held one card more than the journal's stock. Each change is one
    read-modify-write now; many at once from many threads end where the arithmetic says."""
    import threading

    cups = SimCups(tmp_path)
    q = cups.add_queue("card", hopper=100)

    def move(delta: int) -> None:
        for _ in range(100):
            q.add_to_hopper(delta)

    threads = [threading.Thread(target=move, args=(d,)) for d in (-1, -1, -1, +1, +1, -1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert q.hopper == 100 - 200
