"""NIK validation per DOMAIN.md, and masking everywhere a NIK could leak."""

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.logs import MaskNiks
from kiosk.model import InvalidNik, Nik, mask_nik, mask_niks_in


@pytest.mark.parametrize("text", ["3201010508900001", "3201014501920002", " 3201 0105 0890 0001 ", "9471017112990001"])
def test_valid_niks_parse(text: str) -> None:
    assert len(Nik.parse(text).value) == 16


def test_female_birth_day_has_forty_added() -> None:
    assert Nik.parse("3201014501920002").female
    assert not Nik.parse("3201010508900001").female


@pytest.mark.parametrize(("text", "reason"), [
    ("320101050890001", "exactly 16 digits"),
    ("32010105089000011", "exactly 16 digits"),
    ("32010105089000a1", "digits only"),
    ("３２01010508900001", "digits only"),  # full-width digits are not ASCII
    ("320101050890000١", "digits only"),  # Arabic-Indic digit
    ("9901010508900001", "region code"),
    ("3200010508900001", "region code"),
    ("3201000508900001", "region code"),
    ("3201013208900001", "birth date"),
    ("3201013508900001", "birth date"),
    ("3201017208900001", "birth date"),
    ("3201010013900001", "birth date"),
    ("3201010500900001", "birth date"),
    ("3201010508900000", "serial"),
])
def test_invalid_niks_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidNik) as exc:
        Nik.parse(text)
    assert reason in exc.value.reason


def test_a_nik_prints_masked() -> None:
    nik = Nik.parse("3201010508900001")
    assert str(nik) == "3201********0001"
    assert "0508900001" not in repr(nik)
    assert mask_nik("3201010508900001") == "3201********0001"


def test_log_records_never_carry_a_full_nik(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.nik")
    logger.addFilter(MaskNiks())
    with caplog.at_level(logging.INFO, logger="test.nik"):
        logger.info("citizen %s failed at %s", "3201010508900001", "step 2")
    assert "3201********0001" in caplog.text
    assert "3201010508900001" not in caplog.text


@given(st.text(max_size=40))
def test_parse_never_crashes(text: str) -> None:
    try:
        Nik.parse(text)
    except InvalidNik as exc:
        assert exc.reason


@given(st.from_regex(r"[0-9]{16}", fullmatch=True))
def test_masking_hides_the_middle_of_any_nik(nik: str) -> None:
    out = mask_niks_in(f"x {nik} y")
    assert nik not in out and nik[:4] + "********" + nik[-4:] in out
