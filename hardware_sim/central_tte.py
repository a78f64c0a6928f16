"""The simulated central's signing server: every KK and akta gets the head of office's TTE.

``CentralTte`` holds the hierarchy (``hardware_sim/tte_pki.py``, made on first start in the
central's data directory) and signs each A4 document as it is issued, embedding the
intermediate's current CRL (PAdES-LT style, in the document's DSS) so that a kiosk, which never
fetches, can still check revocation. Its ``mode`` is the fault a test scripts ("central sends
an unsigned document", "a byte changed after signing", "an incremental update after signing",
"signed with an expired certificate", "signed under a foreign root", "the signer's certificate
revoked in the CRL the document embeds"); it applies to the documents issued while it is set.
``SignedRecord`` is central's record of who signed, shown by "Cek keaslian dokumen".
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hardware_sim.documents import sign_pdf, tampered, updated_after_signing, with_revocation_info
from hardware_sim.tte_pki import OFFICE, TtePki

MODES = ("signed", "unsigned", "tampered", "updated", "expired", "foreign", "revoked")


@dataclass(frozen=True)
class SignedRecord:
    signer: str
    office: str
    signed_at: str  # ISO 8601, UTC; '' when central sent the document unsigned


class CentralTte:
    def __init__(self, directory: Path) -> None:
        self.pki = TtePki(directory)
        self.mode = "signed"

    @property
    def trust_anchor(self) -> Path:
        return self.pki.root_path

    def sign(self, pdf: bytes) -> tuple[bytes, SignedRecord]:
        """``pdf`` as central sends it under the current ``mode``, and the record of its signature.

        On a thread of its own: pyHanko's synchronous API runs ``asyncio.run``, which refuses to start
        inside a running event loop (a test driving Chromium through Playwright's sync API has one)."""
        with ThreadPoolExecutor(1, thread_name_prefix="tte-sign") as pool:
            return pool.submit(self._sign, pdf).result()

    def _sign(self, pdf: bytes) -> tuple[bytes, SignedRecord]:
        if self.mode not in MODES:
            raise ValueError(f"unknown TTE mode {self.mode!r}; one of {', '.join(MODES)}")
        if self.mode == "unsigned":
            return pdf, SignedRecord("", OFFICE, "")
        signer = {"expired": self.pki.expired_signer, "foreign": self.pki.foreign_signer}.get(
            self.mode, lambda: self.pki.signer)()
        at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        signed = with_revocation_info(sign_pdf(pdf, signer), self.pki.crl(
            (signer.cert,) if self.mode == "revoked" else ()))
        if self.mode == "tampered":
            signed = tampered(signed)
        elif self.mode == "updated":
            signed = updated_after_signing(signed)
        return signed, SignedRecord(signer.name, OFFICE, at)
