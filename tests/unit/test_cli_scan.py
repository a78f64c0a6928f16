"""``adm-kiosk scan``: one line per file, JSON on request, exit 1 when nothing was found."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from hardware_sim import scenes
from kiosk.cli.main import main


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    qr = tmp_path / "phone.jpg"
    cv2.imwrite(str(qr), scenes.render(scenes.SceneSpec(surface="phone", payload="Jalan Raya — Bogor", seed=1)))
    empty = tmp_path / "desk.png"
    cv2.imwrite(str(empty), scenes.render(scenes.SceneSpec(surface="desk", seed=2)))
    junk = tmp_path / "notes.txt"
    junk.write_text("not an image")
    return {"qr": qr, "empty": empty, "junk": junk}


def test_scan_prints_one_line_per_file(images: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", str(images["qr"]), str(images["empty"]), str(images["junk"]), str(images["qr"]) + ".gone"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines == [f"{images['qr']}: QRCode 'Jalan Raya — Bogor'", f"{images['empty']}: no code found",
                     f"{images['junk']}: not an image OpenCV can read", f"{images['qr']}.gone: no such file"]


@pytest.mark.parametrize("backend", ["zxing", "zbar"])
def test_scan_json_and_backends(images: dict[str, Path], capsys: pytest.CaptureFixture[str], backend: str) -> None:
    assert main(["scan", "--json", "--backend", backend, str(images["qr"])]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["codes"] == [{"format": "QRCode", "text": "Jalan Raya — Bogor"}] and result["error"] == ""


def test_scan_exits_1_when_nothing_found(images: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(images["empty"]), str(images["junk"])]) == 1


def test_issue_pin_prints_and_saves_the_whatsapp_qr(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from hardware_sim import citizens
    monkeypatch.setenv("ADM_SIM__STATE_DIR", str(tmp_path / "sim"))
    nik = citizens.DEMO[0][0].nik
    assert main(["sim", "issue-pin", "--nik", nik, "--documents", "kk"]) == 0
    out = capsys.readouterr().out
    payload = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("WhatsApp QR: "))
    png = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("QR image: "))
    assert payload.startswith("ADMWA1|") and Path(png).is_relative_to(tmp_path / "sim")
    capsys.readouterr()
    assert main(["scan", png]) == 0
    assert payload in capsys.readouterr().out
