"""Seeded demo citizens: identities, generated photos and the documents central holds for them."""

from __future__ import annotations

import io
import random
from dataclasses import asdict

from PIL import Image, ImageDraw

from kiosk.model import DocumentKind, Identity

_BASE = dict(address="JL. MERDEKA NO. 17", rt_rw="003/007", village="CIBINONG", district="CIBINONG",
             regency="KABUPATEN BOGOR", province="JAWA BARAT", nationality="WNI", valid_until="SEUMUR HIDUP",
             issue_place="KAB. BOGOR", issue_date="14-02-2024")

DEMO: list[tuple[Identity, list[DocumentKind]]] = [
    (Identity(nik="3201010508900001", name="BUDI SANTOSO", birth_place="BOGOR", birth_date="05-08-1990",
              sex="LAKI-LAKI", blood_type="O", religion="ISLAM", marital_status="KAWIN", occupation="WIRASWASTA",
              **_BASE), [DocumentKind.KTP_EL, DocumentKind.KK]),
    (Identity(nik="3201014501920002", name="SITI AMINAH", birth_place="JAKARTA", birth_date="05-01-1992",
              sex="PEREMPUAN", blood_type="A", religion="ISLAM", marital_status="KAWIN", occupation="GURU",
              **_BASE), [DocumentKind.KTP_EL, DocumentKind.KK, DocumentKind.AKTA_KELAHIRAN]),
    (Identity(nik="3201011203150003", name="RIZKY PRATAMA", birth_place="BOGOR", birth_date="12-03-2015",
              sex="LAKI-LAKI", blood_type="-", religion="ISLAM", marital_status="BELUM KAWIN",
              occupation="PELAJAR/MAHASISWA", **_BASE), [DocumentKind.KIA, DocumentKind.AKTA_KELAHIRAN]),
    (Identity(nik="3271015707850004", name="DEWI LESTARI", birth_place="BANDUNG", birth_date="17-07-1985",
              sex="PEREMPUAN", blood_type="B", religion="KRISTEN", marital_status="CERAI HIDUP",
              occupation="KARYAWAN SWASTA", **{**_BASE, "regency": "KOTA BOGOR"}),
     [DocumentKind.KTP_EL, DocumentKind.KK, DocumentKind.AKTA_KEMATIAN]),
]

KK_NUMBER = "3201012402240011"
# Where central places a citizen for "the nearest kiosk" (the address region's centre); else the issuing office.
REGION_CENTRES = {"CIBINONG": (-6.4817, 106.8540), "KOTA BOGOR": (-6.5971, 106.8060)}
ISSUING_OFFICE = (-6.4851, 106.8424)  # Disdukcapil Kabupaten Bogor, Cibinong


def home_location(identity: Identity) -> tuple[float, float]:
    """The citizen's address region (by village, then regency), or the issuing office's when unknown."""
    return REGION_CENTRES.get(identity.village if identity.regency == "KABUPATEN BOGOR" else identity.regency,
                              ISSUING_OFFICE)


def identity_dict(identity: Identity) -> dict[str, str]:
    return asdict(identity)


def photo_jpeg(identity: Identity, size: tuple[int, int] = (300, 400)) -> bytes:
    """A generated, clearly synthetic portrait (red background as on a KTP-el), ~15 KB."""
    rnd = random.Random(identity.nik)
    img = Image.new("RGB", size, (200, 30, 40) if int(identity.nik[-1]) % 2 else (20, 60, 160))
    d = ImageDraw.Draw(img)
    w, h = size
    skin = (rnd.randint(150, 230), rnd.randint(110, 180), rnd.randint(80, 140))
    d.ellipse((w * 0.28, h * 0.16, w * 0.72, h * 0.58), fill=skin)
    d.rectangle((w * 0.15, h * 0.62, w * 0.85, h), fill=(30, 30, 30))
    d.ellipse((w * 0.38, h * 0.32, w * 0.44, h * 0.36), fill=(20, 20, 20))
    d.ellipse((w * 0.56, h * 0.32, w * 0.62, h * 0.36), fill=(20, 20, 20))
    for _ in range(1500):  # texture, so the JPEG has a realistic size
        x, y = rnd.randrange(w), rnd.randrange(h)
        d.point((x, y), fill=tuple(min(255, c + rnd.randint(-25, 25)) for c in img.getpixel((x, y))))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def signature_png(identity: Identity, size: tuple[int, int] = (240, 80)) -> bytes:
    rnd = random.Random("sig" + identity.nik)
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    pts = [(10 + i * (size[0] - 20) / 12, size[1] / 2 + rnd.randint(-25, 25)) for i in range(13)]
    d.line(pts, fill=0, width=3)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()
