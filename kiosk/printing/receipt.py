"""The receipt's layout as plain data; the receipt driver turns it into ESC/POS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    text: str = ""
    bold: bool = False
    align: str = "left"  # left | center | right
    big: bool = False


@dataclass(frozen=True)
class Receipt:
    lines: list[Line] = field(default_factory=list)
    qr: str = ""  # printed under the lines when set
    footer: list[Line] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(line.text for line in (*self.lines, *self.footer))


def build_receipt(*, kiosk_id: str, location: str, when: str, nik_masked: str, reference: str,
                  printed: list[tuple[str, str]], failed: list[str], columns: int = 48,
                  _: Callable[[str], str] = lambda s: s) -> Receipt:
    """``printed``: (document title, number or card serial); ``failed``: titles not printed."""
    rule = Line("-" * columns)
    lines = [Line(_("ANJUNGAN DUKCAPIL MANDIRI"), bold=True, align="center"),
             Line(location, align="center"), Line(f"{kiosk_id}  {when}", align="center"), rule,
             Line(f"{_('NIK')}: {nik_masked}"), Line(f"{_('Reference')}: {reference}", bold=True), rule]
    if printed:
        lines.append(Line(_("Printed:"), bold=True))
        lines += [Line(f" + {title}" + (f" ({ref})" if ref else "")) for title, ref in printed]
    if failed:
        lines.append(Line(_("Not printed:"), bold=True))
        lines += [Line(f" - {title}") for title in failed]
        lines.append(Line(_("Your PIN is still valid for the documents not printed.")))
    footer = [rule, Line(_("Keep this receipt. Show the reference to staff if you need help."), align="center")]
    return Receipt(lines, qr=f"ADMREF1|{kiosk_id}|{reference}", footer=footer)
