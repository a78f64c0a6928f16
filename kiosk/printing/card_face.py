"""KTP-el and KIA card faces, rendered at the card printer profile's native resolution.

The layout is in millimetres on the 85.6 x 54 mm card and converted once per profile, so
text lands on whole device pixels at any dpi (blurry spacing at non-native resolution is
a known complaint about today's kiosks).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from kiosk.model import DocumentKind, Identity

# (label, Identity field) rows printed left of the photo, as on the KTP-el
KTP_ROWS: list[tuple[str, str]] = [
    ("Nama", "name"), ("Tempat/Tgl Lahir", "_birth"), ("Jenis Kelamin", "_sex_blood"), ("Alamat", "address"),
    ("RT/RW", "rt_rw"), ("Kel/Desa", "village"), ("Kecamatan", "district"), ("Agama", "religion"),
    ("Status Perkawinan", "marital_status"), ("Pekerjaan", "occupation"), ("Kewarganegaraan", "nationality"),
    ("Berlaku Hingga", "valid_until"),
]
KIA_ROWS: list[tuple[str, str]] = [
    ("Nama", "name"), ("Tempat/Tgl Lahir", "_birth"), ("Jenis Kelamin", "sex"), ("Alamat", "address"),
    ("Kel/Desa", "village"), ("Kecamatan", "district"), ("Agama", "religion"), ("Kewarganegaraan", "nationality"),
]


@dataclass(frozen=True)
class CardLayout:
    """Millimetre geometry of a card face."""

    width_mm: float = 85.6
    height_mm: float = 54.0
    margin_mm: float = 2.5
    header_mm: float = 7.0
    nik_mm: float = 9.5
    row_mm: float = 2.75
    label_mm: float = 19.0
    photo_box_mm: tuple[float, float, float, float] = (63.0, 13.0, 20.0, 26.0)  # x, y, w, h


LAYOUT = CardLayout()


@lru_cache(maxsize=32)
def _font(px: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf",):
        try:
            return ImageFont.truetype(name, px)
        except OSError:
            pass
    return ImageFont.load_default(size=px)


def _value(ident: Identity, key: str) -> str:
    if key == "_birth":
        return f"{ident.birth_place}, {ident.birth_date}"
    if key == "_sex_blood":
        return f"{ident.sex}    Gol. Darah: {ident.blood_type}"
    return str(getattr(ident, key))


def render_front(kind: DocumentKind, ident: Identity, photo: bytes | None, signature: bytes | None,
                 size_px: tuple[int, int]) -> Image.Image:
    """The card front as an RGB image of exactly ``size_px``."""
    w, h = size_px
    mm = w / LAYOUT.width_mm
    px = lambda v: round(v * mm)  # noqa: E731 - a unit conversion reads best inline
    top, bottom = ((180, 215, 240), (235, 245, 252)) if kind is DocumentKind.KTP_EL else ((250, 215, 170), (255, 245, 230))
    img = Image.new("RGB", size_px, bottom)
    d = ImageDraw.Draw(img)
    for y in range(h):  # vertical background gradient
        t = y / max(1, h - 1)
        d.line([(0, y), (w, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    m = px(LAYOUT.margin_mm)
    title_font, body_font, bold_font = _font(px(2.6), True), _font(px(1.95)), _font(px(1.95), True)
    d.text((w / 2, m), f"PROVINSI {ident.province}", font=title_font, fill=(0, 0, 0), anchor="mt")
    d.text((w / 2, m + px(3.2)), ident.regency, font=title_font, fill=(0, 0, 0), anchor="mt")
    y = m + px(LAYOUT.header_mm)
    nik_font = _font(px(3.4), True)
    d.text((m, y), "NIK", font=nik_font, fill=(0, 0, 0))
    d.text((m + px(LAYOUT.label_mm) - px(4), y), f": {ident.nik}", font=nik_font, fill=(0, 0, 0))
    y += px(LAYOUT.nik_mm - LAYOUT.header_mm + 2.5)
    rows = KTP_ROWS if kind is DocumentKind.KTP_EL else KIA_ROWS
    max_text = px(LAYOUT.photo_box_mm[0] - 1) - (m + px(LAYOUT.label_mm))
    for label, key in rows:
        d.text((m, y), label, font=body_font, fill=(0, 0, 0))
        value = _value(ident, key)
        while d.textlength(": " + value, font=bold_font) > max_text and len(value) > 4:
            value = value[:-1]
        d.text((m + px(LAYOUT.label_mm), y), ": " + value, font=bold_font if key == "name" else body_font,
               fill=(0, 0, 0))
        y += px(LAYOUT.row_mm)
    bx, by, bw, bh = (px(v) for v in LAYOUT.photo_box_mm)
    if photo:
        face = Image.open(io.BytesIO(photo)).convert("RGB").resize((bw, bh), Image.Resampling.LANCZOS)
        img.paste(face, (bx, by))
    else:
        d.rectangle((bx, by, bx + bw, by + bh), outline=(90, 90, 90), width=max(1, px(0.2)))
    small = _font(px(1.8))
    d.text((bx + bw / 2, by + bh + px(1.0)), ident.issue_place, font=small, fill=(0, 0, 0), anchor="mt")
    d.text((bx + bw / 2, by + bh + px(3.0)), ident.issue_date, font=small, fill=(0, 0, 0), anchor="mt")
    if signature:
        sig = Image.open(io.BytesIO(signature)).convert("L").resize((bw, px(5)))
        img.paste((0, 0, 0), (bx, by + bh + px(5.5)), Image.eval(sig, lambda v: 255 - v))
    return img


def render_back(kind: DocumentKind, size_px: tuple[int, int]) -> Image.Image:
    w, h = size_px
    img = Image.new("RGB", size_px, (240, 244, 248))
    d = ImageDraw.Draw(img)
    mm = w / LAYOUT.width_mm
    d.text((w / 2, h / 2), "REPUBLIK INDONESIA", font=_font(round(4 * mm), True), fill=(60, 60, 60), anchor="mm")
    return img


def card_pdf(front: Image.Image, back: Image.Image | None, dpi: int) -> bytes:
    """A PDF whose page is exactly the card (pixel size / dpi), one page per face."""
    buf = io.BytesIO()
    front.save(buf, "PDF", resolution=dpi, save_all=back is not None, append_images=[back] if back else [])
    return buf.getvalue()
