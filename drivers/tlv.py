"""BER-TLV (ISO/IEC 8825-1 subset used by ISO 7816-4): strict, bounded, never hangs.

Any byte string either parses or raises ``TlvError``; lengths are checked against the
buffer before slicing, nesting is bounded, so a hostile card cannot make the reader spin.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.base import AdmError

MAX_DEPTH = 8



class TlvError(AdmError, ValueError):
    code = "tlv-invalid"


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes

    @property
    def constructed(self) -> bool:
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & 0x20)


def read_header(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    """(tag, length, offset of the value) of the TLV at ``pos``."""
    n = len(buf)
    if pos >= n:
        raise TlvError("truncated: no tag")
    tag = buf[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        for _ in range(3):
            if pos >= n:
                raise TlvError("truncated tag")
            tag = (tag << 8) | buf[pos]
            pos += 1
            if not buf[pos - 1] & 0x80:
                break
        else:
            raise TlvError("tag longer than 4 bytes")
    if pos >= n:
        raise TlvError("truncated: no length")
    first = buf[pos]
    pos += 1
    if first < 0x80:
        length = first
    elif first in (0x81, 0x82, 0x83):
        k = first - 0x80
        if pos + k > n:
            raise TlvError("truncated length")
        length = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    else:
        raise TlvError(f"unsupported length byte {first:#04x}")
    return tag, length, pos


def parse(buf: bytes, depth: int = 0) -> list[Tlv]:
    """The TLVs that exactly fill ``buf`` (padding 00/FF between objects is skipped)."""
    if depth > MAX_DEPTH:
        raise TlvError("nesting too deep")
    out: list[Tlv] = []
    pos = 0
    while pos < len(buf):
        if buf[pos] in (0x00, 0xFF):
            pos += 1
            continue
        tag, length, start = read_header(buf, pos)
        end = start + length
        if end > len(buf):
            raise TlvError(f"value of tag {tag:X} runs past the end ({end} > {len(buf)})")
        out.append(Tlv(tag, bytes(buf[start:end])))
        pos = end
    return out


def encode(tag: int, value: bytes) -> bytes:
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    elif n <= 0xFFFF:
        length = b"\x82" + n.to_bytes(2, "big")
    else:
        length = b"\x83" + n.to_bytes(3, "big")
    return tag_bytes + length + value
