"""The invariant checker: the kiosk's journal against witnesses the journal does not own.

Jepsen-style (CONVENTIONS.md 19): the journal is the history under test, never its own proof.
Three witnesses outside it say what really happened:

- **the paper**: every card and sheet that came out of the simulated printers
  (``output_dir/<queue>/``), each file named after the job title the kiosk gave it
  (``adm-job-``, ``adm-selftest-`` or ``adm-print-test-`` and the job's UUID);
- **the hopper**: the simulated card printer's own count of blanks still in it, never reset
  between sessions (the journal's ``stock`` must match it);
- **central**: the simulated central's own SQLite, which logs every report delivery it
  receives, repeats of one key included, and marks documents printed.

``check()`` is a pure function of a ``JournalView`` and ``Witnesses`` so the checker itself can
be tested with doctored histories (tests/reliability/test_ledger.py): each rule below is a
violation with a message a person can act on, and counts as *lost* or *doubled*:

- a blank journaled printed or spoiled without a job (or a technician's record) that took it; a
  test print (self-test, ``adm-kiosk print-test``) spoils its blank whether it printed or not;
- a blank still ``consumed`` or a job still open after recovery;
- a hopper count that disagrees with the journal's stock (cards gone unrecorded, or cards
  journaled used that never left the hopper); and, card by card, the KTP-el chips still in the
  printer against the journal's KTP-el stock (the serials that went astray);
- a card or sheet out of a printer without a kiosk job, or whose job the journal does not call
  printed; a printed job with no paper;
- a document on paper more than once (doubled);
- a document printed but never reported to central, reported printed but never on paper, or
  reported printed by two different reports ("reported twice", doubled);
- a report the journal counts as delivered that central never received.

A report delivered again under the same key (a retry after a lost acknowledgement) is not a
violation: central takes it once. It is counted (``redelivered``) so the report can show it.

Read-only: ``audit()`` opens the databases with ``mode=ro`` so it can run beside a live kiosk.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAPER_NAME = re.compile(r"^\d+-(?P<title>.+?)(?:\.[A-Za-z0-9]+)?$")
JOB_TITLE = re.compile(r"^adm-(?P<purpose>job|selftest|print-test)-(?P<uuid>[0-9a-f]{32})$")


@dataclass(frozen=True)
class Job:
    id: str
    state: str
    document_id: str
    kind: str
    blank_serial: str | None = None
    session_id: str = ""
    uuid: str = ""
    purpose: str = "citizen"  # citizen | self-test | test-print


@dataclass(frozen=True)
class Blank:
    serial: str
    state: str
    job_id: str | None = None
    kind: str = ""


@dataclass(frozen=True)
class Report:
    key: str
    document_id: str
    outcome: str


@dataclass
class JournalView:
    """What the journal claims (the history under test)."""

    jobs: dict[str, Job] = field(default_factory=dict)
    blanks: dict[str, Blank] = field(default_factory=dict)
    technician_spoiled: set[str] = field(default_factory=set)  # serials a technician or self-test recorded spoiled
    reports_sent: list[Report] = field(default_factory=list)  # outbox rows marked delivered
    reports_pending: int = 0


@dataclass(frozen=True)
class Paper:
    queue: str
    title: str  # the job title the kiosk gave the printer (``adm-job-<id>``, ``adm-selftest-...``)


@dataclass
class Witnesses:
    """What happened, from peers the journal does not own."""

    paper: list[Paper] = field(default_factory=list)
    deliveries: list[Report] = field(default_factory=list)  # every report central received, repeats included
    central_printed: set[str] = field(default_factory=set)  # documents central marks printed
    hopper: int | None = None  # blanks in the simulated hopper now; None: not known (e.g. after a crash)
    chips: list[str] | None = None  # serials of the KTP-el chips in the simulated printer's hopper; None: not known


@dataclass
class Ledger:
    blanks: dict[str, int] = field(default_factory=dict)  # state -> count
    jobs: dict[str, int] = field(default_factory=dict)  # state -> count
    paper: int = 0  # cards and sheets of citizens' jobs that came out of the printers
    test_prints: int = 0  # self-test and CLI test prints
    hopper: int | None = None
    hopper_gap: int = 0  # the hopper's count minus the journal's stock (0 when they agree)
    reports_at_central: int = 0  # distinct "printed" reports central received
    redelivered: int = 0  # deliveries of a key central had already received
    reported_twice: int = 0  # documents central was told printed by more than one report
    outbox_pending: int = 0
    lost: int = 0
    doubled: int = 0
    violations: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        return {"blanks": self.blanks, "jobs": self.jobs, "paper": self.paper, "test_prints": self.test_prints,
                "hopper": self.hopper, "hopper_gap": self.hopper_gap, "reports_at_central": self.reports_at_central,
                "redelivered": self.redelivered, "reported_twice": self.reported_twice,
                "lost": self.lost, "doubled": self.doubled}


def check(journal: JournalView, seen: Witnesses, settled: bool = True, delivered: bool = True) -> Ledger:
    """Every rule of the module docstring. ``settled``: no job may be open (after recovery or once every
    session finished); ``delivered``: the outbox must be empty (after a flush with central up)."""
    led = Ledger(hopper=seen.hopper, outbox_pending=journal.reports_pending)
    led.blanks = dict(Counter(b.state for b in journal.blanks.values()))
    led.jobs = dict(Counter(j.state for j in journal.jobs.values()))

    def lost(msg: str, n: int = 1) -> None:
        led.violations.append(msg)
        led.lost += n

    jobs = journal.jobs
    by_uuid = {j.uuid: j for j in jobs.values() if j.uuid}
    open_jobs = [j for j in jobs.values() if j.state in ("planned", "submitted")]
    if settled and open_jobs:
        ids = ", ".join(sorted(j.id for j in open_jobs)[:5])
        lost(f"{len(open_jobs)} job(s) still open once all settled (recovery, re-check): {ids}", 0)

    # -- blanks: journal states, then the hopper's own count ------------------------------------
    for b in journal.blanks.values():
        job = jobs.get(b.job_id) if b.job_id else None
        if b.state == "printed" and (job is None or job.state != "printed" or job.blank_serial != b.serial):
            lost(f"blank {b.serial} is journaled printed, but no printed job took it "
                 f"(job {b.job_id or 'none'}: {job.state if job else 'missing'})")
        elif b.state == "spoiled" and job is None and b.serial not in journal.technician_spoiled:
            lost(f"blank {b.serial} is journaled spoiled without a job or a technician's record")
        elif b.state == "spoiled" and job is not None and job.state != "failed" and job.purpose == "citizen":
            lost(f"blank {b.serial} is journaled spoiled, but its job {job.id} is {job.state}")
        elif b.state == "consumed" and settled:
            lost(f"blank {b.serial} left 'consumed' after recovery (job {b.job_id or 'none'})")
    astray = ""  # the KTP-el serials behind a disagreement, card by card
    gone: list[str] = []
    stayed: list[str] = []
    if seen.chips is not None:
        in_hopper = set(seen.chips)
        gone = sorted(b.serial for b in journal.blanks.values()
                      if b.kind == "ktp-el" and b.state == "stock" and b.serial not in in_hopper)
        stayed = sorted(s for s in in_hopper if s in journal.blanks and (
            journal.blanks[s].state in ("printed", "spoiled") or (settled and journal.blanks[s].state == "consumed")))
        astray = "".join([f"; KTP-el in stock, not in the hopper: {', '.join(gone[:5])}" if gone else "",
                          f"; KTP-el journaled used, still in the hopper: {', '.join(stayed[:5])}" if stayed else ""])
    counted = False
    if seen.hopper is not None:
        stock = led.blanks.get("stock", 0)
        in_flight = 0 if settled else led.blanks.get("consumed", 0)
        led.hopper_gap = seen.hopper - stock if seen.hopper < stock or seen.hopper > stock + in_flight else 0
        if seen.hopper < stock:
            lost(f"the hopper holds {seen.hopper} blank(s), the journal says {stock} in stock: "
                 f"{stock - seen.hopper} left the hopper without a journal record{astray}", stock - seen.hopper)
            counted = True
        elif seen.hopper > stock + in_flight:
            extra = seen.hopper - stock - in_flight
            lost(f"the hopper holds {seen.hopper} blank(s), the journal says {stock} in stock: {extra} blank(s) "
                 f"journaled printed or spoiled never left the hopper{astray}", extra)
            counted = True
    if astray and not counted:  # the counts agree, the cards do not (one went astray, another stayed)
        lost(f"the KTP-el chips in the hopper disagree with the journal{astray}", len(gone) + len(stayed))

    # -- paper against the journal ---------------------------------------------------------------
    copies: Counter[str] = Counter()  # document -> cards or sheets on paper
    on_paper: set[str] = set()  # job ids
    for p in seen.paper:
        m = JOB_TITLE.match(p.title)
        job = by_uuid.get(m["uuid"]) if m else None
        if job is None:
            lost(f"{p.queue}: '{p.title}' came out of the printer without a kiosk job")
            continue
        on_paper.add(job.id)
        if job.purpose != "citizen":
            led.test_prints += 1
            if job.blank_serial and journal.blanks.get(job.blank_serial, Blank("", "")).state != "spoiled":
                lost(f"{p.queue}: a test card on blank {job.blank_serial} came out, the journal does not count "
                     "that blank used")
            continue
        led.paper += 1
        copies[job.document_id] += 1
        if job.state != "printed" and not (not settled and job.state == "submitted"):
            lost(f"job {job.id} ({job.kind}) came out of the printer, the journal says {job.state}")
        elif job.blank_serial and job.state == "printed" and \
                journal.blanks.get(job.blank_serial, Blank("", "")).state != "printed":
            lost(f"job {job.id}: a card came out, its blank {job.blank_serial} is not journaled printed")
    for job in jobs.values():
        if job.state == "printed" and job.id not in on_paper:
            lost(f"job {job.id} ({job.kind}): the journal says printed, no paper came out")
    printed_jobs = Counter(j.document_id for j in jobs.values() if j.state == "printed" and j.purpose == "citizen")
    doubled: Counter[str] = Counter()
    for doc, n in copies.items():
        if n > 1:
            led.violations.append(f"document {doc}: {n} copies came out of the printers")
            doubled[doc] = max(doubled[doc], n - 1)
    for doc, n in printed_jobs.items():
        if n > 1:
            led.violations.append(f"document {doc}: {n} jobs journaled printed")
            doubled[doc] = max(doubled[doc], n - 1)

    # -- central against paper and journal --------------------------------------------------------
    received = Counter(d.key for d in seen.deliveries)
    led.redelivered = sum(n - 1 for n in received.values())
    printed_keys: dict[str, set[str]] = defaultdict(set)
    for d in seen.deliveries:
        if d.outcome == "printed":
            printed_keys[d.document_id].add(d.key)
    led.reports_at_central = sum(len(keys) for keys in printed_keys.values())
    for doc, keys in printed_keys.items():
        if len(keys) > 1:
            led.violations.append(f"document {doc}: reported printed {len(keys)} times ({', '.join(sorted(keys))})")
            led.reported_twice += 1
            doubled[doc] = max(doubled[doc], len(keys) - 1)
        if doc not in copies:
            lost(f"document {doc}: central was told printed, nothing came out of the printers")
    for doc in sorted(seen.central_printed - set(copies) - set(printed_keys)):
        lost(f"document {doc}: central marks it printed, nothing came out of the printers")
    for doc in sorted(copies):
        if doc not in printed_keys and (delivered or any(r.document_id == doc and r.outcome == "printed"
                                                         for r in journal.reports_sent)):
            lost(f"document {doc}: printed, but central never received a report of it")
        elif delivered and doc not in seen.central_printed:
            lost(f"document {doc}: printed and reported, but central does not mark it printed")
    for r in journal.reports_sent:
        if r.key not in received:
            lost(f"report {r.key}: the journal counts it delivered, central never received it")
    if delivered and journal.reports_pending:
        lost(f"{journal.reports_pending} report(s) still in the outbox", 0)
    led.doubled = sum(doubled.values())
    return led


# -- reading the history and the witnesses from what a kiosk leaves behind ------------------------

def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def read_journal(journal_db: Path) -> JournalView:
    j = _ro(journal_db)
    try:
        view = JournalView()
        for jid, state, doc, kind, serial, sid, uuid, purpose in j.execute(
                "SELECT id, state, document_id, kind, blank_serial, session_id, uuid, purpose FROM print_jobs"):
            view.jobs[str(jid)] = Job(str(jid), state, doc or "", kind, serial, sid or "", uuid, purpose)
        for serial, state, jid, kind in j.execute("SELECT serial, state, job_id, kind FROM blank_cards"):
            view.blanks[serial] = Blank(serial, state, None if jid is None else str(jid), kind)
        for (detail,) in j.execute("SELECT detail FROM audit WHERE event='blank-spoiled'"):
            view.technician_spoiled.add(str(json.loads(detail).get("serial", "")))
        for key, payload, sent in j.execute("SELECT idem_key, payload, sent_at FROM outbox WHERE kind='report'"):
            if sent is None:
                view.reports_pending += 1
                continue
            data = json.loads(payload)
            view.reports_sent.append(Report(key, str(data.get("document_id", "")), str(data.get("outcome", ""))))
        return view
    finally:
        j.close()


def read_paper(output_dir: Path, queues: tuple[str, ...] = ("card", "a4")) -> list[Paper]:
    """Every file in each queue's output folder; hidden files (the spool) are not paper."""
    paper = []
    for queue in queues:
        folder = output_dir / queue
        for f in sorted(folder.iterdir()) if folder.is_dir() else []:
            if f.name.startswith("."):
                continue
            m = PAPER_NAME.match(f.name)
            paper.append(Paper(queue, m["title"] if m else f.name))
    return paper


