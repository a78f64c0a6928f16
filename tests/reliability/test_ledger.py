"""The invariant checker fails when it should: doctored histories, each breaking one rule.

Evidence that can fail: a checker that passes everything proves nothing. Each case starts
from a consistent history (a KTP-el and a KK printed, reported, the hopper one card down),
breaks one thing the way a defect would, and asserts that ``ledger.check`` names it and
counts it lost or doubled. The last test does the same on a real simulated kiosk, doctoring
the witnesses themselves (the paper, the hopper, central's deliveries).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hardware_sim import citizens
from kiosk.services import Kiosk
from tests.reliability import ledger
from tests.reliability.ledger import Blank, Job, JournalView, Paper, Report, Witnesses

KEY_CARD, KEY_KK = "K:job:1:printed", "K:job:2:printed"


def uuid(job: int) -> str:
    """A job's UUID as the journal holds it (32 hex digits): its printer title and file name."""
    return f"{job:032x}"


def title(job: int, purpose: str = "job") -> str:
    return f"adm-{purpose}-{uuid(job)}"


def consistent() -> tuple[JournalView, Witnesses]:
    journal = JournalView(
        jobs={"1": Job("1", "printed", "D-KTP", "ktp-el", "B1", "S1", uuid(1)),
              "2": Job("2", "printed", "D-KK", "kk", None, "S1", uuid(2))},
        blanks={"B1": Blank("B1", "printed", "1", "ktp-el"), "B2": Blank("B2", "stock", kind="ktp-el"),
                "B3": Blank("B3", "stock", kind="ktp-el")},
        reports_sent=[Report(KEY_CARD, "D-KTP", "printed"), Report(KEY_KK, "D-KK", "printed")])
    seen = Witnesses(paper=[Paper("card", title(1)), Paper("a4", title(2))],
                     deliveries=[Report(KEY_CARD, "D-KTP", "printed"), Report(KEY_KK, "D-KK", "printed")],
                     central_printed={"D-KTP", "D-KK"}, hopper=2, chips=["B2", "B3"])
    return journal, seen


def test_a_consistent_history_passes() -> None:
    led = ledger.check(*consistent())
    assert led.violations == [] and led.lost == 0 and led.doubled == 0
    assert led.paper == 2 and led.reports_at_central == 2 and led.hopper == 2


def _blank_spoiled_without_job(j: JournalView, s: Witnesses) -> None:
    j.blanks["B2"] = Blank("B2", "spoiled")
    s.hopper = 1


def _blank_printed_without_job(j: JournalView, s: Witnesses) -> None:
    j.blanks["B2"] = Blank("B2", "printed")
    s.hopper = 1


def _card_without_job(j: JournalView, s: Witnesses) -> None:
    s.paper.append(Paper("card", "someone-elses-card"))


def _card_of_unknown_job(j: JournalView, s: Witnesses) -> None:
    s.paper.append(Paper("card", title(99)))


def _card_out_job_failed(j: JournalView, s: Witnesses) -> None:
    j.jobs["1"] = Job("1", "failed", "D-KTP", "ktp-el", "B1", "S1", uuid(1))
    j.blanks["B1"] = Blank("B1", "spoiled", "1")
    j.reports_sent[0] = Report("K:job:1:failed", "D-KTP", "failed")
    s.deliveries[0] = Report("K:job:1:failed", "D-KTP", "failed")
    s.central_printed.discard("D-KTP")


def _printed_without_paper(j: JournalView, s: Witnesses) -> None:
    s.paper = [p for p in s.paper if p.title != title(2)]


def _hopper_short(j: JournalView, s: Witnesses) -> None:
    s.hopper = 1  # a card left the hopper that the journal does not know of


def _hopper_over(j: JournalView, s: Witnesses) -> None:
    s.hopper = 3  # the journal says a card was used; it is still in the hopper


def _document_printed_twice(j: JournalView, s: Witnesses) -> None:
    s.paper.append(Paper("a4", title(2)))


def _two_printed_jobs(j: JournalView, s: Witnesses) -> None:
    j.jobs["3"] = Job("3", "printed", "D-KK", "kk", None, "S2", uuid(3))
    s.paper.append(Paper("a4", title(3)))


