"""The e-KTP driver against the in-process virtual card: exact APDUs, status words, every fault.

The virtual card shares no code with the driver (only docs/ektp-card-protocol.md), so these
tests check the driver against the protocol. The same faults through real pcscd are in
tests/integration/test_pcsc.py.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import replace

import pytest

from drivers.base import Action, DeviceError, DeviceState
from drivers.card_reader import (
    AID,
    ApduRejected,
    CardReader,
    CardRemoved,
    CardState,
    CardUnreadable,
    PcscConnection,
    SamRejected,
    build_apdu,
    status_error,
)
from drivers.passive_auth import PassiveAuthFailed, TrustAnchors
from hardware_sim import citizens
from hardware_sim.chip_pki import ChipPki
from hardware_sim.ektp_card import CardFaults, VirtualEktp, issued_card
from hardware_sim.pcsc_inprocess import SimPcsc

KEY = bytes(range(16))
CITIZEN = citizens.DEMO[0][0]


PKI = ChipPki.create()  # made for the run, never stored
ANCHORS = TrustAnchors.from_pem(PKI.csca_pem())


def make_card(ident=CITIZEN, key: bytes = KEY, pki: ChipPki = PKI, **kw: object) -> VirtualEktp:
    return issued_card(ident, citizens.photo_jpeg(ident), citizens.signature_png(ident), key, pki, **kw)


def reader_on(system: object, key: bytes = KEY, **kw: object) -> CardReader:
    """The reader driver over ``system``, trusting the run's CSCA."""
    return CardReader("card_reader", system, key, anchors=kw.pop("anchors", ANCHORS), **kw)  # type: ignore[arg-type]


class Recorder:
    """A ``PcscSystem`` that records every command APDU and can rewrite answers."""

    def __init__(self, card: VirtualEktp, rewrite=None, reject_extended: bool = False) -> None:
        self.sim = SimPcsc()
        self.sim.slot.insert(card)
        self.card = card
        self.sent: list[bytes] = []
        self.rewrite = rewrite
        self.reject_extended = reject_extended

    def readers(self) -> list[str]:
        return self.sim.readers()

    def card_state(self, reader: str, wait_s: float = 0.0, unlike: CardState | None = None) -> CardState:
        return self.sim.card_state(reader, wait_s, unlike)

    def connect(self, reader: str) -> PcscConnection:
        inner = self.sim.connect(reader)
        outer = self

        class Conn:
            def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
                raw = bytes(apdu)
                outer.sent.append(raw)
                if outer.reject_extended and len(raw) > 5 and raw[4] == 0 and len(raw) != 5 + raw[4]:
                    raise ApduRejected("this reader carries short APDUs only")
                data, sw1, sw2 = inner.transmit(apdu)
                if outer.rewrite:
                    return outer.rewrite(raw, bytes(data), (sw1 << 8) | sw2)
                return data, sw1, sw2

            def atr(self) -> bytes:
                return inner.atr()

            def disconnect(self) -> None:
                inner.disconnect()

        return Conn()


def reader_for(card: VirtualEktp, key: bytes = KEY, **kw: object) -> tuple[CardReader, SimPcsc]:
    sim = SimPcsc()
    sim.slot.insert(card)
    return reader_on(sim, key, **kw), sim


# -- exact bytes -----------------------------------------------------------------------------

def test_full_read_sends_exactly_the_documented_apdus_with_extended_length() -> None:
    rec = Recorder(make_card())
    data = reader_on(rec, KEY, extended=True).read()
    assert data.identity["nik"] == CITIZEN.nik and data.identity["name"] == CITIZEN.name
    assert data.photo == citizens.photo_jpeg(CITIZEN)
    select, challenge, auth, *reads = rec.sent
    assert select == bytes.fromhex("00A4040C0A") + AID
    assert challenge == bytes.fromhex("0084000008")
    assert auth[:5] == bytes.fromhex("0082000028") and len(auth) == 5 + 40 + 1 and auth[-1] == 0x20
    assert reads == [bytes.fromhex(f"00B0{0x80 | sfi:02X}00000000") for sfi in (0x01, 0x02, 0x03, 0x1D)]
    assert data.apdus == len(rec.sent) == 7


