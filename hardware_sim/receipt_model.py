"""What the ESC/POS emulator keeps of a receipt: its styled lines and QR codes, in paper order.

Shared by the emulator that fills it and the renderer that draws it (``receipt_png``), so
neither imports the other's module for its types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class StyledLine:
    text: str
    bold: bool = False
    width: int = 1  # character magnification
    height: int = 1
    align: str = "left"


@dataclass(frozen=True)
class QrCode:
    data: bytes
    module: int = 3  # dots per module (GS ( k fn 67)
    align: str = "left"


@dataclass
class Printed:
    """One receipt: from one cut (or start) to the next."""

    lines: list[str] = field(default_factory=list)
    qr: list[bytes] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)
    cut: bool = False
    items: list[StyledLine | QrCode] = field(default_factory=list)  # in paper order, for rendering
    png: Path | None = None
    started: float = 0.0  # wall clock: the first line reached the print head
    ended: float = 0.0  # wall clock: cut, the paper out of the printer (0: still feeding)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
