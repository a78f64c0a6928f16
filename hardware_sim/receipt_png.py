"""Renders an emulated receipt to an image, so a person can look at what the kiosk printed.

Thermal paper is a column of ``width_dots`` dots; Font A is 12 x 24 dots, so a line of
``width_dots / 12`` characters fills it (48 on 80 mm, 32 on 58 mm). Character size and
bold come from the parsed print mode; QR codes are drawn with segno at the module size the
printer was sent.
"""

from __future__ import annotations

from functools import lru_cache

import segno
from PIL import Image, ImageDraw, ImageFont

from hardware_sim.receipt_model import Printed, QrCode, StyledLine

CHAR_W, CHAR_H = 12, 24
MARGIN = 8


@lru_cache(maxsize=4)
def _font(bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:  # DejaVu Sans Mono advances 0.602 em: 19 px keeps 12-dot cells
        return ImageFont.truetype("DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf", 19)
    except OSError:
        return ImageFont.load_default()


def _x(align: str, width: int, paper: int) -> int:
    if align == "center":
        return max(0, (paper - width) // 2)
    if align == "right":
        return max(0, paper - width)
    return 0


def _line(line: StyledLine, paper: int) -> Image.Image:
    text = line.text.rstrip()
    cell = Image.new("L", (max(1, len(text)) * CHAR_W, CHAR_H), 255)
    ImageDraw.Draw(cell).text((0, 2), text, font=_font(line.bold), fill=0)
    if line.width > 1 or line.height > 1:
        cell = cell.resize((cell.width * line.width, CHAR_H * line.height), Image.Resampling.NEAREST)
    row = Image.new("L", (paper, cell.height), 255)
    row.paste(cell.crop((0, 0, min(cell.width, paper), cell.height)), (_x(line.align, cell.width, paper), 0))
    return row


def _qr(code: QrCode, paper: int) -> Image.Image:
    qr = segno.make(code.data, error="m", micro=False)
    size = qr.symbol_size(scale=1, border=0)[0]
    module = max(1, min(code.module, paper // max(1, size)))
    img = Image.new("L", (size, size), 255)
    img.putdata([0 if dark else 255 for row in qr.matrix for dark in row])
    img = img.resize((size * module, size * module), Image.Resampling.NEAREST)
    row = Image.new("L", (paper, img.height + CHAR_H // 2), 255)
    row.paste(img, (_x(code.align, img.width, paper), CHAR_H // 4))
    return row


def render(receipt: Printed, width_dots: int = 576) -> Image.Image:
    """The receipt as a greyscale image ``width_dots`` wide plus a small white margin."""
    rows = [_line(item, width_dots) if isinstance(item, StyledLine) else _qr(item, width_dots)
            for item in receipt.items]
    height = sum(r.height for r in rows) + 2 * MARGIN
    out = Image.new("L", (width_dots + 2 * MARGIN, max(height, CHAR_H)), 255)
    y = MARGIN
    for r in rows:
        out.paste(r, (MARGIN, y))
        y += r.height
    return out