def test_short_apdus_read_in_256_byte_chunks_by_offset() -> None:
    card = make_card()
    rec = Recorder(card)
    data = reader_on(rec, KEY, extended=False).read()
    expected = []
    for sfi in (0x01, 0x02, 0x03, 0x1D):
        expected.append(bytes([0x00, 0xB0, 0x80 | sfi, 0x00, 0x00]))  # by SFI, offset 0, Le 256 (00)
        size = len(card.files[sfi])
        for offset in range(256, size, 256):
            expected.append(bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, min(256, size - offset) % 256]))
    assert rec.sent[3:] == expected
    assert data.apdus == 3 + len(expected) > 30  # a 7 KB photo is ~30 short reads


def test_mutual_authenticate_carries_the_reader_proof_over_both_challenges() -> None:
    rec = Recorder(make_card())
    reader_on(rec, KEY, extended=True).read()
    auth = rec.sent[2]
    rnd_ifd, mac_ifd = auth[5:13], auth[13:45]
    # the card accepted it, so it was HMAC-SHA256(K, "ADM-IFD" || RND.ICC || RND.IFD); a different RND.IFD each read
    rec2 = Recorder(make_card())
    reader_on(rec2, KEY, extended=True).read()
    assert rec2.sent[2][5:13] != rnd_ifd and len(mac_ifd) == 32


@pytest.mark.parametrize(("data", "le", "extended", "expected"), [
    (b"", None, False, "00B00000"),
    (b"", 8, False, "00B0000008"),
    (b"", 256, False, "00B0000000"),
    (b"", 65536, False, "00B0000000"),  # short form caps Le at 256
    (b"", 65536, True, "00B00000" + "000000"),
    (b"", 1000, True, "00B00000" + "0003E8"),
    (b"", 200, True, "00B00000C8"),  # extended only when needed
    (b"\x01\x02", None, False, "00B00000020102"),
    (b"\x01\x02", 32, False, "00B0000002010220"),
    (bytes(300), None, True, "00B00000" + "00012C" + "00" * 300),
    (bytes(300), 512, True, "00B00000" + "00012C" + "00" * 300 + "0200"),
])
def test_apdu_encoding_cases(data: bytes, le: int | None, extended: bool, expected: str) -> None:
    assert build_apdu(0x00, 0xB0, 0x00, 0x00, data, le, extended) == bytes.fromhex(expected)


def test_short_apdu_cannot_carry_long_data() -> None:
    with pytest.raises(ValueError):
        build_apdu(0, 0xB0, 0, 0, bytes(300), None, False)


# -- status words ------------------------------------------------------------------------------

@pytest.mark.parametrize(("sw", "expect", "error", "code"), [
    (0x6A82, "select", CardUnreadable, "unknown-card"),
    (0x6D00, "select", CardUnreadable, "unknown-card"),
    (0x6E00, "select", CardUnreadable, "unknown-card"),
    (0x6300, "auth", SamRejected, "sam-rejected"),
    (0x63C2, "auth", SamRejected, "sam-rejected"),
    (0x6982, "", SamRejected, "sam-rejected"),
    (0x6A82, "", CardUnreadable, "bad-status"),
    (0x6B00, "", CardUnreadable, "bad-status"),
    (0x6700, "", CardUnreadable, "bad-status"),
    (0x6986, "", CardUnreadable, "bad-status"),
    (0x6F00, "", CardUnreadable, "bad-status"),
])
def test_status_word_table(sw: int, expect: str, error: type, code: str) -> None:
    err = status_error(sw, expect)
    assert isinstance(err, error) and err.code == code
    assert f"{sw:04X}" in err.detail
    if error is SamRejected:
        assert err.action is Action.MAINTENANCE  # an engineer fixes a SAM; the citizen types the NIK


