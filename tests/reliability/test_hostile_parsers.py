"""Hostile input for every parser: whatever arrives, a clear refusal of the parser's own kind, never a crash.

Parsers and what they may raise (anything else is a bug):
- NIK (``Nik.parse``): ``InvalidNik``; masking leaves no 16-digit run in any text;
- QR payloads (``kiosk.barcodes``): ``PayloadError``; a valid payload survives mutation checks;
- ESC/POS status bits (``DLE EOT`` replies): every byte decodes, unknown never reads as "out";
  a receipt printer answering garbage still gives a status;
- central's responses (``kiosk.central.CentralClient``): any status, headers and body give a
  result or a ``CentralError``;
- configuration (``kiosk.config.load``): any TOML text, environment or override gives a
  ``Config`` or a ``ConfigError``.
TLV and the e-KTP's answers are fuzzed in tests/unit/test_tlv_fuzz.py; the status API by
schemathesis in tests/unit/test_status_api_schemathesis.py; the citizen UI in
tests/reliability/test_security.py. Each test counts its inputs for docs/reliability.md, each
distinct input once: hypothesis runs an input again while shrinking or replaying, and one input
may be fed to several calls (central's five endpoints), so a counter per run would count it
more than once.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.base import DeviceState, DeviceStatus, SupplyLevel
from drivers.receipt import ReceiptPrinter, decode_online, decode_paper, stream_printer
from kiosk.citizen import barcodes
from kiosk.citizen.central import CentralClient, CentralError, Redemption, Verdict
from kiosk.config import ConfigError, load
from kiosk.model import Document, DocumentKind, InvalidNik, Nik, mask_niks_in
from tests.reliability.results import record

TRIED: defaultdict[str, set[str]] = defaultdict(set)  # parser -> digests of the distinct inputs it was given


def tried(parser: str, *value: object) -> None:
    """Counts ``value`` as one input of ``parser``, however often hypothesis runs it."""
    TRIED[parser].add(hashlib.sha256(repr(value).encode()).hexdigest())
MANY = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SOME = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module", autouse=True)
def _record_counts() -> Iterator[None]:
    yield
    counts = {parser: len(inputs) for parser, inputs in sorted(TRIED.items())}
    record("hostile_parsers", {"inputs": counts, "total": sum(counts.values())})


# -- NIK ------------------------------------------------------------------------------------

@MANY
@given(st.one_of(st.text(max_size=40), st.from_regex(r"[0-9 .]{10,24}", fullmatch=True)))
def test_nik_any_text(text: str) -> None:
    tried("nik", text)
    try:
        nik = Nik.parse(text)
    except InvalidNik as exc:
        assert exc.reason
        return
    assert len(nik.value) == 16 and nik.value.isdigit() and nik.value[6:12] not in nik.masked


@MANY
@given(st.text(alphabet=string.digits + " -/abc\n", max_size=200))
def test_no_nik_survives_masking(text: str) -> None:
    tried("nik-masking", text)
    masked = mask_niks_in(text)
    digits_run = max((len(r) for r in "".join(c if c.isdigit() else " " for c in masked).split()), default=0)
    assert digits_run != 16


# -- QR payloads ------------------------------------------------------------------------------

VALID_WA = "ADMWA1|R0123456789AB|abcdefghijklmnopqrstuvwx"
VALID_DOC = "ADMDOC1|kk|3201012402240011|D0123456789AB|0123456789abcdef0123"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from([VALID_WA, VALID_DOC]))
    i = draw(st.integers(0, len(base)))
    op = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "repeat"]))
    ch = draw(st.characters())
    return {"insert": base[:i] + ch + base[i:], "delete": base[:i] + base[i + 1:],
            "replace": base[:i] + ch + base[i + 1:], "truncate": base[:i], "repeat": base * (1 + i % 3)}[op]


@MANY
@given(st.one_of(st.text(max_size=600), mutated()))
def test_qr_payloads(text: str) -> None:
    tried("qr", text)
    kind = barcodes.classify(text)
    for parse in (barcodes.parse_request_qr, barcodes.parse_document_qr):
        try:
            out = parse(text)
        except barcodes.PayloadError as exc:
            assert exc.code and exc.citizen_message
            continue
        assert out.payload == text and len(text) <= barcodes.MAX_PAYLOAD_CHARS and text.isascii()
        assert kind == ("request" if parse is barcodes.parse_request_qr else "document")


# -- ESC/POS status bits ----------------------------------------------------------------------

def test_every_status_byte_decodes() -> None:
    for byte in [None, *range(256)]:
        tried("escpos-status", byte)
        online, paper = decode_online(byte), decode_paper(byte)
        if byte is None or byte & 0x93 != 0x12:  # the fixed bits are wrong: not a status byte
            assert online is DeviceState.UNKNOWN and paper is SupplyLevel.UNKNOWN
        assert paper is not SupplyLevel.OUT or (byte is not None and byte & 0x60)


class Garbage:
    """A receipt printer line that answers whatever the test says (or nothing)."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)

    def write(self, data: bytes) -> None:
        pass

    def read(self, timeout_s: float = 0.0) -> bytes:
        return self.answers.pop(0) if self.answers else b""