def _printed_not_reported(j: JournalView, s: Witnesses) -> None:
    s.deliveries = [d for d in s.deliveries if d.document_id != "D-KK"]
    s.central_printed.discard("D-KK")
    j.reports_sent = [r for r in j.reports_sent if r.document_id != "D-KK"]


def _reported_not_printed(j: JournalView, s: Witnesses) -> None:
    s.deliveries.append(Report("K:job:7:printed", "D-OTHER", "printed"))
    s.central_printed.add("D-OTHER")


def _reported_twice(j: JournalView, s: Witnesses) -> None:
    s.deliveries.append(Report("K2:job:1:printed", "D-KK", "printed"))  # a second journal's key for the same print


def _delivered_but_never_received(j: JournalView, s: Witnesses) -> None:
    s.deliveries = [d for d in s.deliveries if d.key != KEY_KK]  # any HTTP 200 counted as central's acknowledgement
    s.central_printed.discard("D-KK")


def _consumed_after_recovery(j: JournalView, s: Witnesses) -> None:
    j.blanks["B2"] = Blank("B2", "consumed", "4")
    j.jobs["4"] = Job("4", "submitted", "D-KIA", "kia", "B2", "S3", uuid(4))


def _spoiled_for_printed_job(j: JournalView, s: Witnesses) -> None:
    j.blanks["B1"] = Blank("B1", "spoiled", "1")
    s.hopper = 2


def _selftest_card_not_journaled(j: JournalView, s: Witnesses) -> None:
    j.jobs["5"] = Job("5", "printed", "", "ktp-el", "B3", "", uuid(5), "self-test")
    s.paper.append(Paper("card", title(5, "selftest")))
    s.hopper = 1


def _chip_swapped(j: JournalView, s: Witnesses) -> None:
    s.chips = ["B2", "B9"]  # the counts agree: B3 left unrecorded, a card nobody loaded took its place


def _printed_chip_still_in_hopper(j: JournalView, s: Witnesses) -> None:
    s.chips = ["B1", "B2"]  # B1's card never went (another card left in its stead)


