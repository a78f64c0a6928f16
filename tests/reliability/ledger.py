"""The invariants every reliability test ends with, read from what a kiosk leaves behind.

Three independent witnesses are compared: the kiosk's journal (``journal.sqlite3``), the
paper (the simulated printers' output files, each named after its journal job's UUID) and
central (the simulated central's own database). Whatever happened in between (a crash,
a fault, five thousand sessions), they must agree:

- every blank is accounted for: printed, spoiled or still in stock, none ``consumed``;
  with ``hopper=True``, the simulated card printer's own hopper count (kept on disk by
  the spool) equals the journal's stock;
- every sheet or card that came out of a printer has a journal job that says ``printed``,
  and every ``printed`` job has its paper: nothing printed without a record (lost) or
  recorded without printing;
- no document is printed twice (doubled);
- every printed job is reported to central exactly once, and central marks exactly those
  documents printed.

Read-only: it opens the databases with ``mode=ro`` so it can run beside a live kiosk.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

OUTPUT_NAME = re.compile(r"^\d+-adm-(?:job|selftest|print-test)-([0-9a-f]{32})\.")


@dataclass
class Ledger:
    blanks: dict[str, int] = field(default_factory=dict)  # state -> count
    blanks_loaded: int = 0
    jobs: dict[str, int] = field(default_factory=dict)  # state -> count
    paper: int = 0  # cards and sheets that came out of the printers
    reports_at_central: int = 0
    outbox_pending: int = 0
    lost: int = 0  # blanks unaccounted + paper without a record + printed jobs not reported
    doubled: int = 0  # documents printed more than once + reports counted twice
    violations: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        return {"blanks": self.blanks, "jobs": self.jobs, "paper": self.paper,
                "reports_at_central": self.reports_at_central, "lost": self.lost, "doubled": self.doubled}


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def audit(data_dir: Path, output_dir: Path, central_db: Path, kiosk_id: str, settled: bool = True,
          delivered: bool = True, hopper: bool = False) -> Ledger:
    """Compares journal, paper and central. ``settled``: no job may be open (after recovery);
    ``delivered``: the outbox must be empty (after a flush with central up); ``hopper``: the
    simulated hopper must hold what the journal says is in stock."""
    led = Ledger()
    j = _ro(data_dir / "journal.sqlite3")
    try:
        led.blanks = dict(j.execute("SELECT state, COUNT(*) FROM blank_cards GROUP BY state").fetchall())
        led.blanks_loaded = j.execute("SELECT COUNT(*) FROM blank_cards").fetchone()[0]
        led.jobs = dict(j.execute("SELECT state, COUNT(*) FROM print_jobs GROUP BY state").fetchall())
        jobs = {r[0]: r[1:] for r in j.execute(
            "SELECT id, state, document_id, blank_serial, kind, uuid, purpose FROM print_jobs").fetchall()}
        by_uuid = {r[4]: job_id for job_id, r in jobs.items()}
        stock = j.execute("SELECT COUNT(*) FROM blank_cards WHERE state='stock'").fetchone()[0]
        blank_state = dict(j.execute("SELECT serial, state FROM blank_cards").fetchall())
        blank_owner = dict(j.execute("SELECT serial, job_id FROM blank_cards").fetchall())
        led.outbox_pending = j.execute("SELECT COUNT(*) FROM outbox WHERE kind='report' AND sent_at IS NULL").fetchone()[0]
        sent_keys = {r[0] for r in j.execute("SELECT idem_key FROM outbox WHERE kind='report' AND sent_at IS NOT NULL")}
    finally:
        j.close()

    v = led.violations
    accounted = sum(led.blanks.get(s, 0) for s in ("stock", "printed", "spoiled"))
    consumed = led.blanks.get("consumed", 0)
    if settled and consumed:
        v.append(f"{consumed} blank(s) left 'consumed' after recovery")
    led.lost += led.blanks_loaded - accounted - (0 if settled else consumed)
    open_jobs = led.jobs.get("planned", 0) + led.jobs.get("submitted", 0)
    if settled and open_jobs:
        v.append(f"{open_jobs} job(s) left open after recovery")

    # paper <-> journal
    hopper_file = output_dir / ".spool" / "card.hopper"
    if hopper and hopper_file.exists() and int(hopper_file.read_text()) != stock:
        v.append(f"the hopper holds {hopper_file.read_text()} cards, the journal says {stock} in stock")
        led.lost += abs(int(hopper_file.read_text()) - stock)

    paper: Counter[int] = Counter()
    for queue in ("card", "a4"):
        for f in sorted((output_dir / queue).glob("*")) if (output_dir / queue).is_dir() else []:
            m = OUTPUT_NAME.match(f.name)
            if not m:
                v.append(f"paper not printed by the kiosk: {queue}/{f.name}")
                continue
            paper[by_uuid.get(m.group(1), 0)] += 1
    led.paper = sum(paper.values())
    for job_id, n in paper.items():
        state = jobs.get(job_id, ("missing",))[0]
        if state != "printed" and not (not settled and state == "submitted"):
            v.append(f"job {job_id}: printed on paper but the journal says {state}")
            led.lost += 1
        if n > 1:
            v.append(f"job {job_id}: {n} copies on paper")
            led.doubled += n - 1
    printed_docs: Counter[str] = Counter()
    for job_id, (state, doc_id, serial, kind, _uuid, purpose) in jobs.items():
        if state == "printed" and purpose == "citizen":
            printed_docs[doc_id] += 1
            if job_id not in paper:
                v.append(f"job {job_id} ({kind}): journal says printed, no paper came out")
                led.lost += 1
        if serial:
            want = {"printed": "printed" if purpose == "citizen" else "spoiled", "failed": "spoiled"}.get(state)
            # a failed job whose printer never received it gave its blank back: stock, or taken by a later job
            # (that job accounts for it; no paper for this one is checked above)
            returned = state == "failed" and blank_owner.get(serial) != job_id
            if want and not returned and blank_state.get(serial) != want:
                v.append(f"job {job_id}: {state} but its blank {serial} is {blank_state.get(serial)}")
                led.lost += 1
    for doc_id, n in printed_docs.items():
        if n > 1:
            v.append(f"document {doc_id}: printed {n} times")
            led.doubled += n - 1

    # journal <-> central
    c = _ro(central_db)
    try:
        rows = c.execute("SELECT idem_key, document_id, outcome FROM reports WHERE kiosk=?", (kiosk_id,)).fetchall()
        central_printed = {r[0] for r in c.execute(
            "SELECT d.id FROM documents d WHERE d.state='printed' AND d.id IN "
            "(SELECT document_id FROM reports WHERE kiosk=? AND outcome='printed')", (kiosk_id,))}
    finally:
        c.close()
    led.reports_at_central = sum(1 for r in rows if r[2] == "printed")
    keys = Counter(r[0] for r in rows)
    for key, n in keys.items():
        if n > 1:
            v.append(f"report {key} counted {n} times at central")
            led.doubled += n - 1
    for job_id, (state, doc_id, _serial, _kind, job_uuid, purpose) in jobs.items():
        key = f"{kiosk_id}:job:{job_uuid}:printed"
        if purpose != "citizen":
            if keys.get(key):
                v.append(f"job {job_id}: a {purpose} job was reported to central")
            continue
        if state == "printed":
            if keys.get(key, 0) == 0 and (delivered or key in sent_keys):
                v.append(f"job {job_id}: printed but central never heard of it")
                led.lost += 1
            if delivered and doc_id not in central_printed:
                v.append(f"document {doc_id}: printed but central does not mark it printed")
        elif keys.get(key):
            v.append(f"job {job_id}: central was told printed, the journal says {state}")
            led.doubled += 1
    if delivered and led.outbox_pending:
        v.append(f"{led.outbox_pending} report(s) still in the outbox")
    return led
