"""The simulated central's document factory: A4 PDFs with a QR code at the bottom right, signed with a TTE.

``a4_pdf`` lays the document out (fpdf2); ``sign_pdf`` adds the head of office's PAdES
signature (pyHanko, a /Sig field covering the whole file) as central's signing server would.
``tampered`` and ``updated_after_signing`` make what the kiosk must refuse: a byte changed
inside the signed range, and a later incremental update that changes the content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import threading
from collections.abc import Callable

import segno
from cryptography.hazmat.primitives import serialization

from drivers.pdf_signatures import load_pyhanko
from hardware_sim.tte_pki import OFFICE, Signer
from kiosk.model import DocumentKind, Identity

_FIXED_DATE = dt.datetime(2024, 2, 14, 9, 0, tzinfo=dt.UTC)
TITLES = {
    DocumentKind.KK: "KARTU KELUARGA",
    DocumentKind.AKTA_KELAHIRAN: "KUTIPAN AKTA KELAHIRAN",
    DocumentKind.AKTA_KEMATIAN: "KUTIPAN AKTA KEMATIAN",
    DocumentKind.SURAT_PINDAH: "SURAT KETERANGAN PINDAH",
    DocumentKind.SURAT_KETERANGAN: "SURAT KETERANGAN PENGGANTI KTP-EL",
}


def document_qr_payload(key: bytes, kind: DocumentKind, number: str, doc_id: str) -> str:
    """What the QR on a printed A4 document carries: enough for central to verify, nothing personal."""
    body = f"ADMDOC1|{kind.value}|{number}|{doc_id}"
    tag = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:20]
    return f"{body}|{tag}"


def a4_pdf(kind: DocumentKind, number: str, holder: Identity, members: list[Identity], qr_payload: str,
           office: str = "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KABUPATEN BOGOR") -> bytes:
    from fpdf import FPDF  # 0.2 s to import: only when a request is issued

    pdf = FPDF(orientation="L" if kind is DocumentKind.KK else "P", format="A4")
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(TITLES.get(kind, kind.value))
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, TITLES.get(kind, kind.value.upper()), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 11)
    pdf.cell(0, 7, f"No. {number}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    if kind is DocumentKind.KK:
        pdf.set_font("helvetica", "", 9)
        pdf.cell(0, 6, f"Alamat: {holder.address} RT/RW {holder.rt_rw}, {holder.village}, {holder.district}, "
                 f"{holder.regency}, {holder.province}", new_x="LMARGIN", new_y="NEXT")
        cols = ("No", "Nama Lengkap", "NIK", "Jenis Kelamin", "Tempat Lahir", "Tanggal Lahir", "Agama",
                "Pekerjaan", "Status Perkawinan")
        with pdf.table(col_widths=(8, 50, 38, 26, 28, 26, 20, 42, 30), text_align="LEFT") as table:
            table.row(cols)
            for i, m in enumerate(members, 1):
                table.row((str(i), m.name, m.nik, m.sex, m.birth_place, m.birth_date, m.religion, m.occupation,
                           m.marital_status))
    else:
        pdf.set_font("helvetica", "", 12)
        lines = [
            f"Berdasarkan data kependudukan, telah tercatat atas nama {holder.name},",
            f"NIK {holder.nik}, lahir di {holder.birth_place} pada tanggal {holder.birth_date}.",
        ]
        if kind is DocumentKind.AKTA_KEMATIAN:
            lines.append("Telah meninggal dunia sebagaimana tercatat dalam register akta kematian.")
        if kind is DocumentKind.SURAT_KETERANGAN:
            lines.append("KTP-el yang bersangkutan telah selesai diproses dan menunggu blangko. Surat keterangan "
                         "ini berlaku sebagai pengganti KTP-el sampai KTP-el dicetak.")
        for line in lines:
            pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 8)
    y = pdf.h - 50
    pdf.set_xy(pdf.l_margin, y)
    pdf.multi_cell(pdf.w - 80, 5, f"Dokumen ini telah ditandatangani secara elektronik oleh {office} "
                   "menggunakan sertifikat elektronik (TTE). Pindai kode QR untuk memeriksa keaslian.")
    qr = io.BytesIO()
    segno.make(qr_payload, error="m").save(qr, kind="png", scale=6, border=2)
    qr.seek(0)
    pdf.image(qr, x=pdf.w - 55, y=pdf.h - 55, w=40, h=40)
    return bytes(pdf.output())


def sign_pdf(pdf: bytes, signer: Signer) -> bytes:
    """``pdf`` with a PAdES baseline signature by ``signer`` made now, its chain embedded."""
    from asn1crypto import keys, x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    load_pyhanko()  # asn1crypto learns pyHanko's attribute names even after a chip's SOD was made
    der = serialization.Encoding.DER
    key = keys.PrivateKeyInfo.load(signer.key.private_bytes(der, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
    chain = [x509.Certificate.load(c.public_bytes(der)) for c in signer.chain]
    simple = signers.SimpleSigner(signing_cert=x509.Certificate.load(signer.cert.public_bytes(der)), signing_key=key,
                                  cert_registry=SimpleCertificateStore.from_certs(chain))
    meta = signers.PdfSignatureMetadata(field_name="TTE", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
                                        reason="Tanda tangan elektronik dokumen kependudukan",
                                        location=OFFICE, name=signer.name)
    out = io.BytesIO()
    _outside_any_event_loop(lambda: signers.PdfSigner(meta, simple).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out))
    return out.getvalue()


def _outside_any_event_loop(work: Callable[[], object]) -> None:
    """Runs ``work`` on a thread of its own: pyHanko's synchronous API calls ``asyncio.run``, which refuses to
    run where an event loop is already running (a test process after Playwright's sync API, for one)."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            failed.append(exc)

    t = threading.Thread(target=run, name="pyhanko-sign")
    t.start()
    t.join()
    if failed:
        raise failed[0]


def with_revocation_info(signed: bytes, crl_der: bytes) -> bytes:
    """``signed`` with a CRL in its DSS, added as an incremental update (PAdES-LT's validation data)."""
    from asn1crypto import crl
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    out = io.BytesIO(signed)
    _outside_any_event_loop(lambda: DocumentSecurityStore.add_dss(out, None, crls=[crl.CertificateList.load(crl_der)],
                                                                  embed_roots=False))
    return out.getvalue()


def tampered(signed: bytes) -> bytes:
    """One byte changed inside the signed range (the title in the document information)."""
    at = signed.index(b"/Title")
    title_end = signed.index(b")", at)
    return signed[:title_end - 1] + bytes([signed[title_end - 1] ^ 0x01]) + signed[title_end:]


def updated_after_signing(signed: bytes) -> bytes:
    """A later incremental update that writes over the first page: the signed revision is intact, the file is not."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    stream = writer.add_object(generic.StreamObject(stream_data=b"1 1 1 rg 40 40 300 60 re f"))
    writer.add_stream_to_page(0, stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