def read_central(central_db: Path, kiosk_id: str) -> tuple[list[Report], set[str]]:
    c = _ro(central_db)
    try:
        deliveries = [Report(*r) for r in c.execute(
            "SELECT idem_key, document_id, outcome FROM deliveries WHERE kiosk=? ORDER BY id", (kiosk_id,))]
        printed = {r[0] for r in c.execute(
            "SELECT id FROM documents WHERE state='printed' AND id IN "
            "(SELECT document_id FROM deliveries WHERE kiosk=?)", (kiosk_id,))}
        return deliveries, printed
    finally:
        c.close()


def read_hopper(output_dir: Path, card_queue: str = "card") -> int | None:
    """The simulated card printer's own hopper count, which its spool keeps on disk (None: no such printer)."""
    path = output_dir / ".spool" / f"{card_queue}.hopper"
    return int(path.read_text()) if path.exists() else None


def read_chips(output_dir: Path, card_queue: str = "card") -> list[str] | None:
    """The serials of the KTP-el chips the simulated printer holds (hardware_sim/blanks.py ``ChipHopper``)."""
    path = output_dir / ".spool" / f"{card_queue}.chips"
    try:
        return [str(s["serial"]) if isinstance(s, dict) else str(s) for s in json.loads(path.read_text())["chips"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def audit(data_dir: Path, output_dir: Path, central_db: Path, kiosk_id: str, settled: bool = True,
          delivered: bool = True, hopper: int | bool | None = None, queues: tuple[str, ...] = ("card", "a4"),
          chips: list[str] | None = None) -> Ledger:
    """Reads journal, paper and central from disk and checks them. ``hopper``: the simulated hopper's count
    when the caller has the live simulator, or True to read the count (and the chips) the spool left on disk."""
    if hopper is True:
        hopper = read_hopper(output_dir, queues[0])
        chips = read_chips(output_dir, queues[0]) if chips is None else chips
    elif hopper is False:
        hopper = None
    deliveries, central_printed = read_central(central_db, kiosk_id)
    seen = Witnesses(read_paper(output_dir, queues), deliveries, central_printed, hopper, chips)
    return check(read_journal(data_dir / "journal.sqlite3"), seen, settled, delivered)


def audit_kiosk(k: Any, settled: bool = True, delivered: bool = True) -> Ledger:
    """``audit`` for a live simulated kiosk, with the simulated hopper's own count as a witness."""
    cfg = k.cfg
    hardware = k.sim
    hopper = hardware.queue("card_printer").hopper if hardware is not None else None
    chips = hardware.chips.serials() if hardware is not None else None
    return audit(Path(cfg.data_dir), Path(cfg.sim.output_dir), Path(cfg.sim.state_dir) / "central.db", cfg.kiosk.id,
                 settled, delivered, hopper, (cfg.devices.card_printer.queue, cfg.devices.document_printer.queue), chips)
