"""The TTE check itself (kiosk/printing/signatures.py), over documents the simulated central's signer makes.

Every refusal is a ``TteInvalid`` with a stable reason, and nothing else escapes: hostile bytes,
a check past its deadline, a missing anchor. A document without embedded revocation data is
checked without (the kiosk never fetches); one with a CRL is checked against it.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hardware_sim import citizens
from hardware_sim.documents import a4_pdf, sign_pdf, tampered, updated_after_signing, with_revocation_info
from hardware_sim.tte_pki import SIGNER_NAME, Signer, TtePki, _cert, _name
from kiosk.config import ConfigError, load
from kiosk.model import DocumentKind
from kiosk.printing.signatures import DocumentSignatures, TteInvalid


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TtePki:
    return TtePki(tmp_path_factory.mktemp("tte"))


@pytest.fixture(scope="module")
def plain() -> bytes:
    ident = citizens.DEMO[1][0]
    return a4_pdf(DocumentKind.AKTA_KELAHIRAN, "3201-LT-1", ident, [], "ADMDOC1|akta-kelahiran|3201-LT-1|D1|x")


def _why(check: DocumentSignatures, pdf: bytes) -> str:
    with pytest.raises(TteInvalid) as info:
        check.check(pdf)
    assert info.value.code == "tte-invalid" and info.value.citizen_message
    return info.value.why


def test_a_signed_document_says_who_signed_it(pki: TtePki, plain: bytes) -> None:
    signed = DocumentSignatures.from_files([pki.root_path]).check(sign_pdf(plain, pki.signer))
    assert signed.signer == SIGNER_NAME == "Kepala Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bogor"
    assert signed.office == "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bogor"
    assert signed.signed_at is not None and abs(signed.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_embedded_revocation_data_is_used_and_never_fetched(pki: TtePki, plain: bytes) -> None:
    check = DocumentSignatures.from_files([pki.root_path])
    signed = sign_pdf(plain, pki.signer)
    check.check(signed)  # the certificate names a CRL at an address that does not resolve: not fetched
    check.check(with_revocation_info(signed, pki.crl()))  # a later DSS update adds validation data only
    assert _why(check, with_revocation_info(signed, pki.crl((pki.signer.cert,)))) == "revoked"


def test_each_refusal_has_its_reason(pki: TtePki, plain: bytes) -> None:
    check = DocumentSignatures.from_files([pki.root_path])
    signed = sign_pdf(plain, pki.signer)
    assert _why(check, plain) == "unsigned"
    assert _why(check, tampered(signed)) == "modified"
    assert _why(check, updated_after_signing(signed)) == "modified"
    assert _why(check, updated_after_signing(with_revocation_info(signed, pki.crl()))) == "modified"
    assert _why(check, sign_pdf(plain, pki.expired_signer())) == "expired"
    assert _why(check, sign_pdf(plain, pki.foreign_signer())) == "untrusted"
    assert _why(DocumentSignatures([]), signed) == "no-trust-anchor"


def test_a_certificate_without_signing_key_usage_is_refused(pki: TtePki, plain: bytes) -> None:
    """A CA certificate under the trusted intermediate (keyCertSign only) cannot sign a document."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    mid = pki.signer.chain[0]
    cert = _cert(_name("Bukan Penandatangan", "Lain"), key, mid.subject, pki._intermediate_key(), True,
                 now - dt.timedelta(days=1), now + dt.timedelta(days=30), mid)
    check = DocumentSignatures.from_files([pki.root_path])
    assert _why(check, sign_pdf(plain, Signer(cert, key, pki.signer.chain))) == "constraints"


@pytest.mark.parametrize("junk", [b"", b"%PDF-1.7\n", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
                                  b"\x00" * 4096], ids=["empty", "header", "no-xref", "zeros"])
def test_hostile_bytes_are_a_refusal_not_an_exception(pki: TtePki, junk: bytes) -> None:
    assert _why(DocumentSignatures.from_files([pki.root_path]), junk) in ("unreadable", "unsigned")


def test_a_truncated_document_is_refused(pki: TtePki, plain: bytes) -> None:
    signed = sign_pdf(plain, pki.signer)
    assert _why(DocumentSignatures.from_files([pki.root_path]), signed[: len(signed) * 2 // 3]) in (
        "unreadable", "unsigned", "modified")


def test_the_check_is_bounded_in_time_and_size(pki: TtePki, plain: bytes) -> None:
    signed = sign_pdf(plain, pki.signer)
    anchors = DocumentSignatures.from_files([pki.root_path]).anchors
    assert _why(DocumentSignatures(anchors, timeout_s=1e-6), signed) == "timeout"
    assert _why(DocumentSignatures(anchors, max_bytes=len(signed) - 1), signed) == "too-large"


def test_an_unreadable_anchor_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "empty.pem").write_text("not a certificate\n")
    for path in (tmp_path / "empty.pem", tmp_path / "missing.pem"):
        with pytest.raises(ConfigError):
            DocumentSignatures.from_files([path])
    with pytest.raises(ConfigError, match="documents.tte_check_timeout_s"):
        load(env={}, overrides={"sim.mode": "inprocess", "documents.tte_check_timeout_s": 0})


def test_a_kiosk_with_an_unreadable_anchor_file_does_not_start(make_kiosk: Any, tmp_path: Path) -> None:
    """Read when the kiosk is built (like the secret files): the config report, never a traceback."""
    with pytest.raises(ConfigError, match="documents.tte_trust_anchors"):
        make_kiosk(start=False, **{"documents.tte_trust_anchors": str(tmp_path / "missing.pem")})


def test_the_check_works_inside_a_running_event_loop(pki: TtePki, plain: bytes) -> None:
    """pyHanko's synchronous API calls ``asyncio.run``; the check runs it on a thread of its own, so a caller
    with a loop running (an async server, Playwright's sync API in a test) gets a verdict, not a RuntimeError."""
    import asyncio

    check = DocumentSignatures.from_files([pki.root_path])
    signed = sign_pdf(plain, pki.signer)

    async def inside() -> str:
        return check.check(signed).signer

    said: list[str] = []  # a thread of its own: the test process itself may have a loop running (Playwright's)
    loop_thread = threading.Thread(target=lambda: said.append(asyncio.run(inside())))
    loop_thread.start()
    loop_thread.join(60)
    assert said == [SIGNER_NAME]
