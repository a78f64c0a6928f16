"""The simulated central's signing server: every KK and akta gets the head of office's TTE.

``CentralTte`` holds the hierarchy (``hardware_sim/tte_pki.py``, made on first start in the
central's data directory) and signs each A4 document as it is issued, embedding the
intermediate's current CRL (PAdES-LT style, in the document's DSS) so that a kiosk, which never
fetches, can still check revocation. The signing itself runs in a process of its own
(``hardware_sim/tte_sign_worker.py``), started for the first document and stopped when idle:
in ``run --sim`` this central lives in the kiosk's process, which must not load pyHanko.
Its ``mode`` is the fault a test scripts ("central sends
an unsigned document", "a byte changed after signing", "an incremental update after signing",
"signed with an expired certificate", "signed under a foreign root", "the signer's certificate
revoked in the CRL the document embeds"); it applies to the documents issued while it is set.
``SignedRecord`` is central's record of who signed, shown by "Cek keaslian dokumen".
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.worker_process import WorkerProcess
from hardware_sim.tte_pki import OFFICE, TtePki
from kiosk.model import DocumentKind, Identity

SIGN_BOUND_S = 30.0  # signing on a loaded two-core machine takes well under a second
MODES = ("signed", "unsigned", "tampered", "updated", "expired", "foreign", "revoked")


@dataclass(frozen=True)
class SignedRecord:
    signer: str
    office: str
    signed_at: str  # ISO 8601, UTC; '' when central sent the document unsigned


class CentralTte:
    def __init__(self, directory: Path, idle_s: float = 60.0) -> None:
        self.pki = TtePki(directory)
        self.mode = "signed"
        self.worker = WorkerProcess("hardware_sim.tte_sign_worker", [str(directory)], idle_s=idle_s)

    @property
    def trust_anchor(self) -> Path:
        return self.pki.root_path

    def sign(self, pdf: bytes) -> tuple[bytes, SignedRecord]:
        """``pdf`` as central sends it under the current ``mode``, and the record of its signature.

        Raises ``drivers.worker_process.WorkerFailed`` when the signing process fails (central cannot issue)."""
        return self._issue({}, pdf)

    def issue(self, kind: DocumentKind, number: str, holder: Identity, members: list[Identity],
              qr_payload: str) -> tuple[bytes, SignedRecord]:
        """A new A4 document (``documents.a4_pdf``), laid out and signed in the signing process: like ``sign``."""
        layout = {"kind": kind.value, "number": number, "holder": dataclasses.asdict(holder),
                  "members": [dataclasses.asdict(m) for m in members], "qr": qr_payload}
        return self._issue({"layout": layout}, b"")

    def _issue(self, request: dict[str, Any], pdf: bytes) -> tuple[bytes, SignedRecord]:
        if self.mode not in MODES:
            raise ValueError(f"unknown TTE mode {self.mode!r}; one of {', '.join(MODES)}")
        which = self.mode if self.mode in ("expired", "foreign", "unsigned") else "signer"
        if which == "unsigned":
            _, out = self.worker.call({**request, "signer": "none"}, pdf, SIGN_BOUND_S)
            return out, SignedRecord("", OFFICE, "")
        signer = {"expired": self.pki.expired_signer, "foreign": self.pki.foreign_signer}.get(
            which, lambda: self.pki.signer)()
        at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        crl = self.pki.crl((signer.cert,) if self.mode == "revoked" else ())
        after = self.mode if self.mode in ("tampered", "updated") else "none"
        _, signed = self.worker.call({**request, "signer": which, "crl": base64.b64encode(crl).decode(),
                                      "after": after}, pdf, SIGN_BOUND_S)
        return signed, SignedRecord(signer.name, OFFICE, at)

    def stop(self) -> None:
        """Ends the signing process; the next document starts a fresh one."""
        self.worker.stop()
