"""TTE validation benchmark: the time the kiosk spends checking an A4 document's PAdES signature before it prints.

    .venv/bin/python bench/bench_signatures.py [--runs 30]

Documents come from the simulated central's signer (a KK of one page with three family members,
an akta kelahiran), signed under its BSrE-shaped test hierarchy with the intermediate's CRL
embedded, exactly as a kiosk receives them. Each is checked ``--runs`` times by
``DocumentSignatures.check`` (pyHanko: integrity, coverage, chain to the anchor, validity, key
usage, embedded revocation data; in the validator process, warm), beside the same validation run
in-process as the kiosk did before the validator had a process of its own (what the round trip
costs), and a peer measured on the same bytes in the same run: the sha256 checksum the kiosk
already verifies when it fetches a document. A tampered copy shows what a refusal costs. The
first document after a start or an idle stop also pays for the validator's start (Python and
pyHanko's imports), timed over fresh validators. Medians and p95 over the runs; it never fails on timing.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardware_sim import citizens  # noqa: E402
from hardware_sim.central_tte import CentralTte  # noqa: E402
from hardware_sim.documents import a4_pdf, tampered  # noqa: E402
from kiosk.model import DocumentKind  # noqa: E402
from kiosk.printing.signature_worker import validate  # noqa: E402
from kiosk.printing.signatures import DocumentSignatures, TteInvalid  # noqa: E402


def timings(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def refused(check: DocumentSignatures, pdf: bytes) -> Callable[[], object]:
    def run() -> object:
        try:
            return check.check(pdf)
        except TteInvalid as exc:
            return exc.why
    return run


def in_process(check: DocumentSignatures, pdf: bytes) -> Callable[[], object]:
    """The same validation in the benchmark's own process: the kiosk's check before it had a validator process."""
    def run() -> object:
        try:
            return validate(pdf, check.anchors)
        except TteInvalid as exc:
            return exc.why
    return run


def first_check(check: DocumentSignatures, pdf: bytes) -> float:
    """The first document's check: starting a validator process (stopped before), then checking."""
    check.stop()
    t = time.perf_counter()
    refused(check, pdf)()
    return time.perf_counter() - t


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 20 else max(xs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="adm-bench-tte-") as tmp:
        tte = CentralTte(Path(tmp) / "tte")
        check = DocumentSignatures.from_files([tte.trust_anchor])
        holder = citizens.DEMO[1][0]
        members = [ident for ident, _ in citizens.DEMO[:3]]
        docs = {
            "KK, 1 page, 3 members": tte.sign(a4_pdf(DocumentKind.KK, citizens.KK_NUMBER, holder, members,
                                                     "ADMDOC1|kk|3201012402240011|DBENCH0000001|0"))[0],
            "Akta kelahiran, 1 page": tte.sign(a4_pdf(DocumentKind.AKTA_KELAHIRAN, "3201-LT-010002-AKTA", holder, [],
                                                      "ADMDOC1|akta-kelahiran|3201-LT|DBENCH0000002|0"))[0],
        }
        docs["KK, tampered (refused)"] = tampered(docs["KK, 1 page, 3 members"])
        firsts = [first_check(check, docs["KK, 1 page, 3 members"]) for _ in range(5)]
        rows = []
        for name, pdf in docs.items():
            verdict = refused(check, pdf)()
            tte_s = timings(refused(check, pdf), args.runs)
            old_s = timings(in_process(check, pdf), args.runs)
            sha_s = timings(lambda pdf=pdf: hashlib.sha256(pdf).hexdigest(), args.runs)
            rows.append((name, len(pdf), "printed" if not isinstance(verdict, str) else f"refused: {verdict}",
                         statistics.median(tte_s), p95(tte_s), statistics.median(old_s), statistics.median(sha_s)))
        check.stop()
        tte.stop()
    print(f"TTE check per A4 document, {args.runs} runs each; the first KK after a validator start (or an idle "
          f"stop): {statistics.median(firsts) * 1000:.0f} ms (median of {len(firsts)} fresh validators)")
    print(f"{'document':26s} {'bytes':>7s} {'verdict':18s} {'TTE median':>11s} {'TTE p95':>9s} "
          f"{'in-process':>11s} {'sha256 median':>14s} {'ratio':>7s}")
    for name, size, verdict, med, high, old, sha in rows:
        print(f"{name:26s} {size:7d} {verdict:18s} {med * 1000:8.2f} ms {high * 1000:6.2f} ms "
              f"{old * 1000:8.2f} ms {sha * 1e6:11.1f} us {med / sha:6.0f}x")
    print("TTE: in the validator process, warm; in-process: the same validation in this process (the old check)")
    print("peer: sha256 over the same bytes (the checksum check the kiosk already does when it fetches)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
