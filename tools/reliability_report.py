#!/usr/bin/env python3
"""Writes docs/reliability.md from the figures and outcomes the reliability runs left in var/reliability/.

    .venv/bin/python -m pytest tests/reliability      # figures (var/reliability/*.json) and outcomes (runs/)
    .venv/bin/python tools/soak.py                     # the full soak (var/reliability/soak-full.json)
    .venv/bin/python tools/reliability_report.py       # this: docs/reliability.md

Refuses to write (exit 1, naming why) when a test behind a section failed or errored, when a
section's figures are older than its module's last run (that run did not write them again),
when the full soak did not pass, or when the invariant checker's own tests
(tests/reliability/test_ledger.py) did not pass: every *lost* and *doubled* here comes from that
checker, which compares the journal with witnesses outside it. A section whose test did not
run says so instead of keeping stale numbers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reliability.results import load, load_run  # noqa: E402

OUT = ROOT / "docs" / "reliability.md"
# figures file -> the test module that writes it
SECTIONS = {"crash": "test_crash", "journal_faults": "test_journal_faults", "fault_matrix": "test_fault_matrix",
            "soak": "test_soak", "hostile_parsers": "test_hostile_parsers", "security": "test_security",
            "privacy": "test_privacy"}
CHECKER = "test_ledger"


class Refused(Exception):
    """The report cannot be generated honestly."""


def _passed(module: str) -> dict[str, Any]:
    run = load_run(module)
    if run is None:
        raise Refused(f"no recorded outcome for tests/reliability/{module}.py: run it with pytest first")
    if run["failed"] or run["error"]:
        raise Refused(f"tests/reliability/{module}.py: {run['failed']} failed, {run['error']} error(s) in its last run")
    if not run["passed"]:
        raise Refused(f"tests/reliability/{module}.py: no test passed in its last run")
    return run


def gather() -> dict[str, Any]:
    """Every section's figures, each checked against its module's last outcome."""
    _passed(CHECKER)
    figures: dict[str, Any] = {}
    for name, module in SECTIONS.items():
        data = load(name)
        if data is None:
            continue
        run = _passed(module)
        if float(data.get("recorded_at", 0)) < float(run["started_at"]):
            raise Refused(f"var/reliability/{name}.json is older than the last run of {module}.py, which did not "
                          "write it again (deselected?): run the whole module")
        figures[name] = data
    full = load("soak-full")
    if full is not None:
        if not full.get("passed"):
            raise Refused(f"the full soak did not pass: lost {full.get('lost')}, doubled {full.get('doubled')}, "
                          f"{full.get('violation_count')} violation(s); see tools/soak.py's output")
        figures["soak-full"] = full
    return figures


def _missing(name: str) -> str:
    return f"_(not run: no figures in var/reliability/{name}.json)_\n"


def summary(f: dict[str, Any]) -> list[str]:
    matrix_rows = f.get("fault_matrix", {}).get("rows", [])
    soaks = [s for s in (f.get("soak-full"), f.get("soak")) if s]
    lost = sum(int(s["lost"]) for s in soaks) + sum(int(r["lost"]) for r in matrix_rows) + \
        int(f.get("crash", {}).get("lost", 0))
    doubled = sum(int(s["doubled"]) for s in soaks) + sum(int(r["doubled"]) for r in matrix_rows) + \
        int(f.get("crash", {}).get("doubled", 0))
    mid = [r for r in matrix_rows if r["step"] == "mid-job"]
    between = [r for r in matrix_rows if r["step"] != "mid-job"]
    acted = sum(1 for r in between if r["acted"])
    soak_acted = sum(int(s["faults_acted"]) for s in soaks)
    witness = {k: sum(int(s["witnesses"][k]) for s in soaks) for k in ("paper", "reports_at_central", "redelivered",
                                                                       "reported_twice")}
    inputs = f.get("hostile_parsers", {}).get("total", 0) + f.get("security", {}).get("citizen_ui_generated_requests", 0)
    crash = f.get("crash", {})
    privacy = f.get("privacy", {})
    return [
        "| figure | value |", "|---|---|",
        f"| faults mid-job that acted (matrix cases + soak) | {sum(1 for r in mid if r['acted']) + soak_acted} "
        f"({len(mid)} matrix cases, {soak_acted} in the soaks) |",
        f"| faults between steps that acted / switched (matrix) | {acted} / {len(between)} |",
        f"| crashes survived (SIGKILL, incl. during recovery) | {crash.get('crashes_survived', 0)} "
        f"in {crash.get('scenarios', 0)} scenarios |",
        f"| journal faults (full, full tmpfs, busy, read-only) | {len(f.get('journal_faults', {}).get('faults', {}))} |",
        f"| sessions soaked, concurrently | {sum(int(s['sessions']) for s in soaks)} "
        f"({f.get('soak-full', {}).get('sessions', 0)} full soak + {f.get('soak', {}).get('sessions', 0)} in make test) |",
        f"| soak witnesses: paper out / reports at central / redelivered / reported twice | {witness['paper']} / "
        f"{witness['reports_at_central']} / {witness['redelivered']} / {witness['reported_twice']} |",
        f"| hostile inputs tried, each counted once (parsers + generated UI requests) | {inputs} |",
        f"| privacy scan: files / needles / found | {privacy.get('files_scanned', 0)} / {privacy.get('needles', 0)} / "
        f"{len(privacy.get('found', []))} |",
        f"| **lost** (witnesses outside the journal) | **{lost}** |",
        f"| **doubled** (witnesses outside the journal) | **{doubled}** |",
    ]


def crash_section(crash: dict[str, Any] | None) -> list[str]:
    if not crash:
        return [_missing("crash")]
    md = ["`tests/reliability/test_crash.py` runs the kiosk in a subprocess (`tests/reliability/crash_child.py`)",
          "and kills it with SIGKILL at a named point (`ADM_CRASH_AT=<point>[:<n>]`, kiosk/faultpoints.py), in",
          "the card job (`:1`) or the A4 job (`:2`) of a citizen printing a KTP-el and a KK. The in-process",
          "printer spool keeps its jobs on disk (as cupsd does), so the printer outlives the kiosk. The kiosk",
          "starts again (recovery asks the printer about every open job), is sometimes killed again during",
          "recovery, then the citizen returns with the same PIN. The ledger compares journal, paper and",
          "central's deliveries, and the simulated hopper's count, which the spool keeps on disk as a real",
          "hopper keeps its cards.", "",
          f"{crash['scenarios']} scenarios, {crash['crashes_survived']} kills, {crash['failures']} failures, "
          f"lost {crash['lost']}, doubled {crash['doubled']} ({crash['seconds']} s).", "",
          "| killed at | blanks after | the citizen's return visit |", "|---|---|---|"]
    for name, r in crash["by_scenario"].items():
        v = r["return_visit"]
        visit = (f"PIN valid; offered {', '.join(v['offered'])}; printed {', '.join(v['printed']) or '-'}"
                 if v.get("redeemed") else f"nothing left to print ({v.get('error')})")
        md.append(f"| `{name}` | {', '.join(f'{k} {n}' for k, n in sorted(r['blanks'].items()))} | {visit} |")
    return [*md, ""]


def journal_section(journal: dict[str, Any] | None) -> list[str]:
    if not journal:
        return [_missing("journal_faults")]
    md = ["`tests/reliability/test_journal_faults.py`: the journal's disk fills up (`PRAGMA max_page_count`, and",
          "a real 4 MB tmpfs filled with a file when root can mount one), another process holds the write lock,",
          "or the connection turns read-only. The store notes the SQLite error (`Store.fault`), the kiosk",
          "goes out of service with the reason below, nothing is consumed that the journal cannot record,",
          "`PRAGMA integrity_check` stays `ok`, and a 64 KB probe write every few seconds returns the kiosk to",
          "service by itself once the disk is back.", "", "| fault | availability reason | welcome screen |",
          "|---|---|---|"]
    md += [f"| {f} | `{r['reason']}` | {r['welcome_status']} |" for f, r in journal["faults"].items()]
    return [*md, ""]


def matrix_section(matrix: dict[str, Any] | None) -> list[str]:
    if not matrix:
        return [_missing("fault_matrix")]
    rows = matrix["rows"]
    md = ["`tests/reliability/test_fault_matrix.py`, through the real screens (messages as shown, in Bahasa",
          "Indonesia), for a citizen printing a KTP-el and a KK. Printers take realistic seconds times",
          f"{matrix['scale']} ({matrix['step_scale']} between steps). **Mid-job**: the fault waits until a job is at",
          "the printer; each case asserts",
          "what the citizen sees per document and fails if the fault found no job. **Between steps**: each",
          "simulator switch just before a step; *acted* when the visit or the journal differs from the",
          "fault-free visit. After each case the technician clears the fault (the maintenance service), the",
          "outbox drains, and the ledger must balance against paper, hopper and central.", "",
          "| fault | step | acted | what the citizen sees | what the journal says |", "|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["step"] != "mid-job", r["fault"], r["step"])):
        md.append(f"| {r['fault']} | {r['step']} | {'yes' if r['acted'] else 'no'} | "
                  f"{'<br>'.join(r['citizen_sees']) or '-'} | {r['journal']} |")
    return [*md, ""]


def soak_section(full: dict[str, Any] | None, small: dict[str, Any] | None) -> list[str]:
    md = ["`tests/reliability/soak.py`: kiosks running at once, each a stream of citizens with double taps on",
          "\"Cetak\" and on the PIN, cancels while the print request is handled, seeded faults mid-job (a thread",
          "waits for a job at the printer; one that finds none is not counted), faults between sessions and",
          "central outages while the kiosk's own loop delivers the outbox. Lost and doubled come from the",
          "ledger per kiosk: paper, the simulated hopper's count (never reset) and central's deliveries; and",
          "per session, that printing ends within its bound and nothing of a cancelled session reaches the",
          "printer afterwards.", ""]
    for label, s, name in (("Full soak (`make soak`)", full, "soak-full"), ("In `make test`", small, "soak")):
        if not s:
            md.append(f"**{label}**: " + _missing(name))
            continue
        md += [f"**{label}**: {s['sessions']} sessions on {s['kiosks']} kiosks in {s['seconds']} s = "
               f"{s['sessions_per_second']} sessions/s; {s['faults_acted']} faults acted mid-job "
               f"({sum(s['faults_missed'].values())} found no job and are not counted), "
               f"{sum(s['faults_between_sessions'].values())} switched between sessions; {s['documents_printed']} "
               f"documents printed, {s['documents_failed']} not printed; RSS {s['rss_mb_first']} -> "
               f"{s['rss_mb_last']} MB, growth after warm-up {s['rss_growth_mb']} MB; hopper at the end "
               f"{', '.join(str(h) for h in s['hopper'])}; lost {s['lost']}, doubled {s['doubled']}.", "",
               "Outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items())), "",
               "Concurrent actions: " + ", ".join(f"{k} {v}" for k, v in sorted(s["actions"].items())), "",
               "Faults that acted: " + ", ".join(f"{k} {v}" for k, v in sorted(s["faults"].items())), ""]
    return md


def hostile_section(hostile: dict[str, Any] | None, security: dict[str, Any] | None) -> list[str]:
    md: list[str] = []
    if hostile:
        md += ["`tests/reliability/test_hostile_parsers.py` (hypothesis), distinct inputs each counted once: " + ", ".join(
            f"{k} {v}" for k, v in sorted(hostile["inputs"].items())) + f"; {hostile['total']} in all, each "
               "answered with a result or the parser's own refusal. TLV and e-KTP answers: tests/unit/test_tlv_fuzz.py;",
               "the status API: schemathesis in tests/unit/test_status_api_schemathesis.py.", ""]
    else:
        md.append(_missing("hostile_parsers"))
    if security:
        md += ["`tests/reliability/test_security.py`: PIN guessing stops after "
               f"{security.get('pin_guesses_per_nik_before_lockout')} wrong PINs on one NIK and after "
               f"{security.get('pin_guesses_across_niks_before_kiosk_lockout')} across NIKs (configured limit), before",
               "central is asked again; missing or forged CSRF 400; forged session cookie = no session; forged",
               "bearer token 401; oversized body 413; path traversal in /static 404; a non-loopback caller 403",
               "(a remote form post reads 400: the CSRF hook runs first); CSP `script-src 'self'` without",
               "`unsafe-*`, `frame-ancestors 'none'`, `no-store` on every page; no inline script in any template.",
               f"{security.get('citizen_ui_generated_requests')} generated requests against every citizen route:",
               "statuses " + ", ".join(f"{k}: {v}" for k, v in security.get("citizen_ui_statuses", {}).items())
               + " (never a 5xx).", ""]
    return md


def privacy_section(privacy: dict[str, Any] | None) -> list[str]:
    if not privacy:
        return [_missing("privacy")]
    return [f"`tests/reliability/test_privacy.py`: {privacy['citizens']} citizens (e-KTP read, PIN, print, one jam, one",
            "walking away); then every file of the kiosk's data directory (journal, WAL, shared memory, keys) is",
            f"searched, live and after stop, for {privacy['needles']} needles (full NIKs as text and UTF-16, names,",
            "KK number, photo, signature and A4 PDF bytes), and the run's log lines for NIKs, names and PINs:",
            f"found {len(privacy['found'])}.", ""]


def render(f: dict[str, Any]) -> str:
    md = ["# Reliability and security: figures and how to reproduce them", "",
          f"Generated by `tools/reliability_report.py` on {time.strftime('%Y-%m-%d %H:%M')} from the last run's",
          "figures in `var/reliability/`, only from tests that passed. Do not edit by hand: run the tests and the",
          "script again.", "", "## Summary", "", *summary(f), "",
          "*Lost* and *doubled* come from `tests/reliability/ledger.py`, which compares the kiosk's journal with",
          "witnesses it does not own: the paper (each card and sheet out of the simulated printers, named after",
          "its job), the simulated hopper's own count of blanks, and the simulated central's log of every report",
          "delivery it received, repeats included. *Lost*: a blank that left the hopper unrecorded or was",
          "journaled used without leaving it, paper without a printed job, a printed job without paper, a print",
          "central never heard of, a report central has of a print that never came out, a report the journal",
          "counts delivered that central never received. *Doubled*: a document on paper twice, or reported",
          "printed by two reports. `tests/reliability/test_ledger.py` feeds the checker doctored histories and",
          "doctored witnesses of a real kiosk and sees each rule fail; this document is not generated unless",
          "those tests passed.", "",
          "## How to reproduce", "", "```sh",
          ".venv/bin/python -m pytest tests/reliability          # checker, crash, matrix, soak (small), hostile, ...",
          "make soak                                             # checker tests, the full soak, this document",
          ".venv/bin/python tools/reliability_report.py          # this document alone", "```", "",
          "## Crash safety", "", *crash_section(f.get("crash")),
          "## Journal faults", "", *journal_section(f.get("journal_faults")),
          "## Fault matrix", "", *matrix_section(f.get("fault_matrix")),
          "## Concurrent soak", "", *soak_section(f.get("soak-full"), f.get("soak")),
          "## Hostile input", "", *hostile_section(f.get("hostile_parsers"), f.get("security")),
          "## Privacy", "", *privacy_section(f.get("privacy"))]
    return "\n".join(md) + "\n"


def main() -> int:
    try:
        figures = gather()
    except Refused as exc:
        print(f"docs/reliability.md not written: {exc}", file=sys.stderr)
        return 1
    OUT.write_text(render(figures))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