def test_get_response_and_wrong_le_are_followed() -> None:
    def t0_reader(apdu: bytes, data: bytes, sw: int) -> tuple[list[int], int, int]:
        if apdu[1] == 0x84 and apdu[4] == 0x08:  # answer GET CHALLENGE with "wrong Le, use 08" once
            t0_reader.seen += 1  # type: ignore[attr-defined]
            if t0_reader.seen == 1:  # type: ignore[attr-defined]
                return [], 0x6C, 0x08
        return list(data), sw >> 8, sw & 0xFF
    t0_reader.seen = 0  # type: ignore[attr-defined]
    rec = Recorder(make_card(), rewrite=t0_reader)
    assert reader_on(rec, KEY).read().identity["nik"] == CITIZEN.nik

    pending: list[bytes] = []

    def split(apdu: bytes, data: bytes, sw: int) -> tuple[list[int], int, int]:
        if apdu[1] == 0x84:
            pending.append(data)
            return [], 0x61, len(data)
        if apdu[1] == 0xC0:
            return list(pending.pop()), 0x90, 0x00
        return list(data), sw >> 8, sw & 0xFF
    rec = Recorder(make_card(), rewrite=split)
    rec.card.process = _passthrough_get_response(rec.card)  # type: ignore[method-assign]
    assert reader_on(rec, KEY).read().identity["nik"] == CITIZEN.nik
    assert any(a[:2] == b"\x00\xc0" for a in rec.sent)


def _passthrough_get_response(card: VirtualEktp):
    original = card.process

    def process(apdu: bytes) -> bytes:
        return b"\x90\x00" if apdu[1] == 0xC0 else original(apdu)
    return process


# -- fault switches, in-process ------------------------------------------------------------------

def test_card_pulled_mid_read_is_card_removed_and_nothing_partial() -> None:
    reader, sim = reader_for(make_card(faults=CardFaults(pull_after_apdus=5)))
    with pytest.raises(CardRemoved) as info:
        reader.read()
    assert info.value.citizen_message.startswith("The card could not be read")
    assert sim.slot.card is None and reader.status().media == ""


def test_slow_card_still_reads_within_the_deadline() -> None:
    reader, _ = reader_for(make_card(faults=CardFaults(slow_s=0.01)), extended=True)
    started = time.monotonic()
    assert reader.read().identity["nik"] == CITIZEN.nik
    assert time.monotonic() - started >= 0.07


def test_too_slow_card_times_out() -> None:
    reader, _ = reader_for(make_card(faults=CardFaults(slow_s=0.05)), read_timeout_s=0.12)
    with pytest.raises(CardUnreadable) as info:
        reader.read()
    assert info.value.code == "card-timeout"


@pytest.mark.parametrize("sw", [b"\x6a\x82", b"\x6f\x00", b"\x65\x81"])
def test_wrong_status_word_on_read_binary(sw: bytes) -> None:
    card = make_card(faults=CardFaults(wrong_sw=sw))
    reader, _ = reader_for(card)
    with pytest.raises(CardUnreadable) as info:
        reader.read()
    assert info.value.code == "bad-status" and sw.hex().upper() in info.value.detail
    assert reader.read().identity["nik"] == CITIZEN.nik  # one-shot: the next tap works


def test_corrupt_tlv_is_corrupt_file() -> None:
    reader, _ = reader_for(make_card(faults=CardFaults(corrupt_tlv=True)))
    with pytest.raises(CardUnreadable) as info:
        reader.read()
    assert info.value.code == "corrupt-file"


def test_tampered_photo_is_digest_mismatch() -> None:
    reader, _ = reader_for(make_card(faults=CardFaults(tamper=True)))
    with pytest.raises(PassiveAuthFailed) as info:
        reader.read()
    assert info.value.code == "digest-mismatch" and "0x02" in info.value.detail


def test_card_from_another_issuer_rejects_the_sam() -> None:
    reader, _ = reader_for(make_card(faults=CardFaults(wrong_key=True)))
    with pytest.raises(SamRejected):
        reader.read()


def test_reader_with_the_wrong_sam_key_is_rejected() -> None:
    reader, _ = reader_for(make_card(), key=os.urandom(16))
    with pytest.raises(SamRejected) as info:
        reader.read()
    assert info.value.code == "sam-rejected" and "6300" in info.value.detail


def test_reader_without_a_sam_key_reports_hardware_error() -> None:
    reader, _ = reader_for(make_card(), key=b"")
    assert reader.status().state is DeviceState.HARDWARE_ERROR and reader.status().code == "sam-missing"
    with pytest.raises(Exception) as info:
        reader.read()
    assert getattr(info.value, "code", "") == "sam-missing"


def test_unknown_card_is_named() -> None:
    def other_applet(apdu: bytes, data: bytes, sw: int) -> tuple[list[int], int, int]:
        return ([], 0x6A, 0x82) if apdu[1] == 0xA4 else (list(data), sw >> 8, sw & 0xFF)
    with pytest.raises(CardUnreadable) as info:
        reader_on(Recorder(make_card(), rewrite=other_applet), KEY).read()
    assert info.value.code == "unknown-card"