# name -> (doctoring, words the violation must contain, counted as "lost" or "doubled")
CASES: dict[str, tuple[Callable[[JournalView, Witnesses], None], str, str]] = {
    "blank spoiled without a job": (_blank_spoiled_without_job, "spoiled without a job", "lost"),
    "blank printed without a job": (_blank_printed_without_job, "no printed job took it", "lost"),
    "card out of the printer without a job": (_card_without_job, "without a kiosk job", "lost"),
    "card out for a job the journal lacks": (_card_of_unknown_job, "without a kiosk job", "lost"),
    "card out, the journal says failed": (_card_out_job_failed, "the journal says failed", "lost"),
    "printed, no paper": (_printed_without_paper, "no paper came out", "lost"),
    "hopper short": (_hopper_short, "left the hopper without a journal record", "lost"),
    "hopper over": (_hopper_over, "never left the hopper", "lost"),
    "document on paper twice": (_document_printed_twice, "2 copies", "doubled"),
    "document printed by two jobs": (_two_printed_jobs, "2 jobs journaled printed", "doubled"),
    "printed, not reported": (_printed_not_reported, "central never received a report", "lost"),
    "reported, not printed": (_reported_not_printed, "nothing came out", "lost"),
    "reported twice": (_reported_twice, "reported printed 2 times", "doubled"),
    "delivered by the journal, never received": (_delivered_but_never_received, "central never received it", "lost"),
    "blank consumed after recovery": (_consumed_after_recovery, "left 'consumed'", "lost"),
    "spoiled blank of a printed job": (_spoiled_for_printed_job, "its job 1 is printed", "lost"),
    "chip gone, counts agree": (_chip_swapped, "in stock, not in the hopper: B3", "lost"),
    "printed chip still in the hopper": (_printed_chip_still_in_hopper, "journaled used, still in the hopper: B1", "lost"),
    "self-test card without its blank": (_selftest_card_not_journaled, "a test card on blank B3", "lost"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_doctored_history_is_a_violation(case: str) -> None:
    doctor, words, counted = CASES[case]
    journal, seen = consistent()
    doctor(journal, seen)
    led = ledger.check(journal, seen)
    assert any(words in v for v in led.violations), led.violations
    assert getattr(led, counted) >= 1, (counted, led.figures())


def test_a_retry_of_one_report_is_counted_not_a_violation() -> None:
    journal, seen = consistent()
    seen.deliveries.append(Report(KEY_KK, "D-KK", "printed"))  # the acknowledgement was lost; the kiosk sent it again
    led = ledger.check(journal, seen)
    assert led.violations == [] and led.redelivered == 1 and led.reported_twice == 0


def test_a_technician_spoiled_blank_is_accounted() -> None:
    journal, seen = consistent()
    journal.blanks["B2"] = Blank("B2", "spoiled")
    journal.technician_spoiled.add("B2")
    seen.hopper, seen.chips = 1, ["B3"]  # the technician took it out of the printer
    assert ledger.check(journal, seen).violations == []


def test_unsettled_history_allows_work_in_progress() -> None:
    journal, seen = consistent()
    journal.jobs["4"] = Job("4", "submitted", "D-KIA", "kia", "B2", "S3", uuid(4))
    journal.blanks["B2"] = Blank("B2", "consumed", "4")
    assert ledger.check(journal, seen, settled=False, delivered=False).violations == []
    assert ledger.check(journal, seen).violations != []


def test_doctored_witnesses_of_a_real_kiosk(make_kiosk: Callable[..., Kiosk], tmp_path: Path) -> None:
    """A citizen prints a KTP-el and a KK on a simulated kiosk; the witnesses then agree. Each doctored
    witness (a second copy on paper, a card taken from the hopper, a second report to central) is caught."""
    k = make_kiosk(**{"status.heartbeat_interval_s": 0})
    k.background.stop()
    ident, kinds = citizens.DEMO[0]
    issued = k.central_server.sim.issue_pin(ident.nik, kinds)
    s = k.sessions.start(ident.nik, "nik")
    assert k.sessions.submit_pin(s.id, issued.pin).ok
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 30)
    assert s.outcome is not None and len(s.outcome.printed) == 2
    k.sessions.end(s.id)
    k.outbox.flush()
    led = ledger.audit_kiosk(k)
    assert led.violations == [] and led.paper == 2 and led.reports_at_central == 2, led.violations

    sheet = next(Path(k.cfg.sim.output_dir, "a4").glob("*-adm-job-*"))
    shutil.copyfile(sheet, sheet.with_name("99999-" + sheet.name.split("-", 1)[1]))
    assert any("2 copies" in v for v in ledger.audit_kiosk(k).violations)
    sheet.with_name("99999-" + sheet.name.split("-", 1)[1]).unlink()

    k.sim.queue("card_printer").hopper -= 1
    assert any("left the hopper without a journal record" in v for v in ledger.audit_kiosk(k).violations)
    k.sim.queue("card_printer").hopper += 1
    chips = list(k.sim.chips.chips)
    k.sim.chips.chips[0] = type(chips[0])(k.sim.sam_key, "KTP-ELSEWHERE-1")  # a card swapped: the count still agrees
    assert any("in stock, not in the hopper" in v for v in ledger.audit_kiosk(k).violations)
    k.sim.chips.chips[:] = chips

    card_doc = k.store.query_one("SELECT document_id FROM print_jobs WHERE kind='ktp-el'")[0]
    key = next(d.idempotency_key for d in k.central_server.sim.deliveries() if d.document_id == card_doc)
    k.central_server.sim.report(k.cfg.kiosk.id, {"idempotency_key": key, "document_id": card_doc, "outcome": "printed"})
    led = ledger.audit_kiosk(k)  # the same report again (a lost acknowledgement): counted, taken once, no violation
    assert led.violations == [] and led.redelivered == 1, led.violations

    k.central_server.sim.report(k.cfg.kiosk.id, {"idempotency_key": "another-journal:1:printed",
                                                  "document_id": card_doc, "outcome": "printed"})
    led = ledger.audit_kiosk(k)
    assert led.reported_twice == 1 and led.doubled == 1, led.violations
