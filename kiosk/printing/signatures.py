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

The check runs in a validator process of its own (``kiosk/printing/signature_worker.py``, through
``drivers/worker_process.py``): pyHanko adds about 18 MB to the process that imports it, which
would take the kiosk past its memory budget, so the kiosk's process never imports it. The
validator starts for the first A4 document (its start, 0.35 s or more on a busy machine, is
outside the check's deadline), serves the following ones, and stops after ``idle_s`` without
work; ``stop`` ends it at shutdown.

``DocumentSignatures.check`` raises ``TteInvalid`` (reason ``tte-invalid:<why>``) and nothing
else: a PDF that pyHanko cannot parse, a check that does not finish within ``timeout_s`` (the
validator is killed, so a pathological PDF holds neither the print worker nor a CPU, and the next
document gets a fresh one), a validator that dies or answers garbage (``checker-failed``), a
document over ``max_bytes`` and no trust anchor configured are all refusals.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import pem, x509

from drivers.base import N_, AdmError
from drivers.worker_process import WorkerFailed, WorkerProcess
from kiosk.config import ConfigError

log = logging.getLogger(__name__)
MAX_BYTES = 20 << 20
SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})
VERDICTS = frozenset({"unsigned", "unreadable", "modified", "untrusted", "expired", "revoked", "constraints",
                      "invalid"})  # what the validator may answer; anything else from it is garbage
WORKER_MODULE = "kiosk.printing.signature_worker"


class TteInvalid(AdmError):
    """The document's electronic signature did not pass: it is not printed. ``why`` is a short stable reason:
    unsigned | unreadable | modified | untrusted | expired | revoked | constraints | invalid | too-large |
    timeout | checker-failed | no-trust-anchor."""

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
    """Validates A4 documents against fixed trust anchors in a validator process; safe to share between threads
    (checks are served one at a time). ``worker`` replaces the validator process (a test's faulty one)."""

    def __init__(self, anchors: Sequence[x509.Certificate], timeout_s: float = 5.0, max_bytes: int = MAX_BYTES,
                 idle_s: float = 60.0, worker: WorkerProcess | None = None) -> None:
        self.anchors = list(anchors)
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.worker = worker or WorkerProcess(WORKER_MODULE, idle_s=idle_s)
        self._pem = "".join(pem.armor("CERTIFICATE", a.dump()).decode() for a in self.anchors)

    @classmethod
    def from_files(cls, paths: Sequence[str | Path], timeout_s: float = 5.0, idle_s: float = 60.0
                   ) -> DocumentSignatures:
        """Raises ``ConfigError`` when an anchor file cannot be read or holds no certificate."""
        try:
            return cls(load_anchors(paths), timeout_s, idle_s=idle_s)
        except (OSError, ValueError) as exc:
            raise ConfigError([f"'documents.tte_trust_anchors': {exc}"]) from exc

    def check(self, pdf: bytes) -> SignedBy:
        """Who signed ``pdf`` when it may be printed; else raises ``TteInvalid`` (and never anything else)."""
        if not self.anchors:
            raise TteInvalid("no-trust-anchor")
        if len(pdf) > self.max_bytes:
            raise TteInvalid("too-large")
        try:
            answer, _ = self.worker.call({"anchors": self._pem}, pdf, self.timeout_s)
        except WorkerFailed as exc:
            if exc.timeout:
                log.warning("TTE check did not finish within %.1f s", self.timeout_s)
                raise TteInvalid("timeout") from exc
            raise TteInvalid("checker-failed") from exc
        return _answer(answer)

    def stop(self) -> None:
        """Ends the validator process (at shutdown); a later check starts a fresh one."""
        self.worker.stop()


def _answer(answer: dict[str, object]) -> SignedBy:
    """The validator's answer as a verdict: ``SignedBy`` or the refusal; anything malformed is ``checker-failed``."""
    why = answer.get("why")
    if why is not None:
        if why in VERDICTS:
            raise TteInvalid(str(why))
    else:
        signer, office, at = answer.get("signer"), answer.get("office"), answer.get("signed_at")
        if isinstance(signer, str) and isinstance(office, str) and (at is None or isinstance(at, str)):
            try:
                return SignedBy(signer, office, dt.datetime.fromisoformat(at) if at else None)
            except ValueError:
                pass
    log.warning("the TTE validator answered garbage: %.200r", answer)
    raise TteInvalid("checker-failed")
