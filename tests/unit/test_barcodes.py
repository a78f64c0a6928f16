"""Payload validation: only well-formed WhatsApp and document QRs are ever sent to central."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.citizen.barcodes import (
    MAX_PAYLOAD_CHARS,
    PayloadError,
    classify,
    parse_document_qr,
    parse_request_qr,
    whatsapp_qr_payload,
)

GOOD_REQUEST = "ADMWA1|R0123456789AB|abcdefghijklmnopqrstu-_x"
GOOD_DOC = "ADMDOC1|kk|3201012402240011|D0123456789AB|0123456789abcdef0123"


def test_good_payloads_round_trip() -> None:
    assert parse_request_qr(GOOD_REQUEST).payload == GOOD_REQUEST
    doc = parse_document_qr(GOOD_DOC)
    assert (doc.kind, doc.number, doc.document_id, doc.payload) == ("kk", "3201012402240011", "D0123456789AB", GOOD_DOC)
    assert parse_document_qr("ADMDOC1|akta-kelahiran|3201-LT-010101-AKTA|D0123456789AB|0123456789abcdef0123")


def test_request_qr_repr_hides_the_token() -> None:
    assert "abcdef" not in repr(parse_request_qr(GOOD_REQUEST))


@pytest.mark.parametrize("text, code", [
    ("ADMWA1|R0123456789AB", "bad-shape"),
    ("ADMWA1|R0123456789AB|short", "bad-field"),
    ("ADMWA1|r0123456789ab|abcdefghijklmnopqrstu-_x", "bad-field"),
    ("ADMWA1|R0123456789AB|abcdefghijklmnopqrstu-_x|extra", "bad-shape"),
    ("ADMWA2|R0123456789AB|abcdefghijklmnopqrstu-_x", "not-ours"),
    ("ADMWA1|R0123456789AB|abcdefghijklmnopqrstu-_é", "not-ascii"),
    ("ADMWA1|R0123456789AB|abcdefghijklmnopqrstu-_\n", "not-ascii"),
    ("https://example.com/ADMWA1", "not-ours"),
    ("A" * (MAX_PAYLOAD_CHARS + 1), "too-long"),
])
def test_bad_request_qrs(text: str, code: str) -> None:
    with pytest.raises(PayloadError) as err:
        parse_request_qr(text)
    assert err.value.code == code
    assert err.value.citizen_message == "This code is not from Dukcapil."


@pytest.mark.parametrize("text", [
    "ADMDOC1|ktp-el|3201012402240011|D0123456789AB|0123456789abcdef0123",  # cards carry no document QR
    "ADMDOC1|kk|3201012402240011|D0123456789AB|0123456789ABCDEF0123",  # tag is lowercase hex
    "ADMDOC1|kk|3201012402240011|D0123456789AB|0123456789abcdef012",
    "ADMDOC1|kk||D0123456789AB|0123456789abcdef0123",
    "ADMDOC1|kk|3201 0124|D0123456789AB|0123456789abcdef0123",
    "ADMDOC1|kk|3201012402240011|X0123456789AB|0123456789abcdef0123",
    "ADMDOC1|kk|3201012402240011|D0123456789AB",
])
def test_bad_document_qrs(text: str) -> None:
    with pytest.raises(PayloadError):
        parse_document_qr(text)


def test_whatsapp_payload_builder_validates() -> None:
    assert whatsapp_qr_payload("R0123456789AB", "abcdefghijklmnopqrstu-_x") == GOOD_REQUEST
    with pytest.raises(PayloadError):
        whatsapp_qr_payload("R1", "x")


def test_classify_by_prefix() -> None:
    assert classify(GOOD_REQUEST) == "request"
    assert classify(GOOD_DOC) == "document"
    assert classify("ADMWA1") == "other"
    assert classify("hello") == "other"


@given(st.text(max_size=400))
def test_parsers_never_crash_and_accept_only_their_schema(text: str) -> None:
    for parse in (parse_request_qr, parse_document_qr):
        try:
            parsed = parse(text)
        except PayloadError as exc:
            assert exc.code in {"too-long", "not-ascii", "not-ours", "bad-shape", "bad-field"}
        else:
            assert parsed.payload == text  # accepted means: exactly this, re-serialised


@given(st.from_regex(r"R[0-9A-F]{12}", fullmatch=True), st.from_regex(r"[A-Za-z0-9_-]{24}", fullmatch=True))
def test_every_well_formed_request_qr_parses(request_id: str, token: str) -> None:
    ref = parse_request_qr(f"ADMWA1|{request_id}|{token}")
    assert (ref.request_id, ref.token) == (request_id, token)


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=80), st.integers(0, 4))
def test_tampered_request_qrs_are_refused(noise: str, where: int) -> None:
    parts = GOOD_REQUEST.split("|")
    parts.insert(where % 4, noise)
    text = "|".join(parts)
    if text != GOOD_REQUEST:
        with pytest.raises(PayloadError):
            parse_request_qr(text)
