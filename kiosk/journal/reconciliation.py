"""Blank-card reconciliation: every blank loaded is in stock, in flight, printed or spoiled.

Blanks are allocated centrally and scarce, and the regency must account for each one,
spoiled ones included (DOMAIN.md). Two independent records are compared: what was
*declared* when each batch was loaded (the ``blanks-loaded`` audit rows, with the count
the technician confirmed) and what the journal holds card by card (``blank_cards``). They
must agree to the card; a difference is shown, never hidden. Printed blanks are also
checked against the citizens' print jobs that claim them (a test card is spoiled, never
printed). Only the blank owner (kiosk/journal/blanks.py) writes the blanks; this reads.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from kiosk.journal.store import Store

STATES = ("stock", "consumed", "printed", "spoiled")


@dataclass(frozen=True)
class BlankCount:
    kind: str
    batch: str = ""  # "" on a per-kind total line
    declared: int = 0  # the count confirmed when the batch was loaded
    stock: int = 0  # remaining in the hopper
    consumed: int = 0  # taken by a job still in flight
    printed: int = 0
    spoiled: int = 0

    @property
    def journaled(self) -> int:
        return self.stock + self.consumed + self.printed + self.spoiled

    @property
    def difference(self) -> int:
        """Declared minus journaled: positive = blanks missing from the journal."""
        return self.declared - self.journaled

    @property
    def balanced(self) -> bool:
        return self.difference == 0

    def __add__(self, other: BlankCount) -> BlankCount:
        return BlankCount(self.kind if self.kind == other.kind else "", "", self.declared + other.declared,
                          self.stock + other.stock, self.consumed + other.consumed, self.printed + other.printed,
                          self.spoiled + other.spoiled)


@dataclass(frozen=True)
class SpoiledBlank:
    serial: str
    kind: str
    batch: str
    reason: str
    at: float


@dataclass
class Reconciliation:
    kiosk_id: str
    generated_at: float
    batches: list[BlankCount] = field(default_factory=list)
    kinds: list[BlankCount] = field(default_factory=list)
    total: BlankCount = field(default_factory=lambda: BlankCount(""))
    jobs_printed: int = 0  # citizens' print jobs that say they printed on a blank
    spoiled: list[SpoiledBlank] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)  # serials taken by jobs not finished

    @property
    def balanced(self) -> bool:
        return all(b.balanced for b in self.batches) and self.jobs_printed == self.total.printed

    def to_dict(self) -> dict[str, object]:
        def line(b: BlankCount) -> dict[str, object]:
            return {**asdict(b), "journaled": b.journaled, "difference": b.difference, "balanced": b.balanced}
        return {"kiosk_id": self.kiosk_id, "generated_at": self.generated_at, "balanced": self.balanced,
                "total": line(self.total), "kinds": [line(b) for b in self.kinds],
                "batches": [line(b) for b in self.batches], "jobs_printed": self.jobs_printed,
                "in_flight": self.in_flight, "spoiled": [asdict(s) for s in self.spoiled]}


def reconcile(declared: dict[tuple[str, str], int], blanks: Iterable[tuple[str, str, str]], kiosk_id: str = "",
              jobs_printed: int = 0, now: float | None = None) -> Reconciliation:
    """The arithmetic: ``declared`` (kind, batch) -> count; ``blanks``: (kind, batch, state) per card."""
    counts: dict[tuple[str, str], dict[str, int]] = {key: dict.fromkeys(STATES, 0) for key in declared}
    for kind, batch, state in blanks:
        if state not in STATES:
            raise ValueError(f"unknown blank state {state!r}")
        counts.setdefault((kind, batch), dict.fromkeys(STATES, 0))[state] += 1
    batches = [BlankCount(kind, batch, declared.get((kind, batch), 0), **c) for (kind, batch), c in sorted(counts.items())]
    kinds: dict[str, BlankCount] = {}
    for b in batches:
        kinds[b.kind] = kinds[b.kind] + b if b.kind in kinds else BlankCount(b.kind, "", b.declared, b.stock, b.consumed,
                                                                              b.printed, b.spoiled)
    total = BlankCount("")
    for k in kinds.values():
        total = total + k
    return Reconciliation(kiosk_id, time.time() if now is None else now, batches, list(kinds.values()),
                          BlankCount("", "", total.declared, total.stock, total.consumed, total.printed, total.spoiled),
                          jobs_printed)


def from_store(store: Store, kiosk_id: str) -> Reconciliation:
    """Reads both records from the journal in one transaction, so a print in flight cannot skew them."""
    with store.tx() as db:
        declared: dict[tuple[str, str], int] = {}
        for (detail,) in db.execute("SELECT detail FROM audit WHERE category='supplies' AND event='blanks-loaded'"):
            d = json.loads(detail)
            key = (str(d.get("kind", "")), str(d.get("batch", "")))
            declared[key] = declared.get(key, 0) + int(d.get("count", 0))
        blanks = [(r[0], r[1], r[2]) for r in db.execute("SELECT kind, batch, state FROM blank_cards")]
        jobs = int(db.execute("SELECT COUNT(*) FROM print_jobs WHERE state='printed' AND purpose='citizen' "
                              "AND blank_serial IS NOT NULL AND blank_serial IN (SELECT serial FROM blank_cards)"
                              ).fetchone()[0])
        spoiled = [SpoiledBlank(r[0], r[1], r[2], r[3], r[4]) for r in db.execute(
            "SELECT serial, kind, batch, note, updated_at FROM blank_cards WHERE state='spoiled' ORDER BY updated_at, serial")]
        in_flight = [r[0] for r in db.execute("SELECT serial FROM blank_cards WHERE state='consumed' ORDER BY serial")]
    rec = reconcile(declared, blanks, kiosk_id, jobs)
    rec.spoiled = spoiled
    rec.in_flight = in_flight
    return rec


def report_pdf(rec: Reconciliation, *, location: str, technician: str, _: Callable[[str], str] = lambda s: s) -> bytes:
    """A printable A4 report (fpdf2 core fonts: Latin-1 text only, which the labels are)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title("Blank card reconciliation")
    pdf.set_auto_page_break(True, 15)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.cell(0, 9, _latin1(_("Blank card reconciliation")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    when = time.strftime("%d-%m-%Y %H:%M", time.localtime(rec.generated_at))
    for label, value in ((_("Kiosk"), rec.kiosk_id), (_("Location"), location), (_("Generated"), when),
                         (_("Technician"), technician)):
        pdf.cell(0, 6, _latin1(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("helvetica", "B", 11)
    verdict = _("Balanced: every blank is accounted for.") if rec.balanced else _("NOT BALANCED: see the differences below.")
    pdf.cell(0, 7, _latin1(verdict), new_x="LMARGIN", new_y="NEXT")
    heads = [_("Kind"), _("Batch"), _("Loaded"), _("Remaining"), _("In flight"), _("Printed"), _("Spoiled"), _("Difference")]
    widths = [24, 42, 18, 20, 18, 18, 18, 22]
    pdf.set_font("helvetica", "B", 9)
    for h, w in zip(heads, widths, strict=True):
        pdf.cell(w, 7, _latin1(h), border=1)
    pdf.ln()
    pdf.set_font("helvetica", "", 9)
    for b in [*rec.batches, *rec.kinds, rec.total]:
        if not b.batch:
            pdf.set_font("helvetica", "B", 9)
        cells = [b.kind or _("All"), b.batch or _("Total"), b.declared, b.stock, b.consumed, b.printed, b.spoiled,
                 b.difference]
        for value, w in zip(cells, widths, strict=True):
            pdf.cell(w, 6, _latin1(str(value)), border=1)
        pdf.ln()
    pdf.ln(2)
    pdf.set_font("helvetica", "", 9)
    pdf.cell(0, 6, _latin1(f"{_('Print jobs that printed on a blank')}: {rec.jobs_printed}"), new_x="LMARGIN", new_y="NEXT")
    if rec.in_flight:
        pdf.multi_cell(0, 5, _latin1(f"{_('In flight')}: {', '.join(rec.in_flight)}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 7, _latin1(f"{_('Spoiled blanks')} ({len(rec.spoiled)})"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 8)
    for s in rec.spoiled:
        at = time.strftime("%d-%m-%Y %H:%M", time.localtime(s.at))
        pdf.cell(0, 5, _latin1(f"{s.serial}  {s.kind}  {s.batch}  {at}  {s.reason}"[:140]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.set_font("helvetica", "", 10)
    pdf.cell(90, 6, _latin1(_("Technician")) + ": ____________________")
    pdf.cell(90, 6, _latin1(_("Supervisor")) + ": ____________________", new_x="LMARGIN", new_y="NEXT")
    buf = io.BytesIO()
    pdf.output(buf)
    return buf.getvalue()


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
