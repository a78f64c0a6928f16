"""The TTE validator's own process: pyHanko runs here, never in the kiosk's process.

Started by ``kiosk/printing/signatures.py`` (``python -m kiosk.printing.signature_worker``, through
``drivers/worker_process.py``) for the first A4 document, reused for the following ones, stopped
when idle. Each request is a document (the body) and the trust anchors (PEM, in the header); each
answer is who signed it (``signer``, ``office``, ``signed_at``) or the refusal's reason (``why``).
Whatever pyHanko makes of a hostile PDF is the refusal ``unreadable``; a crash or a hang of this
process is the kiosk's to handle (the document is refused, the process is replaced).
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from asn1crypto import pem, x509

from drivers.pdf_signatures import load_pyhanko
from drivers.worker_process import serve
from kiosk.printing.signatures import SIGNING_USAGES, SignedBy, TteInvalid

if TYPE_CHECKING:
    from pyhanko.sign.validation.status import PdfSignatureStatus

log = logging.getLogger(__name__)
# pyHanko's AdES sub-indications (pyhanko.sign.ades.report), by name
_EXPIRED = {"EXPIRED", "NOT_YET_VALID", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED"}
_REVOKED = {"REVOKED", "REVOKED_NO_POE", "REVOKED_CA_NO_POE"}
_CONSTRAINTS = {"CHAIN_CONSTRAINTS_FAILURE", "SIG_CONSTRAINTS_FAILURE"}


def handle(header: dict[str, Any], pdf: bytes) -> tuple[dict[str, Any], bytes]:
    """One request: the verdict on ``pdf`` against the anchors in ``header['anchors']``."""
    try:
        anchors = [x509.Certificate.load(der) for _t, _h, der in
                   pem.unarmor(str(header["anchors"]).encode(), multiple=True)]
        signed = validate(pdf, anchors)
    except TteInvalid as exc:
        return {"why": exc.why}, b""
    except Exception as exc:  # noqa: BLE001 - whatever pyHanko makes of a hostile PDF is a refusal
        log.info("TTE check could not read the document: %s", type(exc).__name__)
        return {"why": "unreadable"}, b""
    return {"signer": signed.signer, "office": signed.office,
            "signed_at": signed.signed_at.isoformat() if signed.signed_at else None}, b""


def validate(pdf: bytes, anchors: list[x509.Certificate]) -> SignedBy:
    """Who signed ``pdf`` when every signature passes; else raises ``TteInvalid``."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    usage = KeyUsageConstraints(key_usage=set(SIGNING_USAGES), match_all_key_usages=True)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = reader.embedded_signatures
    if not signatures:
        raise TteInvalid("unsigned")
    kwargs: dict[str, Any] = {"trust_roots": anchors, "allow_fetching": False, "revocation_mode": "soft-fail"}
    dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    signed: SignedBy | None = None
    for embedded in signatures:
        context = dss.as_validation_context(kwargs) if dss else ValidationContext(**kwargs)
        try:
            status = validate_pdf_signature(embedded, context, key_usage_settings=usage)
        except SignatureValidationError as exc:
            log.info("TTE signature not valid: %s", exc)
            raise TteInvalid("invalid") from exc
        _verdict(status)
        signed = signed or _signed_by(status)
    assert signed is not None
    return signed


def _verdict(status: PdfSignatureStatus) -> None:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if not status.intact or not status.valid:
        raise TteInvalid("modified" if not status.intact else "invalid")
    later_updates_harmless = (status.coverage is SignatureCoverageLevel.ENTIRE_REVISION
                              and status.modification_level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES))
    if status.coverage is not SignatureCoverageLevel.ENTIRE_FILE and not later_updates_harmless:
        raise TteInvalid("modified")
    indic = status.trust_problem_indic.name if status.trust_problem_indic else ""
    if status.revoked or indic in _REVOKED:
        raise TteInvalid("revoked")
    if not status.trusted:
        if indic in _EXPIRED:
            raise TteInvalid("expired")
        if indic in _CONSTRAINTS:
            raise TteInvalid("constraints")  # the signer's key usage, or a CA's basic constraints
        raise TteInvalid("untrusted")  # no chain to an anchor, or one pyHanko could not build
    cert = status.signing_cert
    when = status.signer_reported_dt
    if when is not None and not cert.not_valid_before <= when <= cert.not_valid_after:
        raise TteInvalid("expired")


def _signed_by(status: PdfSignatureStatus) -> SignedBy:
    subject = status.signing_cert.subject.native
    return SignedBy(str(subject.get("common_name", "")), str(subject.get("organizational_unit_name", "")),
                    status.signer_reported_dt)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="tte-worker %(levelname)s %(message)s")
    logging.getLogger("pyhanko").setLevel(logging.ERROR)  # a refused document is logged once, without a traceback
    load_pyhanko()
    serve(handle)


if __name__ == "__main__":
    main()
