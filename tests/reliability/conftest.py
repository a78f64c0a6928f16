"""Records each reliability module's outcome (passed, failed, errors) for tools/reliability_report.py.

The figures a module writes (tests/reliability/results.py) mean something only if its tests
passed: the report checks these outcomes and refuses to generate otherwise.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.reliability.results import record_run

_STARTED = time.time()
_OUTCOMES: defaultdict[str, Counter[str]] = defaultdict(Counter)


def _module(report: pytest.TestReport) -> str:
    return Path(report.nodeid.split("::")[0]).stem


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid.replace("\\", "/"):
        return
    if report.when == "call":
        _OUTCOMES[_module(report)][report.outcome] += 1
    elif report.failed:  # a fixture failed in setup or teardown (the fault matrix records its rows in teardown)
        _OUTCOMES[_module(report)]["error"] += 1
    elif report.skipped:
        _OUTCOMES[_module(report)]["skipped"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for module, outcomes in _OUTCOMES.items():
        record_run(module, dict(outcomes), _STARTED)
