"""Property tests: whatever bytes a card (or an attacker) sends, the reader gives a verified
identity or a clear ``CardUnreadable``/``TlvError``; never another exception, never a hang."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import tlv
from drivers.base import DeviceError
from drivers.card_reader import (
    CardReader,
    CardState,
    CardUnreadable,
    PcscConnection,
    parse_identity,
)
from drivers.passive_auth import PassiveAuthFailed, TrustAnchors, verify_sod
from hardware_sim import citizens
from hardware_sim.chip_pki import ChipPki
from hardware_sim.ektp_card import issued_card

KEY = bytes(16)
PKI = ChipPki.create()
ANCHORS = TrustAnchors.from_pem(PKI.csca_pem())
FAST = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
tags = st.sampled_from([0x04, 0x30, 0x61, 0x77, 0x5F01, 0x5F02, 0x5F40, 0x5F43, 0x7F61])


@FAST
@given(st.binary(max_size=2048))
def test_parse_any_bytes(buf: bytes) -> None:
    try:
        items = tlv.parse(buf)
    except tlv.TlvError:
        return
    assert sum(len(i.value) for i in items) <= len(buf)


@FAST
@given(st.binary(max_size=64))
def test_read_header_any_bytes(buf: bytes) -> None:
    try:
        tag, length, start = tlv.read_header(buf)
    except tlv.TlvError:
        return
    assert 0 < start <= len(buf) and length >= 0 and tag >= 0


@FAST
@given(tags, st.binary(max_size=70_000))
def test_encode_parse_round_trip(tag: int, value: bytes) -> None:
    assert tlv.parse(tlv.encode(tag, value)) == [tlv.Tlv(tag, value)]


@FAST
@given(st.binary(max_size=4096))
def test_identity_from_any_bytes(buf: bytes) -> None:
    try:
        out = parse_identity(buf)
    except CardUnreadable as exc:
        assert exc.code == "corrupt-file"
        return
    assert len(out["nik"]) == 16 and out["nik"].isdigit() and out["name"]


@FAST
@given(st.lists(st.tuples(st.sampled_from([0x5F01, 0x5F02, 0x5F03, 0x5F13, 0x5F7F]), st.binary(max_size=40)),
                max_size=25))
def test_identity_from_well_framed_fields(fields: list[tuple[int, bytes]]) -> None:
    buf = tlv.encode(0x61, b"".join(tlv.encode(t, v) for t, v in fields))
    try:
        parse_identity(buf)
    except CardUnreadable as exc:
        assert exc.code == "corrupt-file"


@FAST
@given(st.binary(max_size=1200))
def test_passive_authentication_of_any_security_object(sod: bytes) -> None:
    try:
        verify_sod(sod, ANCHORS)
    except PassiveAuthFailed as exc:
        assert exc.code in ("sod-malformed", "sod-signature-bad", "ds-untrusted", "ds-expired")
        return
    raise AssertionError("random bytes cannot carry our document signer's signature")


_GENUINE_SOD = PKI.sign_sod({1: b"identity", 2: b"photo", 3: b"signature"})
_GENUINE = verify_sod(_GENUINE_SOD, TrustAnchors.from_pem(PKI.csca_pem())).digests


@FAST
@given(st.integers(0, len(_GENUINE_SOD) - 1), st.integers(1, 255))
def test_a_genuine_security_object_with_one_byte_changed(at: int, flip: int) -> None:
    """Refused with a passive-authentication code, or (a byte outside what is signed) accepted saying the same."""
    sod = bytearray(_GENUINE_SOD)
    sod[at] ^= flip
    try:
        verified = verify_sod(bytes(sod), ANCHORS)
    except PassiveAuthFailed:
        return
    assert verified.digests == _GENUINE


class ScriptedSystem:
    """A reader whose card answers each APDU from a script; then it is gone."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)

    def readers(self) -> list[str]:
        return ["Fuzz Reader 00 00"]

    def card_state(self, reader: str, wait_s: float = 0.0, unlike: CardState | None = None) -> CardState:
        return CardState.PRESENT

    def connect(self, reader: str) -> PcscConnection:
        answers = self.answers

        class Conn:
            def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
                from drivers.card_reader import CardRemoved
                if not answers:
                    raise CardRemoved("script ended")
                resp = answers.pop(0)
                if len(resp) < 2:
                    return [], 0x90, 0x00  # empty answer
                return list(resp[:-2]), resp[-2], resp[-1]

            def atr(self) -> bytes:
                return b"\x3b\x80"

            def disconnect(self) -> None:
                pass

        return Conn()


sw_ok = st.sampled_from([b"\x90\x00", b"\x62\x82", b"\x61\x10", b"\x6c\x05", b"\x67\x00", b"\x6a\x82", b"\x63\x00"])
answer = st.one_of(st.binary(max_size=300), st.tuples(st.binary(max_size=300), sw_ok).map(lambda t: t[0] + t[1]))


@FAST
@given(st.lists(answer, max_size=40), st.sampled_from([True, False, None]))
def test_read_with_any_card_answers(answers: list[bytes], extended: bool | None) -> None:
    reader = CardReader("card_reader", ScriptedSystem(answers), KEY, extended=extended, read_timeout_s=2.0,
                        anchors=ANCHORS)
    try:
        reader.read()
    except DeviceError:
        return
    raise AssertionError("random answers cannot pass the card's cryptogram")


_CARD = issued_card(citizens.DEMO[0][0], citizens.photo_jpeg(citizens.DEMO[0][0]),
                    citizens.signature_png(citizens.DEMO[0][0]), KEY, PKI)


@FAST
@given(st.integers(0, 3), st.integers(0, 300), st.binary(min_size=1, max_size=8))
def test_genuine_card_with_a_corrupted_read_answer(which: int, at: int, junk: bytes) -> None:
    """The genuine conversation with bytes of one READ BINARY answer overwritten: always an error."""
    _CARD.reset()
    reads = 0

    class Mangle(ScriptedSystem):
        def connect(self, reader: str) -> PcscConnection:
            class Conn:
                def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
                    nonlocal reads
                    resp = _CARD.process(bytes(apdu))
                    data, sw = resp[:-2], resp[-2:]
                    if apdu[1] == 0xB0:
                        if reads == which:
                            pos = min(at, max(0, len(data) - 1))
                            data = data[:pos] + junk + data[pos + len(junk):]
                        reads += 1
                    return list(data), sw[0], sw[1]

                def atr(self) -> bytes:
                    return b"\x3b\x80"

                def disconnect(self) -> None:
                    _CARD.reset()
            return Conn()

    reader = CardReader("card_reader", Mangle([]), KEY, extended=True, anchors=ANCHORS)
    try:
        data = reader.read()
    except DeviceError as exc:
        assert exc.code in ("corrupt-file", "digest-mismatch", "card-not-authentic", "sod-malformed")
        return
    assert data.identity["nik"] == citizens.DEMO[0][0].nik  # the junk equalled the original bytes
