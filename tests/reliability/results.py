"""Where the reliability tests leave their figures and outcomes for ``tools/reliability_report.py``.

Each test module writes its figures to one JSON file under ``var/reliability/`` (git-ignored),
stamped with the time it was written; ``tests/reliability/conftest.py`` writes, per module that
ran, how many of its tests passed and failed (``var/reliability/runs/<module>.json``). The
report refuses figures whose module failed, or that are older than the module's last run (the
run did not write them again), so docs/reliability.md never shows numbers a failing test made.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(os.environ.get("ADM_RELIABILITY_RESULTS", ROOT / "var" / "reliability"))
RUNS = RESULTS / "runs"


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)
    return path


def record(name: str, data: dict[str, Any]) -> Path:
    return _write(RESULTS / f"{name}.json", {**data, "recorded_at": time.time()})


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def record_run(module: str, outcomes: dict[str, int], started_at: float) -> Path:
    """``outcomes``: passed / failed / error / skipped counts of one module in one pytest run."""
    return _write(RUNS / f"{module}.json", {"module": module, "started_at": started_at, "finished_at": time.time(),
                                            **{k: int(outcomes.get(k, 0)) for k in ("passed", "failed", "error",
                                                                                     "skipped")}})


def load_run(module: str) -> dict[str, Any] | None:
    path = RUNS / f"{module}.json"
    return json.loads(path.read_text()) if path.exists() else None
