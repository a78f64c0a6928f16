"""The encoder driver against a blank virtual chip: exact APDUs, what a blank answers before and after, faults.

Driver and virtual chip share only docs/ektp-card-protocol.md (section 11).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.base import DeviceError
from drivers.card_encoder import CardEncoder, EncodeFailed
from drivers.card_reader import CardReader, CardRemoved, CardState, CardUnreadable
from drivers.passive_auth import TrustAnchors
from hardware_sim import citizens
from hardware_sim.chip_pki import ChipPki
from hardware_sim.ektp_card import VirtualEktp, chip_image, demo_fingerprints
from hardware_sim.pcsc_inprocess import SimPcsc
from tests.unit.test_card_reader import Recorder

KEY = bytes(range(16))
PKI = ChipPki.create()
ANCHORS = TrustAnchors.from_pem(PKI.csca_pem())
CITIZEN = citizens.DEMO[0][0]
FILES = chip_image(CITIZEN, citizens.photo_jpeg(CITIZEN), citizens.signature_png(CITIZEN),
                   demo_fingerprints(CITIZEN.nik), PKI)


def blank(serial: str = "KTP-SIM-000007") -> VirtualEktp:
    return VirtualEktp(KEY, serial)


def encoder_for(chip: VirtualEktp, **kw: object) -> tuple[CardEncoder, Recorder]:
    rec = Recorder(chip, **kw)  # type: ignore[arg-type]
    return CardEncoder("card_encoder", rec, KEY, "", ANCHORS), rec


def test_personalisation_apdus_extended() -> None:
    enc, rec = encoder_for(blank())
    enc.extended = True
    done = enc.personalise(FILES, "KTP-SIM-000007")
    writes = [a for a in rec.sent if a[1] == 0xD6]
    assert [a[:4].hex() for a in writes] == ["00d68100", "00d68200", "00d68300", "00d68400", "00d69d00"]
    assert writes[1][4] == 0 and int.from_bytes(writes[1][5:7], "big") == len(FILES[2])  # one extended APDU
    assert rec.sent[:2] == [bytes.fromhex("00A4040C0AA0000006364B54504C01"), bytes.fromhex("00CA005A40")]
    assert bytes.fromhex("00440000") in rec.sent
    assert done.write_apdus == 11 and done.read_apdus <= 10  # SELECT, GET DATA, 3 of authentication, 5 files, lock


def test_personalisation_in_short_apdus_when_the_reader_refuses_extended() -> None:
    enc, rec = encoder_for(blank(), reject_extended=True)
    enc.personalise(FILES, "KTP-SIM-000007")
    writes = [a for a in rec.sent if a[1] == 0xD6]
    assert len([a for a in writes if len(a) > 5 + 255]) == 1  # refused once, then short for good
    short = [a for a in writes if len(a) <= 5 + 255]
    assert sum(a[4] for a in short) == sum(len(f) for f in FILES.values())
    second = [a for a in writes if a[2] == 0x00 and a[3] == 0xFF]
    assert second, "the photo continues at offset 255 (P1-P2 = 00 FF)"


def test_what_a_blank_answers_before_and_after() -> None:
    chip = blank()
    sim = SimPcsc()
    sim.slot.insert(chip)
    reader = CardReader("card_reader", sim, KEY, anchors=ANCHORS)
    with pytest.raises(CardUnreadable) as info:
        reader.read()
    assert info.value.code == "blank-card"  # READ BINARY on a blank: 69 85
    CardEncoder("card_encoder", sim, KEY, "", ANCHORS).personalise(FILES, chip.serial)
    assert reader.read().identity["nik"] == CITIZEN.nik
    with pytest.raises(EncodeFailed) as again:  # locked: every write is refused
        CardEncoder("card_encoder", sim, KEY, "", ANCHORS).personalise(FILES, chip.serial)
    assert again.value.code == "encode-failed" and "6985" in again.value.detail


def test_a_swapped_blank_is_refused_before_any_write() -> None:
    enc, rec = encoder_for(blank("KTP-SIM-000008"))
    with pytest.raises(EncodeFailed) as info:
        enc.personalise(FILES, "KTP-SIM-000007")
    assert info.value.code == "blank-swapped" and not [a for a in rec.sent if a[1] == 0xD6]


def test_a_blank_of_another_issuer_fails_authentication_before_any_write() -> None:
    chip = blank()
    chip.faults.wrong_key = True
    enc, rec = encoder_for(chip)
    with pytest.raises(EncodeFailed) as info:
        enc.personalise(FILES, chip.serial)
    assert info.value.code == "sam-rejected" and not [a for a in rec.sent if a[1] == 0xD6]


@pytest.mark.parametrize(("fault", "code"), [({"write_fails_after": 2}, "encode-failed"),
                                             ({"readback_differs": True}, "digest-mismatch"),
                                             ({"pull_after_apdus": 6}, "card-removed")])
def test_faults_mid_personalisation(fault: dict, code: str) -> None:
    chip = blank()
    for k, v in fault.items():
        setattr(chip.faults, k, v)
    enc, _ = encoder_for(chip)
    with pytest.raises(EncodeFailed) as info:
        enc.personalise(FILES, chip.serial)
    assert info.value.code == code and CITIZEN.nik not in str(info.value)


def test_missing_chip_data_writes_nothing() -> None:
    enc, rec = encoder_for(blank())
    with pytest.raises(EncodeFailed) as info:
        enc.personalise({k: v for k, v in FILES.items() if k != 0x04}, "KTP-SIM-000007")
    assert info.value.code == "no-chip-data" and rec.sent == []


def test_no_station_is_encoder_absent() -> None:
    enc = CardEncoder("card_encoder", SimPcsc(), KEY, "No Such Station", ANCHORS)
    assert enc.status().code == "encoder-absent"
    with pytest.raises(EncodeFailed) as info:
        enc.blank_serial()
    assert info.value.code == "encoder-absent"


class _Scripted:
    """A station whose chip answers every APDU from a script (a hostile or broken blank); then it is gone."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)

    def readers(self) -> list[str]:
        return ["Fuzz Station 00 00"]

    def card_state(self, reader: str, wait_s: float = 0.0, unlike: object = None) -> object:
        return CardState.PRESENT

    def connect(self, reader: str) -> object:
        outer = self

        class Conn:
            def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
                if not outer.answers:
                    raise CardRemoved("script ended")
                a = outer.answers.pop(0)
                return (list(a[:-2]), a[-2], a[-1]) if len(a) >= 2 else ([], 0x6F, 0x00)

            def atr(self) -> bytes:
                return b""

            def disconnect(self, eject: bool = False) -> None:
                pass

        return Conn()


_SW = st.sampled_from([b"\x90\x00", b"\x69\x85", b"\x65\x81", b"\x67\x00", b"\x6a\x82", b"\x63\x00", b"\x61\x10"])
_ANSWER = st.one_of(_SW, st.builds(lambda body, sw: body + sw, st.binary(max_size=64), _SW))


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ANSWER, max_size=40))
def test_any_station_answers_end_in_an_encoder_error_never_a_crash_or_a_success(answers: list[bytes]) -> None:
    enc = CardEncoder("card_encoder", _Scripted(answers), KEY, "", ANCHORS, timeout_s=2.0)  # type: ignore[arg-type]
    with pytest.raises(DeviceError):
        enc.personalise(FILES, "KTP-SIM-000007")
