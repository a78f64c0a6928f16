"""Print jobs: every job ends printed or failed, the journal refuses a second live job per document,
keys are unique across journals, and nothing central sends becomes a file name."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.journal.blanks import BlankCards
from kiosk.journal.jobs import DuplicateJob, PlannedDocument, PrintJobs, Purpose
from kiosk.journal.store import MIGRATIONS, Store
from kiosk.journal.supplies import Supplies
from kiosk.printing.service import NOT_READY, UNCONFIRMED, PlanRefused, PrintPlan
from kiosk.services import Kiosk
from tests.unit.test_printing import authenticated


def open_jobs(k: Kiosk) -> int:
    return int(k.store.query_one("SELECT COUNT(*) FROM print_jobs WHERE state IN ('planned','submitted')")[0])


def lose_cupsd_during_the_card(k: Kiosk, monkeypatch: pytest.MonkeyPatch, back_after: bool) -> None:
    """cupsd goes away once the card job is at the printer (and, ``back_after``, answers again after it)."""
    card = k.devices.get("card_printer")
    real_wait = card.wait

    def wait(job: int, timeout_s: float, **kw: object) -> object:
        k.sim.cups.down = True
        try:
            return real_wait(job, timeout_s, **kw)
        finally:
            k.sim.cups.down = not back_after

    monkeypatch.setattr(card, "wait", wait)


def test_cupsd_lost_mid_job_leaves_the_card_unconfirmed_and_still_prints_the_receipt(
        make_kiosk: Callable[..., Kiosk], monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13 defect 5: the error raised out of the print loop: job left open, later documents planned,
    no report, no receipt, and the citizen was told nothing. Then (h5's fault matrix): the card job a cupsd
    that stayed gone could not confirm was journaled failed and its blank spoiled, though the printer
    finished the card: paper with a "failed" job, and central never heard it printed. It is in doubt: open,
    its blank consumed, no report, until the printer answers again. The KK comes after the card in one lane
    (``parallel = false``: the whole session is one lane; the fault matrix has cupsd lost across two lanes)."""
    k = make_kiosk(**{"session.print_timeout_s": 1, "printing.parallel": False})
    s, issued = authenticated(k)
    hopper = k.sim.queue("card_printer").hopper
    lose_cupsd_during_the_card(k, monkeypatch, back_after=False)
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id)
    assert s.outcome is not None and s.outcome.printed == [] and len(s.outcome.failed) == 2
    assert {p.state for p in s.progress.values()} == {"failed"}
    assert {p.kind.value: p.message for p in s.progress.values()} == {"ktp-el": UNCONFIRMED, "kk": NOT_READY}
    card_job = k.store.query_one("SELECT state, error, blank_serial FROM print_jobs WHERE kind='ktp-el'")
    assert card_job[0] == "submitted" and "cupsd-unreachable" in card_job[1]
    assert k.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (card_job[2],))[0] == "consumed"
    assert k.store.query_one("SELECT COUNT(*) FROM outbox WHERE kind='report'")[0] == 0  # nothing known to report
    assert "Belum tercetak" in k.sim.escpos.receipts[-1].text  # the citizen has a receipt saying so
    assert k.printing.recheck_unconfirmed() == 0  # cupsd still gone: still in doubt
    k.sim.cups.down = False  # cupsd is back: the printer had finished the card
    assert k.printing.recheck_unconfirmed() == 1
    assert open_jobs(k) == 0
    assert len(k.sim.cups.printed_files("card")) == 1 and k.sim.queue("card_printer").hopper == hopper - 1
    assert k.store.query_one("SELECT state FROM blank_cards WHERE serial=?", (card_job[2],))[0] == "printed"
    k.outbox.flush()
    assert [d.outcome for d in k.central_server.sim.deliveries()] == ["printed"]  # the card; the KK was never sent
    assert k.central_server.sim.request_state(issued.request_id) == "ready"  # the KK never printed: the PIN works


