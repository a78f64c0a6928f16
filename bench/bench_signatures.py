"""TTE validation benchmark: the time the kiosk spends checking an A4 document's PAdES signature before it prints.

    .venv/bin/python bench/bench_signatures.py [--runs 30]

Documents come from the simulated central's signer (a KK of one page with three family members,
an akta kelahiran), signed under its BSrE-shaped test hierarchy with the intermediate's CRL
embedded, exactly as a kiosk receives them. Each is checked ``--runs`` times by
``DocumentSignatures.check`` (pyHanko: integrity, coverage, chain to the anchor, validity, key
usage, embedded revocation data; on its bounded worker thread), beside a peer measured on the same
bytes in the same run: the sha256 checksum the kiosk already verifies when it fetches a document.
A tampered copy shows what a refusal costs. Medians and p95 over the runs; it never fails on timing.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
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


def first_load() -> float:
    """What the first A4 document of a kiosk process pays once: importing pyHanko (timed in a fresh process)."""
    code = ("import time; t = time.perf_counter(); from kiosk.printing import signatures; "
            "signatures._load_pyhanko(); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


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
        rows = []
        for name, pdf in docs.items():
            verdict = refused(check, pdf)()
            tte_s = timings(refused(check, pdf), args.runs)
            sha_s = timings(lambda pdf=pdf: hashlib.sha256(pdf).hexdigest(), args.runs)
            rows.append((name, len(pdf), "printed" if not isinstance(verdict, str) else f"refused: {verdict}",
                         statistics.median(tte_s), p95(tte_s), statistics.median(sha_s)))
    imports = [first_load() for _ in range(3)]
    print(f"TTE check per A4 document, {args.runs} runs each; once per kiosk process, loading pyHanko: "
          f"{statistics.median(imports) * 1000:.0f} ms (median of 3 fresh processes)")
    print(f"{'document':26s} {'bytes':>7s} {'verdict':18s} {'TTE median':>11s} {'TTE p95':>9s} "
          f"{'sha256 median':>14s} {'ratio':>7s}")
    for name, size, verdict, med, high, sha in rows:
        print(f"{name:26s} {size:7d} {verdict:18s} {med * 1000:8.2f} ms {high * 1000:6.2f} ms "
              f"{sha * 1e6:11.1f} us {med / sha:6.0f}x")
    print("peer: sha256 over the same bytes (the checksum check the kiosk already does when it fetches)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
