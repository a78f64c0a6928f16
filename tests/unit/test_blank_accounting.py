"""Every path that touches a blank keeps journal, hopper and printer output in agreement.

The witnesses are the simulated card printer's own: its hopper count (kept on disk by
the spool, never by the kiosk) and the cards that came out of it. The journal's stock must
equal the hopper after each path, the reconciliation must balance, and nothing may be
left ``consumed``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.base import DeviceState, DeviceStatus
from kiosk.cli.main import main as cli_main
from kiosk.journal.reconciliation import from_store
from kiosk.services import Kiosk
from kiosk.staff.maintenance import Maintenance
from kiosk.staff.technicians import TechnicianAccounts
from tests.unit.test_maintenance import FAST
from tests.unit.test_printing import authenticated

FARGO = {"devices.card_printer.profile": "fargo-hdp5000", "devices.card_printer.queue": "card"}


def hopper(k: Kiosk) -> int:
    return int(k.sim.queue("card_printer").hopper)


def cards_out(k: Kiosk) -> int:
    return len(k.sim.cups.printed_files(k.devices.configs["card_printer"].queue))


def stock(k: Kiosk) -> int:
    return int(k.store.query_one("SELECT COUNT(*) FROM blank_cards WHERE state='stock'")[0])


def assert_balanced(k: Kiosk, where: str) -> None:
    rec = from_store(k.store, k.cfg.kiosk.id)
    assert rec.balanced, (where, rec.to_dict())
    assert rec.total.consumed == 0, where
    assert stock(k) == hopper(k), f"{where}: journal stock {stock(k)}, the hopper holds {hopper(k)}"


def print_session(k: Kiosk, who: int = 0) -> None:
    s, _ = authenticated(k, who)
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id)
    k.sessions.end(s.id)


def run_cli_print_test(base: Path, kind: str = "card") -> int:
    cfg = base / "print-test.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{base}/data"\n[sim]\nmode = "inprocess"\nstate_dir = "{base}/sim"\n'
                   f'output_dir = "{base}/sim/output"\n')
    return cli_main(["print-test", kind, "--config", str(cfg), "--sim", "--timeout", "10"])


def test_cli_test_print_takes_its_blank_through_the_journal(make_kiosk: Callable[..., Kiosk], tmp_path: Path) -> None:
    """Issue 12: ``adm-kiosk print-test card`` took a card from the hopper and never journaled it."""
    k = make_kiosk(tmp_path)
    before = stock(k)
    k.stop()
    assert run_cli_print_test(tmp_path) == 0
    k2 = make_kiosk(tmp_path)
    assert cards_out(k2) == 1  # the test card came out of the printer...
    assert stock(k2) == before - 1 == hopper(k2)  # ...and the journal knows its blank left the hopper
    rec = from_store(k2.store, k2.cfg.kiosk.id)
    assert rec.balanced and [s.reason for s in rec.spoiled] == ["test print"]
    assert k2.printing.supply("card_printer", "ribbon") == 299  # the test card used a ribbon panel set
    assert k2.store.query_one("SELECT purpose, state FROM print_jobs")[:] == ("test-print", "printed")
    assert k2.store.query_one("SELECT COUNT(*) FROM outbox WHERE kind='report'")[0] == 0  # nothing for central


def test_a_citizen_card_draws_every_consumable_of_a_retransfer_printer(make_kiosk: Callable[..., Kiosk]) -> None:
    """Issue 12: a citizen's card print decremented the ribbon only; the Fargo film moved only on self-tests."""
    k = make_kiosk(**FARGO)
    print_session(k)
    assert cards_out(k) == 1
    assert k.printing.supply("card_printer", "ribbon") == 500 - cards_out(k)
    assert k.printing.supply("card_printer", "film") == 1000 - cards_out(k)


def test_the_plan_refuses_when_the_film_is_out(make_kiosk: Callable[..., Kiosk]) -> None:
    """Issue 12: the plan never checked film; a card was started that the printer could not finish."""
    k = make_kiosk(**FARGO)
    Maintenance(k, accounts=TechnicianAccounts(k.store, hasher=FAST)).reset_supply("T01", "card_printer", "film", 0)
    s, issued = authenticated(k)
    before = stock(k)
    with pytest.raises(Exception) as exc:
        k.sessions.start_printing(s.id, [d.id for d in s.documents])
    assert "film" in exc.value.info["codes"]  # type: ignore[attr-defined]
    assert stock(k) == before and cards_out(k) == 0
    assert k.central_server.sim.request_state(issued.request_id) == "ready"  # the PIN still works


