"""The TTE check before an A4 document is printed: its PAdES signature, validated with pyHanko.

A KK or akta is printed only when every embedded signature
- is intact and covers the whole file (or the whole signed revision, followed only by
  updates that add validation data: pyHanko's ``LTA_UPDATES``): no byte changed after
  signing, no later incremental update that changes what is printed;
- chains to one of the configured trust anchors (``[documents] tte_trust_anchors``, PEM);
- was made with a certificate valid now and at the time the signature says it was made,
  with the key usages of a signing certificate (digitalSignature and nonRepudiation);
- is not revoked according to the revocation data the document embeds (its DSS, CRLs or
  OCSP responses). The kiosk never fetches revocation data: it must not go to the network,
  so a document without any is checked without.

``DocumentSignatures.check`` raises ``TteInvalid`` (reason ``tte-invalid:<why>``) and nothing
else: a PDF that pyHanko cannot parse, a check that does not finish within ``timeout_s``
(it runs on a worker thread: a pathological PDF cannot hold the print worker), a document
over ``max_bytes`` and no trust anchor configured are all refusals.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asn1crypto import pem, x509

from drivers.base import N_, AdmError
from drivers.pdf_signatures import load_pyhanko
from kiosk.config import ConfigError

if TYPE_CHECKING:
    from pyhanko.sign.validation.status import PdfSignatureStatus

log = logging.getLogger(__name__)
logging.getLogger("pyhanko").setLevel(logging.ERROR)  # a refused document is ours to log, once, without a traceback
MAX_BYTES = 20 << 20
SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})
# pyHanko's AdES sub-indications (pyhanko.sign.ades.report), by name: pyHanko itself (0.4 s and 30 MB to import)
# is loaded by the first check, not when the kiosk starts
_EXPIRED = {"EXPIRED", "NOT_YET_VALID", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED"}
_REVOKED = {"REVOKED", "REVOKED_NO_POE", "REVOKED_CA_NO_POE"}
_CONSTRAINTS = {"CHAIN_CONSTRAINTS_FAILURE", "SIG_CONSTRAINTS_FAILURE"}


class TteInvalid(AdmError):
    """The document's electronic signature did not pass: it is not printed. ``why`` is a short stable reason:
    unsigned | unreadable | modified | untrusted | expired | revoked | constraints | invalid | too-large |
    timeout | no-trust-anchor."""

    code = "tte-invalid"
    citizen_message = N_("This document's electronic signature (TTE) could not be verified, so it was not printed. "
                         "Your PIN is still valid. Please ask at the Dukcapil office counter.")

    def __init__(self, why: str) -> None:
        super().__init__(f"tte-invalid:{why}")
        self.why = why
        self.reason = f"tte-invalid:{why}"


@dataclass(frozen=True)
class SignedBy:
    """Who signed a document that passed: the certificate's common name and organisational unit, and when."""

    signer: str
    office: str
    signed_at: dt.datetime | None


def load_anchors(paths: Sequence[str | Path]) -> list[x509.Certificate]:
    """The trust anchors in the PEM files ``paths`` (each may hold several). Raises ``OSError``/``ValueError``."""
    anchors: list[x509.Certificate] = []
    for path in paths:
        data = Path(path).read_bytes()
        for _type, _headers, der in pem.unarmor(data, multiple=True):
            anchors.append(x509.Certificate.load(der))
    if paths and not anchors:
        raise ValueError(f"no certificate in {', '.join(str(p) for p in paths)}")
    return anchors


class DocumentSignatures:
    """Validates A4 documents against fixed trust anchors; safe to share between threads."""

    def __init__(self, anchors: Sequence[x509.Certificate], timeout_s: float = 5.0, max_bytes: int = MAX_BYTES) -> None:
        self.anchors = list(anchors)
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes

    @classmethod
    def from_files(cls, paths: Sequence[str | Path], timeout_s: float = 5.0) -> DocumentSignatures:
        """Raises ``ConfigError`` when an anchor file cannot be read or holds no certificate."""
        try:
            return cls(load_anchors(paths), timeout_s)
        except (OSError, ValueError) as exc:
            raise ConfigError([f"'documents.tte_trust_anchors': {exc}"]) from exc

    def check(self, pdf: bytes) -> SignedBy:
        """Who signed ``pdf`` when it may be printed; else raises ``TteInvalid`` (and never anything else)."""
        if not self.anchors:
            raise TteInvalid("no-trust-anchor")
        if len(pdf) > self.max_bytes:
            raise TteInvalid("too-large")
        load_pyhanko()  # the first time: 0.4 s or more on a busy machine, outside the check's deadline
        outcome: list[SignedBy | TteInvalid] = []

        def work() -> None:
            try:
                outcome.append(self._validate(pdf))
            except TteInvalid as exc:
                outcome.append(exc)
            except Exception as exc:  # noqa: BLE001 - whatever pyHanko makes of a hostile PDF is a refusal
                log.info("TTE check could not read the document: %s", type(exc).__name__)
                outcome.append(TteInvalid("unreadable"))

        worker = threading.Thread(target=work, name="tte-check", daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        if not outcome:
            log.warning("TTE check did not finish within %.1f s", self.timeout_s)
            raise TteInvalid("timeout")
        result = outcome[0]
        if isinstance(result, TteInvalid):
            raise result
        return result

    def _validate(self, pdf: bytes) -> SignedBy:
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
        kwargs: dict[str, Any] = {"trust_roots": self.anchors, "allow_fetching": False, "revocation_mode": "soft-fail"}
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