@SOME
@given(st.lists(st.binary(max_size=6), max_size=8))
def test_receipt_printer_answering_garbage_still_has_a_status(answers: list[bytes]) -> None:
    tried("escpos-replies", answers)
    printer = ReceiptPrinter("receipt_printer", stream_printer(Garbage(answers)), 48, True)
    status = printer.status()
    assert isinstance(status, DeviceStatus)
    if not any(answers):
        assert status.state is not DeviceState.ONLINE  # silence is never "ready"


# -- central's responses ----------------------------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                        max_size=5), max_leaves=20)
plausible = st.fixed_dictionaries({}, optional={
    "redemption_id": json_values, "documents": st.lists(st.dictionaries(
        st.sampled_from(["id", "kind", "number", "pages", "sha256"]), json_values), max_size=3),
    "identity": st.dictionaries(st.sampled_from(["nik", "name", "address", "x"]), json_values),
    "photo": json_values, "signature": json_values, "status": json_values, "nik": json_values, "error": json_values})
bodies = st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                   plausible.map(lambda v: json.dumps(v).encode()))


@MANY
@given(st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503]), bodies,
       st.sampled_from(["application/json", "application/pdf", "text/html", ""]))
def test_any_central_response_is_a_result_or_a_central_error(status: int, body: bytes, ctype: str) -> None:
    tried("central-responses", status, body, ctype)
    transport = httpx.MockTransport(lambda req: httpx.Response(status, content=body, headers={"Content-Type": ctype}))
    client = CentralClient("http://central.invalid", "ADM-T", b"k" * 32, timeout_s=1, retries=0, transport=transport)
    calls: list[Any] = [
        lambda: client.redeem("3201010508900001", "123456"),
        lambda: client.fetch("X1", Document("D1", DocumentKind.KTP_EL, "3201010508900001")),
        lambda: client.fetch("X1", Document("D2", DocumentKind.KK, "1", sha256="0" * 64)),
        lambda: client.verify(VALID_DOC),
        lambda: client.identify_qr(VALID_WA),
    ]
    for call in calls:
        try:
            out = call()
        except CentralError as exc:
            assert exc.citizen_message
            continue
        assert out is None or isinstance(out, Redemption | Document | Verdict | str)
        if isinstance(out, Redemption):
            assert all(isinstance(d.kind, DocumentKind) and d.pages >= 0 or d.pages < 0 for d in out.documents)
    client.close()


# -- configuration ----------------------------------------------------------------------------

KEYS = ["kiosk.id", "kiosk.data_dir", "kiosk.language", "central.url", "central.timeout_s", "central.retries",
        "pins.max_failures_per_nik", "pins.nik_lockout_s", "session.idle_timeout_s", "session.warn_before_s",
        "devices.card_printer.queue", "devices.card_printer.profile", "devices.card_printer.transport",
        "devices.poll_interval_s", "sim.mode", "sim.central_port", "ui.port", "status.port", "kiosk.nope", "nope.x",
        "devices.card_printer.enabled"]  # leaf keys: overrides come from code (the CLI), the file and env from people
values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=30),
                   st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@MANY
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_config_overrides(overrides: dict[str, Any]) -> None:
    tried("config-overrides", overrides)
    try:
        load(env={}, overrides=overrides)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@MANY
@given(st.dictionaries(st.sampled_from(["ADM_" + k.upper().replace(".", "__") for k in KEYS] + ["ADM_X", "ADM_"]),
                       st.text(max_size=20), max_size=6))
def test_config_environment(env: dict[str, str]) -> None:
    tried("config-env", env)
    try:
        load(env=env)
    except ConfigError as exc:
        assert exc.problems


toml_lines = st.lists(st.one_of(
    st.sampled_from(["[kiosk]", "[central]", "[pins]", "[devices.card_printer]", "[sim]", "[[x]]", "[kiosk", "]"]),
    st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(["id", "port", "retries", "mode", "queue", "data_dir", "x.y"]),
              st.sampled_from(['"a"', "1", "-1", "1.5", "true", "[1, 2]", "{a = 1}", '"""', "nan", "inf", "'x'", ""])),
    st.text(max_size=20)), max_size=12)


@SOME
@given(lines=toml_lines)
def test_config_file(lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    tried("config-file", lines)
    path = Path(tmp_path_factory.mktemp("cfg")) / "kiosk.toml"
    path.write_bytes("\n".join(lines).encode("utf-8"))
    try:
        load(path, env={})
    except ConfigError as exc:
        assert exc.problems
