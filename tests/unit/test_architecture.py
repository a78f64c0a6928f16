"""The import rules of ARCHITECTURE.md section 1, checked on the source (a rule that is not tested erodes).

ui -> kiosk -> drivers; hardware_sim -> drivers (and kiosk for shared value types); kiosk imports
hardware_sim only lazily (inside a function); nothing imports ui but the CLI; the core imports
no Flask and no hardware library at module level.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARDWARE_LIBS = {"flask", "flask_babel", "flask_wtf", "werkzeug", "cups", "smartcard", "escpos", "cv2", "pyzbar",
                 "zxingcpp", "serial", "usb"}


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at_module_level) for every import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(n) for n in tree.body} | {id(n) for stmt in tree.body if isinstance(stmt, ast.If | ast.Try)
                                        for n in ast.walk(stmt)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, id(node) in top))
    return out


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def root(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("path", files("kiosk"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_web_or_hardware_library_at_module_level(path: Path) -> None:
    bad = [m for m, top in imports(path) if top and root(m) in HARDWARE_LIBS | {"ui", "hardware_sim"}]
    assert bad == [], f"{path.name} imports {bad} at module level"


@pytest.mark.parametrize("path", files("drivers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_drivers_sit_below_the_core(path: Path) -> None:
    bad = [m for m, _ in imports(path) if root(m) in ("kiosk", "ui", "hardware_sim")]
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", files("hardware_sim"), ids=lambda p: str(p.relative_to(ROOT)))
def test_simulators_never_import_the_ui(path: Path) -> None:
    assert [m for m, _ in imports(path) if root(m) == "ui"] == []


def test_only_the_cli_imports_the_ui() -> None:
    offenders = [str(p.relative_to(ROOT)) for pkg in ("kiosk", "drivers", "hardware_sim", "printer_profiles")
                 for p in files(pkg) if any(root(m) == "ui" for m, _ in imports(p)) and "cli" not in p.parts]
    assert offenders == []
