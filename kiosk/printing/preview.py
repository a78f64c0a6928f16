"""The citizen's card as it will print, for the "Periksa data Anda" screen: the same face, in memory.

The face is rendered by ``card_face.render_front`` at the card printer's own size, exactly as
the print job will render it, then scaled for the screen and encoded as PNG in memory: the
image is never written to disk, and lives only as long as the response that carries it.
"""

from __future__ import annotations

import io

from PIL import Image

from kiosk.model import Document, Medium
from kiosk.printing.card_face import render_front

SCREEN_WIDTH_PX = 720


def card_preview_png(doc: Document, size_px: tuple[int, int]) -> bytes:
    """``doc``'s front face as PNG bytes; ``ValueError`` for a document that is not a card with its data."""
    if doc.medium is not Medium.CARD or doc.identity is None:
        raise ValueError("only a card with its data has a face to check")
    face = render_front(doc.kind, doc.identity, doc.photo, doc.signature, size_px)
    if face.width > SCREEN_WIDTH_PX:
        face = face.resize((SCREEN_WIDTH_PX, round(face.height * SCREEN_WIDTH_PX / face.width)),
                           Image.Resampling.LANCZOS)
    out = io.BytesIO()
    face.save(out, format="PNG", optimize=True)
    return out.getvalue()
