"""The payloads the kiosk's camera accepts, and their validation (no hardware imports).

Two formats, both plain ASCII so every decoder reads them the same way:

- **WhatsApp request QR** ``ADMWA1|<request id>|<token>``: sent with the PIN message; it
  identifies the request (central resolves it to the NIK) and nothing more. It is not a
  credential: the PIN step stays, so a photo of someone else's screen gets no further than
  the PIN prompt, where attempts are limited per NIK and per kiosk. The token is 144
  random bits, compared in constant time by central, and dies with the request.
- **Document QR** ``ADMDOC1|<kind>|<number>|<document id>|<tag>`` printed at the bottom
  right of A4 documents: the tag is an HMAC only central can check (``POST /v1/verify``).

Every payload is checked against its schema and length before anything is sent to central;
anything else is "not ours" and never leaves the kiosk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.base import AdmError
from kiosk.model import DocumentKind

MAX_PAYLOAD_CHARS = 256
WHATSAPP_PREFIX = "ADMWA1"
DOCUMENT_PREFIX = "ADMDOC1"

_REQUEST_ID = re.compile(r"R[0-9A-F]{12}", re.ASCII)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{24}", re.ASCII)
_DOC_ID = re.compile(r"D[0-9A-F]{12}", re.ASCII)
_DOC_NUMBER = re.compile(r"[0-9A-Z][0-9A-Z-]{0,39}", re.ASCII)
_TAG = re.compile(r"[0-9a-f]{20}", re.ASCII)
A4_KINDS = frozenset(k.value for k in DocumentKind if k.medium == "a4")


class PayloadError(AdmError, ValueError):
    """Why a payload was refused: ``code`` for logs and tests, ``citizen_message`` a msgid for the citizen."""

    code = "payload-refused"

    def __init__(self, code: str, message: str = "This code is not from Dukcapil.") -> None:
        super().__init__(code)
        self.code = code
        self.citizen_message = message


@dataclass(frozen=True)
class RequestQr:
    """The QR from the WhatsApp message: which request, and the token that proves it was sent."""

    request_id: str
    token: str

    @property
    def payload(self) -> str:
        return f"{WHATSAPP_PREFIX}|{self.request_id}|{self.token}"

    def __repr__(self) -> str:  # the token never lands in a log by accident
        return f"RequestQr(request_id={self.request_id!r})"


@dataclass(frozen=True)
class DocumentQr:
    """The QR printed on an A4 document; ``payload`` is what central verifies, byte for byte."""

    kind: str
    number: str
    document_id: str
    tag: str

    @property
    def payload(self) -> str:
        return f"{DOCUMENT_PREFIX}|{self.kind}|{self.number}|{self.document_id}|{self.tag}"


def whatsapp_qr_payload(request_id: str, token: str) -> str:
    """The payload central puts in the WhatsApp message's QR (validated: a bad one raises)."""
    return parse_request_qr(f"{WHATSAPP_PREFIX}|{request_id}|{token}").payload


def _fields(text: str, prefix: str, count: int) -> list[str]:
    if not isinstance(text, str) or len(text) > MAX_PAYLOAD_CHARS:
        raise PayloadError("too-long")
    if not text.isascii() or not text.isprintable():
        raise PayloadError("not-ascii")
    parts = text.split("|")
    if parts[0] != prefix:
        raise PayloadError("not-ours")
    if len(parts) != count:
        raise PayloadError("bad-shape")
    return parts


def parse_request_qr(text: str) -> RequestQr:
    """A WhatsApp request QR, or ``PayloadError``."""
    _, request_id, token = _fields(text, WHATSAPP_PREFIX, 3)
    if not _REQUEST_ID.fullmatch(request_id) or not _TOKEN.fullmatch(token):
        raise PayloadError("bad-field")
    return RequestQr(request_id, token)


def parse_document_qr(text: str) -> DocumentQr:
    """A document QR, or ``PayloadError``; the tag's format is checked here, its value by central."""
    _, kind, number, doc_id, tag = _fields(text, DOCUMENT_PREFIX, 5)
    if kind not in A4_KINDS or not _DOC_NUMBER.fullmatch(number) or not _DOC_ID.fullmatch(doc_id) \
            or not _TAG.fullmatch(tag):
        raise PayloadError("bad-field")
    return DocumentQr(kind, number, doc_id, tag)


def classify(text: str) -> str:
    """``request``, ``document`` or ``other``: which parser a payload is meant for, by its prefix only."""
    head = text[:8] if isinstance(text, str) else ""
    if head.startswith(WHATSAPP_PREFIX + "|"):
        return "request"
    if head.startswith(DOCUMENT_PREFIX + "|"):
        return "document"
    return "other"