def test_consistent_forgery_behind_a_genuine_authentication_is_caught() -> None:
    """A relay passes the genuine card's authentication but serves another person's files whose
    digests match their own security object: only the card's cryptogram over the SOD catches it."""
    genuine = make_card()
    forged = make_card(ident=replace(CITIZEN, name="SOMEONE ELSE"))
    forged.selected_app = forged.authenticated = True

    def relay(apdu: bytes, data: bytes, sw: int) -> tuple[list[int], int, int]:
        if apdu[1] == 0xB0:
            resp = forged._read_binary(apdu[2], apdu[3], None if len(apdu) == 4 else 65536)
            return list(resp[:-2]), resp[-2], resp[-1]
        return list(data), sw >> 8, sw & 0xFF
    with pytest.raises(CardUnreadable) as info:
        reader_on(Recorder(genuine, rewrite=relay), KEY, extended=True).read()
    assert info.value.code == "card-not-authentic"


def test_reader_that_refuses_extended_apdus_falls_back_to_short_for_good() -> None:
    rec = Recorder(make_card(), reject_extended=True)
    reader = reader_on(rec, KEY)
    assert reader.read().identity["nik"] == CITIZEN.nik
    assert reader.extended is False
    rec.sent.clear()
    reader.read()
    assert all(len(a) <= 5 + 255 + 1 for a in rec.sent) and not any(a[4] == 0 and len(a) == 7 for a in rec.sent)


def test_card_that_answers_6700_to_extended_falls_back_to_short() -> None:
    card = make_card()
    original = card.process

    def short_only(apdu: bytes) -> bytes:
        if len(apdu) == 7 and apdu[4] == 0:
            return b"\x67\x00"
        return original(apdu)
    card.process = short_only  # type: ignore[method-assign]
    reader, _ = reader_for(card)
    assert reader.read().photo == citizens.photo_jpeg(CITIZEN)
    assert reader.extended is False


def test_card_that_returns_less_than_asked_is_read_by_offset() -> None:
    reader, _ = reader_for(make_card(max_le=1000), extended=True)
    data = reader.read()
    assert data.photo == citizens.photo_jpeg(CITIZEN) and data.apdus > 7


# -- reader state and waiting --------------------------------------------------------------------

def test_status_vocabulary() -> None:
    card = make_card()
    sim = SimPcsc()
    reader = reader_on(sim, KEY)
    st = reader.status()
    assert (st.state, st.media) == (DeviceState.ONLINE, "")
    sim.slot.insert(card)
    st = reader.status()
    assert (st.state, st.media) == (DeviceState.ONLINE, "present")
    sim.slot.plugged = False
    st = reader.status()
    assert (st.state, st.code) == (DeviceState.NO_DEVICE, "no-reader")
    assert reader_on(SimPcsc(), KEY, reader_filter="Other").status().state is DeviceState.NO_DEVICE


def test_wait_for_card() -> None:
    sim = SimPcsc()
    reader = reader_on(sim, KEY)
    assert reader.wait_for_card(0.1) is False
    threading.Timer(0.1, sim.slot.insert, args=(make_card(),)).start()
    started = time.monotonic()
    assert reader.wait_for_card(2.0) is True
    assert time.monotonic() - started < 1.0
    threading.Timer(0.1, sim.slot.pull).start()
    assert reader.wait_for_change(CardState.PRESENT, 2.0) is CardState.EMPTY


def test_no_nik_or_name_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reader, _ = reader_for(make_card())
    data = reader.read()
    for fault in (CardFaults(tamper=True), CardFaults(corrupt_tlv=True)):
        r, _ = reader_for(make_card(faults=fault))
        with pytest.raises(DeviceError) as info:
            r.read()
        assert CITIZEN.nik not in str(info.value)
    assert CITIZEN.nik not in caplog.text and CITIZEN.name not in caplog.text
    assert CITIZEN.nik not in repr(data)


def test_card_files_fit_the_protocol_limit() -> None:
    with pytest.raises(ValueError):
        issued_card(CITIZEN, bytes(40_000), b"", KEY, PKI)
    assert hashlib.sha256(make_card().files[1]).digest()  # a normal card builds
