"""The soak in ``make test``: a few hundred citizens with random faults (the full 5,000: tools/soak.py)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.reliability.results import record
from tests.reliability.soak import run_soak

SESSIONS = int(os.environ.get("ADM_SOAK_SESSIONS", "250"))


def test_soak_with_random_faults_loses_and_doubles_nothing(tmp_path: Path) -> None:
    result = run_soak(tmp_path, SESSIONS, seed=2024, fault_rate=0.3)
    summary = result.summary()
    record("soak", summary)
    assert summary["violations"] == [] and summary["lost"] == 0 and summary["doubled"] == 0
    assert result.sessions == SESSIONS
    assert summary["faults_injected"] >= SESSIONS // 5, "the soak must actually inject faults"
    assert summary["documents_printed"] > SESSIONS // 2, "most citizens must get their documents"
    # no leak: after warm-up RSS stays within a generous bound (a leak of one session's documents
    # and photos, ~100 KB, would add 25 MB here)
    assert result.rss_growth_mb < 25, result.rss_mb
