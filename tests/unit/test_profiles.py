"""Printer profiles: every shipped profile loads, and each kind of mistake is refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

import printer_profiles
from printer_profiles import ProfileError, parse

CARD = """inherits = "base"
model = "Test card"
[supplies.ribbon]
capacity = 300
low_at = 30
unit = "prints"
"""
BASE = """abstract = true
kind = "card"
media = "om_card_54x86mm"
width_mm = 85.6
height_mm = 54.0
dpi = 300
duplex = true
duty_limit_per_day = 100
[supplies.hopper]
capacity = 100
low_at = 10
unit = "cards"
[cups.options]
media = "om_card_54x86mm"
sides = "two-sided-long-edge"
"""


def test_every_profile_loads_with_what_its_kind_needs() -> None:
    loaded = {n: printer_profiles.load(n) for n in printer_profiles.printers()}
    assert set(loaded) == {"evolis-primacy2", "fargo-hdp5000", "office-laser-a4", "office-inkjet-a4",
                           "thermal-80mm", "thermal-58mm"}
    for p in loaded.values():
        if p.kind == "card":
            assert p.media == "om_card_54x86mm" and p.dpi == 300 and p.duplex
            assert p.size_px == (1011, 638)  # 85.6 x 54 mm at 300 dpi
            assert p.duty_limit_per_day > 0 and "hopper" in p.supplies and "ribbon" in p.supplies
    assert "film" in loaded["fargo-hdp5000"].supplies  # retransfer: film as well as ribbon
    assert "film" not in loaded["evolis-primacy2"].supplies  # direct-to-card
    assert loaded["office-laser-a4"].media == "iso_a4_210x297mm"
    assert loaded["thermal-80mm"].escpos["width_dots"] == 576 and loaded["thermal-80mm"].escpos["near_end_sensor"]
    assert loaded["thermal-58mm"].escpos["width_dots"] == 384 and loaded["thermal-58mm"].escpos["columns"] == 32


def test_receipt_capability_profiles_exist_in_python_escpos() -> None:
    from escpos.capabilities import CAPABILITIES

    for name in ("thermal-80mm", "thermal-58mm"):
        esc = printer_profiles.load(name).escpos
        cap = CAPABILITIES["profiles"][esc["capabilities"]]
        assert cap["features"].get("qrCode"), name  # the receipt's QR is printed natively
        pixels = cap.get("media", {}).get("width", {}).get("pixels")
        assert not isinstance(pixels, int) or pixels >= esc["width_dots"]


def test_base_profiles_are_not_printers() -> None:
    assert "base-card" not in printer_profiles.printers()
    with pytest.raises(ProfileError, match="base profile"):
        printer_profiles.load("base-card")


def _write(root: Path, **files: str) -> Path:
    for name, text in files.items():
        (root / f"{name.replace('_', '-')}.toml").write_text(text)
    return root


@pytest.mark.parametrize(("card", "base", "message"), [
    (CARD, BASE, None),
    ("colour = true\n" + CARD, BASE, "unknown keys"),
    (CARD.replace('inherits = "base"', 'inherits = "nope"'), BASE, "no printer profile named 'nope'"),
    (CARD, BASE.replace('kind = "card"', 'kind = "plotter"'), "kind must be one of"),
    (CARD, BASE.replace("dpi = 300", "dpi = 0"), "bad geometry"),
    (CARD, BASE.replace("low_at = 10", "low_at = 100"), "low_at must be below capacity"),
    (CARD, BASE.replace("dpi = 300", 'dpi = "high"'), "missing or bad field"),
    (CARD, BASE.replace("duty_limit_per_day = 100", "duty_limit_per_day = 0"), "duty_limit_per_day"),
    (CARD, BASE.replace('media = "om_card_54x86mm"\nsides', 'media = "iso_a4_210x297mm"\nsides'), "media must be"),
    (CARD, BASE.replace('sides = "two-sided-long-edge"', ""), "sides"),
    (CARD.replace("[supplies.ribbon]", "[supplies.film]"), BASE, "supplies.ribbon"),
    (CARD, BASE.replace("[supplies.hopper]", "[supplies.tray]"), "supplies.hopper"),
    (CARD.replace('unit = "prints"', 'unit = "prints"\nper_print = 301'), BASE, "per_print must be between"),
    (CARD.replace('unit = "prints"', 'unit = "prints"\nper_print = true'), BASE, "must be integers"),
    (CARD.replace('unit = "prints"', 'unit = "prints"\nper_card = 1'), BASE, r"\[supplies.ribbon\] unknown keys"),
    (CARD, BASE.replace('unit = "cards"', 'unit = "cards"\nper_print = 1'), "hopper.*takes no per_print"),
    (CARD.replace("capacity = 300\n", ""), BASE, "needs capacity"),
])
def test_validation_errors(tmp_path: Path, card: str, base: str, message: str | None) -> None:
    root = _write(tmp_path, card=card, base=base)
    if message is None:
        assert parse("card", root).model == "Test card"
    else:
        with pytest.raises(ProfileError, match=message):
            parse("card", root)


def test_what_one_print_consumes_comes_from_the_profile() -> None:
    fargo = printer_profiles.load("fargo-hdp5000")
    assert {k: v.per_print for k, v in fargo.supplies.items()} == {"hopper": 0, "ribbon": 1, "film": 1}
    inkjet = printer_profiles.load("office-inkjet-a4")  # paper's per_print is inherited from the laser profile
    assert inkjet.supplies["paper"].per_print == 1 and inkjet.supplies["paper"].capacity == 100


def test_inheritance_loop_is_refused(tmp_path: Path) -> None:
    root = _write(tmp_path, a='inherits = "b"\n', b='inherits = "a"\n')
    with pytest.raises(ProfileError, match="loops"):
        parse("a", root)


@pytest.mark.parametrize(("escpos", "message"), [
    ('capabilities = "default"\nwidth_dots = 576\ncolumns = 48\nnear_end_sensor = true', None),
    ('capabilities = "default"\nwidth_dots = 576\ncolumns = 48', "near_end_sensor"),
    ('capabilities = "default"\nwidth_dots = 100\ncolumns = 48\nnear_end_sensor = true', "8 dots per column"),
    ('capabilities = "default"\nwidth_dots = 576\ncolumns = 48\nnear_end_sensor = "yes"', "true or false"),
])
def test_receipt_validation(tmp_path: Path, escpos: str, message: str | None) -> None:
    text = ('kind = "receipt"\nmodel = "r"\nmedia = "roll_80mm"\nwidth_mm = 80.0\nheight_mm = 0.0001\n'
            f'dpi = 203\n[escpos]\n{escpos}\n')
    root = _write(tmp_path, r=text)
    if message is None:
        assert parse("r", root).escpos["columns"] == 48
    else:
        with pytest.raises(ProfileError, match=message):
            parse("r", root)


def test_every_printer_says_how_long_it_takes() -> None:
    """The simulator's realistic timing and the print benchmark's physical limit come from here."""
    evolis, fargo = printer_profiles.load("evolis-primacy2"), printer_profiles.load("fargo-hdp5000")
    assert evolis.job_s(2) == 26.0 and evolis.job_s(2, warm=True) == 21.0  # warm-up + encode + two sides
    assert 15 <= evolis.job_s(2, warm=True) <= 30 < fargo.job_s(2)  # direct-to-card 15-30 s; retransfer longer
    laser = printer_profiles.load("office-laser-a4")
    assert laser.job_s(1) == 8.0 and laser.job_s(3) == 12.0  # first page out, then 30 pages per minute
    assert printer_profiles.load("thermal-80mm").timing.receipt_time_s(100) == 0.5  # 200 mm/s
    for name in printer_profiles.printers():
        p = printer_profiles.load(name)
        assert (p.job_s(1) if p.kind != "receipt" else p.timing.receipt_time_s(100)) > 0, name


@pytest.mark.parametrize(("timing", "message"), [
    ("[timing]\nside_s = 9.0\nwarm_up_s = 5\nencode_s = 3", None),
    ("[timing]\nside_s = -1", r"side_s must be a number >= 0"),
    ("[timing]\nside_s = true", r"side_s must be a number >= 0"),
    ("[timing]\nside_s = nan", r"side_s must be a number >= 0"),
    ("[timing]\nside_s = \"9 s\"", r"side_s must be a number >= 0"),
    ("[timing]\npages_per_minute = 30", r"unknown keys \['pages_per_minute'\] for a card printer"),
    ("timing = 3", r"\[timing\] must be a table"),
])
def test_card_timing_validation(tmp_path: Path, timing: str, message: str | None) -> None:
    card = timing + "\n" + CARD if timing.startswith("timing") else CARD + timing + "\n"
    root = _write(tmp_path, card=card, base=BASE)
    if message is None:
        assert parse("card", root).timing.side_s == 9.0
    else:
        with pytest.raises(ProfileError, match=message):
            parse("card", root)


@pytest.mark.parametrize(("kind", "timing", "message"), [
    ("document", "first_page_s = 8\npages_per_minute = 30", None),
    ("document", "first_page_s = 8", "needs pages_per_minute"),
    ("receipt", "receipt_s = 2\nmm_per_s = 200", "not both"),
    ("receipt", "side_s = 2", "unknown keys"),
])
def test_document_and_receipt_timing_validation(tmp_path: Path, kind: str, timing: str, message: str | None) -> None:
    base = "office-laser-a4" if kind == "document" else "thermal-80mm"
    shipped = Path(printer_profiles.__file__).parent / f"{base}.toml"
    _write(tmp_path, p=shipped.read_text().split("[timing]")[0] + "[timing]\n" + timing + "\n")
    if message is None:
        assert parse("p", tmp_path).timing.pages_per_minute == 30
    else:
        with pytest.raises(ProfileError, match=message):
            parse("p", tmp_path)
