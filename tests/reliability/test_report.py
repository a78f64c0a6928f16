"""docs/reliability.md is refused when a test behind it failed (tools/reliability_report.py).

The report reads the figures and each module's recorded outcome from a results directory;
here a temporary one, filled by hand, so each refusal is seen without running the suite.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.reliability import results

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setattr(results, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(results, "RUNS", tmp_path / "results" / "runs")
    spec = importlib.util.spec_from_file_location("reliability_report", ROOT / "tools" / "reliability_report.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path / "reliability.md")
    yield module


def soak_figures(lost: int = 0) -> dict[str, object]:
    return {"sessions": 10, "kiosks": 2, "seconds": 1.0, "sessions_per_second": 10.0, "faults_acted": 3,
            "faults": {"card-jam-mid-job": 3}, "faults_missed": {}, "faults_between_sessions": {}, "actions": {},
            "outcomes": {"printed": 10}, "documents_printed": 15, "documents_failed": 0, "rss_mb_first": 100,
            "rss_mb_last": 101, "rss_growth_mb": 1.0, "hopper": [90, 91], "lost": lost, "doubled": 0,
            "witnesses": {"paper": 15, "reports_at_central": 15, "redelivered": 0, "reported_twice": 0},
            "violations": [], "violation_count": 0}


def passed_run(module: str, failed: int = 0) -> None:
    results.record_run(module, {"passed": 3, "failed": failed}, time.time() - 5)


def test_generated_from_passing_runs(report: ModuleType) -> None:
    passed_run("test_ledger")
    passed_run("test_soak")
    results.record("soak", soak_figures())
    assert report.main() == 0
    text = report.OUT.read_text()
    assert "**lost** (witnesses outside the journal) | **0**" in text and "10 sessions on 2 kiosks" in text


def test_refused_when_the_test_behind_a_section_failed(report: ModuleType) -> None:
    passed_run("test_ledger")
    results.record("soak", soak_figures(lost=2))
    passed_run("test_soak", failed=1)
    with pytest.raises(report.Refused, match="test_soak.py: 1 failed"):
        report.gather()
    assert report.main() == 1 and not report.OUT.exists()


def test_refused_without_the_checkers_own_tests(report: ModuleType) -> None:
    passed_run("test_soak")
    results.record("soak", soak_figures())
    with pytest.raises(report.Refused, match="test_ledger"):
        report.gather()


def test_refused_when_figures_are_older_than_the_last_run(report: ModuleType) -> None:
    passed_run("test_ledger")
    results.record("soak", soak_figures())
    time.sleep(0.01)
    results.record_run("test_soak", {"passed": 1}, time.time())  # a later run that did not write the figures
    with pytest.raises(report.Refused, match="older than the last run"):
        report.gather()


def test_refused_when_the_full_soak_did_not_pass(report: ModuleType) -> None:
    passed_run("test_ledger")
    results.record("soak-full", {**soak_figures(lost=1), "passed": False})
    with pytest.raises(report.Refused, match="full soak did not pass"):
        report.gather()
