"""Where the reliability tests leave their figures for ``tools/reliability_report.py``.

Each test writes one JSON file under ``var/reliability/`` (git-ignored); the report script
turns them into docs/reliability.md, so the document says what the last run measured.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(os.environ.get("ADM_RELIABILITY_RESULTS", ROOT / "var" / "reliability"))


def record(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)
    return path


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None