def test_a_submit_refused_because_cupsd_is_unreachable_returns_the_blank(kiosk: Kiosk,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: cupsd unreachable at submit journaled the blank spoiled although the card never left the hopper.
    A KTP-el's chip is written before the submit: that blank is spoiled and ejected from the encoder, and the
    journal's stock still equals the hopper's own count."""
    s, _ = authenticated(kiosk)
    plan = kiosk.printing.plan([d for d in s.documents if d.medium.value == "card"])
    ready = DeviceStatus(DeviceState.ONLINE, "ready")
    monkeypatch.setattr(kiosk.monitor, "fresh", lambda _name: ready)  # cupsd dies just after the last check
    kiosk.sim.cups.down = True
    out = kiosk.printing.execute(s.id, s.redemption_id, plan)
    assert [p.state for p in out.values()] == ["failed"]
    assert cards_out(kiosk) == 0
    written = 1 if kiosk.printing.personaliser else 0  # the KTP-el's chip, written for this citizen
    assert stock(kiosk) == hopper(kiosk) == 100 - written
    assert from_store(kiosk.store, "x").total.spoiled == written


def test_reconciliation_balances_after_every_path_that_touches_a_blank(make_kiosk: Callable[..., Kiosk],
                                                                        tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    k = make_kiosk(tmp_path)
    m = Maintenance(k, accounts=TechnicianAccounts(k.store, hasher=FAST))
    q = k.sim.queue("card_printer")
    assert_balanced(k, "first start (simulation's seeding)")
    m.load_batch("T01", "ktp-el", "B-9", "KTP-B9-0001", "KTP-B9-0010", 10)
    assert_balanced(k, "a batch loaded")
    print_session(k)
    assert_balanced(k, "a citizen's card printed")
    q.jam_on(1)
    print_session(k, 1)
    assert_balanced(k, "a citizen's card jammed")
    m.clear_fault("T01", "card_printer")
    q.jam_on(1, "other")
    print_session(k, 2)
    assert_balanced(k, "a citizen's card ruined by a printer error mid-print")
    assert any("other" in b.reason for b in from_store(k.store, "x").spoiled)
    m.clear_fault("T01", "card_printer")
    assert m.self_test("T01", "card_printer").ok
    assert_balanced(k, "a self-test card printed")
    q.jam_on(1)
    assert not m.self_test("T01", "card_printer").ok
    m.clear_fault("T01", "card_printer")
    assert_balanced(k, "a self-test card jammed")
    m.spoil_blank("T01", "KTP-B9-0010", "bent")
    assert_balanced(k, "a damaged blank removed")

    # a refused submit (cupsd gone between the readiness check and the submit)
    s, _ = authenticated(k, 2)
    plan = k.printing.plan([d for d in s.documents if d.medium.value == "card"])
    with monkeypatch.context() as mp:
        mp.setattr(k.monitor, "fresh", lambda _name: DeviceStatus(DeviceState.ONLINE, "ready"))
        k.sim.cups.down = True
        k.printing.execute(s.id, s.redemption_id, plan)
        k.sim.cups.down = False
    k.sessions.end(s.id)
    assert_balanced(k, "a refused submit")

    # a technician settles stuck jobs: one the printer printed (re-check), one it never saw (cancel)
    for settle in ("recheck", "cancel"):
        s, _ = authenticated(k, 0)
        card = [d for d in s.documents if d.medium.value == "card"]
        if not card:
            break
        plan = k.printing.plan(card)
        (job,) = k.printing.journal_plan(s.id, s.redemption_id, plan)
        k.printing.jobs.submit(job.id, [card[0].kind.value])
        if settle == "recheck":
            path = tmp_path / "face.pdf"
            path.write_bytes(b"%PDF-1.4\n")
            q.seconds_per_job = 0  # the printer finished it while the kiosk was down
            k.sim.cups.printFile(k.devices.configs["card_printer"].queue, str(path), job.title, {})
            assert m.recheck_job("T01", job.id) == "printed"
        else:
            m.cancel_job("T01", job.id)
        k.sessions.end(s.id)
        assert_balanced(k, f"a stuck job settled by the technician ({settle})")

    k.stop()
    assert run_cli_print_test(tmp_path) == 0
    k = make_kiosk(tmp_path)
    assert_balanced(k, "adm-kiosk print-test card")
    jammed, removed = 3, 1  # two jams and a printer error
    assert cards_out(k) == 100 + 10 - stock(k) - jammed - removed  # every other card that left the hopper came out


def test_cli_test_print_on_a_printer_that_is_not_ready_takes_nothing(make_kiosk: Callable[..., Kiosk],
                                                                      tmp_path: Path) -> None:
    """A test print on a printer that says it cannot print would only spoil a blank: refused, nothing taken."""
    k = make_kiosk(tmp_path)
    k.sim.queue("card_printer").hopper = 0  # someone emptied the hopper: the printer says media-empty
    k.stop()
    assert run_cli_print_test(tmp_path) == 1
    k2 = make_kiosk(tmp_path)
    assert cards_out(k2) == 0 and stock(k2) == 100
    assert k2.store.query_one("SELECT COUNT(*) FROM print_jobs")[0] == 0
