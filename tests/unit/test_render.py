"""Card faces render at the profile's native pixel size; the PDF page is exactly CR80."""

import io
import time

import pytest
from PIL import Image
from pypdf import PdfReader

import printer_profiles
from hardware_sim import citizens
from kiosk.model import DocumentKind
from kiosk.printing.card_face import card_pdf, render_back, render_front


@pytest.mark.parametrize("profile", ["evolis-primacy2", "fargo-hdp5000"])
@pytest.mark.parametrize("kind", [DocumentKind.KTP_EL, DocumentKind.KIA])
def test_face_is_exactly_the_profile_size(profile: str, kind: DocumentKind) -> None:
    prof = printer_profiles.load(profile)
    ident, _ = citizens.DEMO[0]
    img = render_front(kind, ident, citizens.photo_jpeg(ident), citizens.signature_png(ident), prof.size_px)
    assert img.size == prof.size_px == (1011, 638)
    # the photo lands in its box: the box's centre is not the background colour
    assert img.getpixel((int(prof.size_px[0] * 0.85), int(prof.size_px[1] * 0.3))) != img.getpixel((5, 5))


def test_card_pdf_page_is_cr80() -> None:
    prof = printer_profiles.load("evolis-primacy2")
    ident, _ = citizens.DEMO[1]
    front = render_front(DocumentKind.KTP_EL, ident, None, None, prof.size_px)
    pdf = card_pdf(front, render_back(DocumentKind.KTP_EL, prof.size_px), prof.dpi)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    w, h = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert w == pytest.approx(85.6 / 25.4 * 72, abs=0.5)
    assert h == pytest.approx(54.0 / 25.4 * 72, abs=0.5)


def test_long_values_do_not_run_into_the_photo() -> None:
    prof = printer_profiles.load("evolis-primacy2")
    ident, _ = citizens.DEMO[0]
    from dataclasses import replace
    long_ident = replace(ident, address="JL. " + "PANJANG SEKALI " * 10)
    img = render_front(DocumentKind.KTP_EL, long_ident, None, None, prof.size_px)
    # the 1 mm strip left of the photo box stays background: no text crosses it
    x = round((63.0 - 0.6) * prof.size_px[0] / 85.6)
    column = {img.getpixel((x, y)) for y in range(round(13 * 11.8), round(40 * 11.8))}
    assert all(min(px) > 150 for px in column)


def test_render_is_fast_enough_to_measure() -> None:
    prof = printer_profiles.load("evolis-primacy2")
    ident, _ = citizens.DEMO[0]
    photo = citizens.photo_jpeg(ident)
    t = time.perf_counter()
    img = render_front(DocumentKind.KTP_EL, ident, photo, None, prof.size_px)
    assert isinstance(img, Image.Image) and time.perf_counter() - t < 5  # the bench measures; this only bounds