def test_a_document_after_a_lost_cupsd_prints_when_the_printer_answers_again(make_kiosk: Callable[..., Kiosk],
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The next document in the lane (here one lane for the session) prints once cupsd answers again."""
    k = make_kiosk(**{"session.print_timeout_s": 1, "printing.parallel": False})
    s, _ = authenticated(k)
    lose_cupsd_during_the_card(k, monkeypatch, back_after=True)
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id)
    assert dict(k.store.query("SELECT kind, state FROM print_jobs")) == {"ktp-el": "failed", "kk": "printed"}
    assert len(k.sim.cups.printed_files("a4")) == 1
    assert open_jobs(k) == 0


def test_document_ids_from_central_never_become_file_names(kiosk: Kiosk) -> None:
    """Issue 13 defect 12: a document ID was used as a file name in the session's work directory."""
    s, _ = authenticated(kiosk)
    kk = next(d for d in s.documents if d.kind.value == "kk")
    kk.id = "../../escaped"
    plan = kiosk.printing.plan([kk])
    out = kiosk.printing.execute(s.id, s.redemption_id, plan)
    assert [p.state for p in out.values()] == ["done"]
    assert not [p for p in kiosk.cfg.data_dir.parent.rglob("*escaped*")]  # nothing written outside, nothing left
    assert len(kiosk.sim.cups.printed_files("a4")) == 1


def test_the_journal_refuses_a_second_live_job_for_a_document(kiosk: Kiosk) -> None:
    """Issue 13 defect 1 (the journal's half): a constraint, not only a query before the insert."""
    s, _ = authenticated(kiosk)
    plan = kiosk.printing.plan(s.documents)
    kiosk.printing.journal_plan(s.id, s.redemption_id, plan)
    with pytest.raises(PlanRefused) as exc:  # a second request for the same documents, whatever it checked before
        kiosk.printing.journal_plan(s.id, s.redemption_id, PrintPlan(list(s.documents)))
    assert exc.value.codes == ["already-printing"]
    with pytest.raises(sqlite3.IntegrityError), kiosk.store.tx() as db:  # even raw SQL cannot add one
        db.execute("INSERT INTO print_jobs(session_id, document_id, kind, printer, state, created_at, updated_at) "
                   "VALUES (?, ?, 'kk', 'document_printer', 'planned', 0, 0)", (s.id, plan.documents[1].id))
    assert kiosk.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 2


def test_a_failed_job_does_not_block_the_document(kiosk: Kiosk) -> None:
    jobs = kiosk.printing.jobs
    with kiosk.store.tx() as db:
        db.execute("INSERT INTO sessions(id, started_at, state) VALUES ('S', 0, 'ended')")
    (first,) = jobs.plan_citizen("S", "R", [PlannedDocument("D1", "kk", "document_printer")])
    with pytest.raises(DuplicateJob):
        jobs.plan_citizen("S", "R", [PlannedDocument("D1", "kk", "document_printer")])
    jobs.finish(first.id, False, "printer not ready")
    (second,) = jobs.plan_citizen("S", "R", [PlannedDocument("D1", "kk", "document_printer")])
    assert second.uuid != first.uuid and len(second.uuid) == 32
    with pytest.raises(ValueError):
        jobs.plan_test(Purpose.CITIZEN, "card_printer", "ktp-el")


def test_reports_from_a_recreated_journal_are_not_taken_for_repeats(make_kiosk: Callable[..., Kiosk],
                                                                    tmp_path: Path) -> None:
    """Issue 12: keys built from job numbers restart at 1 on a re-created journal; central dropped the new
    reports as repeats and printed documents stayed "ready" there."""
    k = make_kiosk(tmp_path)
    for who in (0, 1):
        s, issued = authenticated(k, who)
        if who == 1:
            break
        k.sessions.start_printing(s.id, [d.id for d in s.documents])
        k.sessions.wait_printed(s.id)
        k.outbox.flush()
    k.stop()
    shutil.rmtree(tmp_path / "data")  # a new disk: the journal starts again at job 1
    k2 = make_kiosk(tmp_path)
    s, issued = authenticated(k2, 1)
    k2.sessions.start_printing(s.id, [d.id for d in s.documents])
    k2.sessions.wait_printed(s.id)
    assert k2.store.query_one("SELECT MIN(id) FROM print_jobs")[0] == 1
    k2.outbox.flush()
    sim = k2.central_server.sim
    assert set(sim.document_states(issued.request_id).values()) == {"printed"}
    assert sim.request_state(issued.request_id) == "used"


def test_migration_5_keeps_an_existing_journal_and_its_history(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for sql in MIGRATIONS[:4]:
        db.executescript(sql)
    db.execute("PRAGMA user_version=4")
    db.execute("INSERT INTO sessions(id, started_at, state) VALUES ('S', 0, 'ended')")
    for doc, state in (("D1", "printed"), ("D1", "printed"), ("D2", "failed"), ("D3", "submitted")):  # D1 doubled
        db.execute("INSERT INTO print_jobs(session_id, document_id, kind, printer, state, created_at, updated_at) "
                   "VALUES ('S', ?, 'ktp-el', 'card_printer', ?, 0, 0)", (doc, state))
    db.execute("INSERT INTO blank_cards VALUES ('B1', 'ktp-el', 'X', 'consumed', 4, 0, 0, '')")
    db.close()

    store = Store(path)
    assert store.version == len(MIGRATIONS) >= 5
    assert store.query_one("PRAGMA foreign_keys")[0] == 1
    rows = [tuple(r) for r in store.query("SELECT id, purpose, document_id, state, copy FROM print_jobs ORDER BY id")]
    assert rows == [(1, "citizen", "D1", "printed", 0), (2, "citizen", "D1", "printed", 1),
                    (3, "citizen", "D2", "failed", 0), (4, "citizen", "D3", "submitted", 0)]
    uuids = {r[0] for r in store.query("SELECT uuid FROM print_jobs")}
    assert len(uuids) == 4 and all(len(u) == 32 for u in uuids)
    assert store.query_one("SELECT job_id FROM blank_cards")[0] == 4  # the blank still names its job
    assert len(store.journal_id) == 32
    with pytest.raises(sqlite3.IntegrityError), store.tx() as d:
        d.execute("INSERT INTO print_jobs(session_id, document_id, kind, printer, state, created_at, updated_at) "
                  "VALUES ('S', 'D3', 'ktp-el', 'card_printer', 'planned', 0, 0)")
    journal_id = store.journal_id
    store.close()
    assert Store(path).journal_id == journal_id  # made once


def test_heartbeat_keys_carry_the_journal_id(make_kiosk: Callable[..., Kiosk], tmp_path: Path) -> None:
    """Heartbeats from a re-created journal with the clock set back are not repeats of the old ones either."""
    keys = []
    for name in ("old", "new"):
        k = make_kiosk(tmp_path / name, start=False, **{"status.heartbeat_interval_s": 60})
        assert k.telemetry.heartbeat_tick(1_000_000.0)
        (key,) = [r[0] for r in k.store.query("SELECT idem_key FROM outbox WHERE kind='heartbeat'")]
        assert k.store.journal_id in key
        keys.append(key)
    assert keys[0] != keys[1]


def test_two_connections_planning_one_document_at_once_get_one_job(tmp_path: Path) -> None:
    """The constraint holds across connections (a second process), not only behind the store's lock."""
    path = tmp_path / "journal.sqlite3"
    stores = [Store(path), Store(path)]
    with stores[0].tx() as db:
        db.execute("INSERT INTO sessions(id, started_at, state) VALUES ('S', 0, 'printing')")
    owners = [PrintJobs(s, BlankCards(s), Supplies(s, {}), "K") for s in stores]
    start = threading.Barrier(2)
    results: list[str] = []

    def plan(jobs: PrintJobs) -> None:
        start.wait()
        try:
            jobs.plan_citizen("S", "R", [PlannedDocument("D1", "ktp-el", "card_printer")])
            results.append("planned")
        except DuplicateJob:
            results.append("refused")

    threads = [threading.Thread(target=plan, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == ["planned", "refused"]
    assert stores[0].query_one("SELECT COUNT(*) FROM print_jobs")[0] == 1
    for s in stores:
        s.close()
