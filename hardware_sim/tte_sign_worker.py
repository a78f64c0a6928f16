"""The simulated central's signing process: pyHanko signs here, not in the process that runs the simulation.

In ``run --sim`` the central runs inside the kiosk's process; signing there would load pyHanko
(about 18 MB) into the kiosk's memory, which must stay under its budget. ``CentralTte`` starts this
process (``python -m hardware_sim.tte_sign_worker <pki directory>``, through
``drivers/worker_process.py``) for the first document it issues and reuses it. Each request says
which certificate signs (``signer``: signer | expired | foreign | none), the CRL to embed (``crl``,
base64 DER) and the fault to apply afterwards (``after``: tampered | updated | none); the body is
the PDF, or, with ``layout`` (kind, number, holder, members, qr), the document is laid out here
too (fpdf2 and its fonts are another 15 MB the kiosk's process need not carry). The answer's
body is the PDF as central sends it.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

from drivers.pdf_signatures import load_pyhanko
from drivers.worker_process import serve
from hardware_sim.documents import a4_pdf, sign_pdf, tampered, updated_after_signing, with_revocation_info
from hardware_sim.tte_pki import TtePki
from kiosk.model import DocumentKind, Identity


def handler(pki: TtePki) -> Any:
    def handle(header: dict[str, Any], pdf: bytes) -> tuple[dict[str, Any], bytes]:
        if layout := header.get("layout"):
            pdf = a4_pdf(DocumentKind(layout["kind"]), layout["number"], Identity(**layout["holder"]),
                         [Identity(**m) for m in layout["members"]], layout["qr"])
        if header["signer"] == "none":
            return {"ok": True}, pdf
        signer = {"expired": pki.expired_signer, "foreign": pki.foreign_signer}.get(header["signer"],
                                                                                    lambda: pki.signer)()
        signed = with_revocation_info(sign_pdf(pdf, signer), base64.b64decode(header["crl"]))
        if header.get("after") == "tampered":
            signed = tampered(signed)
        elif header.get("after") == "updated":
            signed = updated_after_signing(signed)
        return {"ok": True}, signed
    return handle


def main() -> None:
    load_pyhanko()
    serve(handler(TtePki(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
