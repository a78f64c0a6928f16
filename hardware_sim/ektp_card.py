"""The virtual e-KTP: one APDU implementation of docs/ektp-card-protocol.md.

It shares no code with the driver (only the document), so a test through it checks the
driver against the protocol rather than against itself. A chip is either issued
(``issued_card``: central's ``chip_image`` written and locked) or a blank from the card
printer's hopper (a serial, no files), personalised through the encoder station. ``process()`` takes a command
APDU and returns the response APDU (data + SW1 SW2); transports in this package carry it
in-process or through pcscd's vpcd socket.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from hardware_sim.chip_pki import ChipPki
from kiosk.model import Identity

# PC/SC part 3 ATR of a contactless ISO 14443-4 card: 3B 88 80 01, 8 historical bytes, TCK.
ATR = bytes.fromhex("3B8880010000000000718100F9")
AID = bytes.fromhex("A0000006364B54504C01")
MAX_FILE = 0x8000  # every EF fits short READ BINARY offsets (15 bits) plus one last chunk
SW_OK, SW_EOF = b"\x90\x00", b"\x62\x82"
SW_WRONG_LENGTH, SW_SECURITY, SW_AUTH_FAILED = b"\x67\x00", b"\x69\x82", b"\x63\x00"
SW_NO_CHALLENGE = b"\x69\x85"
SW_NOT_FOUND, SW_WRONG_P1P2, SW_INS, SW_CLA = b"\x6a\x82", b"\x6b\x00", b"\x6d\x00", b"\x6e\x00"
SW_NO_EF, SW_CONDITIONS = b"\x69\x86", b"\x69\x85"
SW_NO_SPACE, SW_MEMORY_FAILURE = b"\x6a\x84", b"\x65\x81"
SFI_IDENTITY, SFI_PHOTO, SFI_SIGNATURE, SFI_FINGERPRINTS, SFI_SOD = 0x01, 0x02, 0x03, 0x04, 0x1D
WRITABLE = (SFI_IDENTITY, SFI_PHOTO, SFI_SIGNATURE, SFI_FINGERPRINTS, SFI_SOD)
FIELDS = ["nik", "name", "birth_place", "birth_date", "sex", "blood_type", "address", "rt_rw", "village",
          "district", "regency", "province", "religion", "marital_status", "occupation", "nationality",
          "valid_until", "issue_place", "issue_date"]


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    length = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100 else b"\x82" + n.to_bytes(2, "big"))
    return tag.to_bytes(1 if tag < 0x100 else 2, "big") + length + value


@dataclass
class CardFaults:
    """Fault switches. ``pull_after_apdus``, ``wrong_sw`` and ``write_fails_after`` are one-shot; the others
    stay on until cleared."""

    pull_after_apdus: int | None = None  # the card leaves the field after N APDUs
    slow_s: float = 0.0  # every answer is delayed
    wrong_sw: bytes | None = None  # the next READ BINARY answers this SW
    corrupt_tlv: bool = False  # the identity file's outer TLV length is broken
    tamper: bool = False  # the photo is altered after signing (digest mismatch)
    wrong_key: bool = False  # the card was personalised with another SAM key (another issuer, a clone)
    dead: bool = False  # the chip does not answer at all (a broken antenna): the transports make it mute
    write_fails_after: int | None = None  # UPDATE BINARY number N+1 answers 65 81 (memory failure)
    readback_differs: bool = False  # the chip keeps one byte of the photo wrong: read-back differs from the write

    def clear(self) -> None:
        for f in fields(self):
            setattr(self, f.name, f.default)


def demo_fingerprints(nik: str) -> tuple[bytes, bytes]:
    """Two opaque "minutiae templates" (right and left index finger) for a demo citizen: bytes, nothing more."""
    return tuple(hashlib.shake_256(f"{finger}:{nik}".encode()).digest(512) for finger in ("R1", "L1"))  # type: ignore[return-value]


def chip_image(identity: Identity, photo: bytes, signature: bytes, fingerprints: tuple[bytes, bytes],
               pki: ChipPki) -> dict[int, bytes]:
    """What central sends for a card's personalisation: every EF as stored on the chip, EF.SOD signed by the DS."""
    ident = b"".join(_tlv(0x5F01 + i, str(getattr(identity, name)).encode()) for i, name in enumerate(FIELDS))
    files = {SFI_IDENTITY: _tlv(0x61, ident), SFI_PHOTO: _tlv(0x5F40, photo), SFI_SIGNATURE: _tlv(0x5F43, signature),
             SFI_FINGERPRINTS: _tlv(0x63, b"".join(_tlv(0x5F2E, t) for t in fingerprints))}
    files[SFI_SOD] = _tlv(0x77, pki.sign_sod(files))
    for sfi, body in files.items():
        if len(body) > MAX_FILE:
            raise ValueError(f"EF {sfi:#04x} is {len(body)} bytes; the protocol allows {MAX_FILE}")
    return files


def issued_card(identity: Identity, photo: bytes, signature: bytes, sam_key: bytes, pki: ChipPki,
                serial: str = "", **kw: Any) -> VirtualEktp:
    """A card as it leaves a Disdukcapil office: personalised with ``chip_image`` and locked."""
    card = VirtualEktp(sam_key, serial or f"KTP-ISSUED-{identity.nik[-6:]}", **kw)
    card.files = chip_image(identity, photo, signature, demo_fingerprints(identity.nik), pki)
    card.locked = True
    return card


@dataclass
class VirtualEktp:
    """One chip. A blank (``files`` empty, not ``locked``) takes UPDATE BINARY and ACTIVATE FILE (section 11 of
    the protocol); a locked chip answers READ BINARY and refuses every write."""

    sam_key: bytes
    serial: str = ""
    faults: CardFaults = field(default_factory=CardFaults)
    max_le: int = 65536  # what the card returns at most per READ BINARY
    files: dict[int, bytes] = field(default_factory=dict)
    locked: bool = False
    on_locked: Callable[[VirtualEktp], None] | None = field(default=None, repr=False, compare=False)  # the hopper saves

    def __post_init__(self) -> None:
        self.reset()
        self.apdu_count = 0
        self.writes = 0
        self.read_to_end = False  # a locked chip's EF.SOD was read to its end (a read-back or a reader's read)
        self.removed = threading.Event()

    @property
    def holder_nik(self) -> str:
        """The NIK written on this chip ('' for a blank): what the simulator panel shows, masked."""
        ident = self.files.get(SFI_IDENTITY, b"")
        at = ident.find(b"\x5f\x01\x10")
        return ident[at + 3:at + 19].decode("ascii", "replace") if at >= 0 else ""

    def reset(self) -> None:
        self.selected_app = False
        self.authenticated = False
        self.challenge = b""
        self.current_ef: int | None = None

    def _key(self) -> bytes:
        return hashlib.sha256(b"not the issuer" + self.sam_key).digest() if self.faults.wrong_key else self.sam_key

    def _file(self, sfi: int) -> bytes:
        body = self.files[sfi]
        if sfi == 1 and self.faults.corrupt_tlv:
            return body[:1] + b"\x84" + body[2:]  # a length form the protocol does not allow
        if sfi == 2 and self.faults.tamper:
            return body[:-10] + bytes(10)
        return body

    def process(self, apdu: bytes) -> bytes:
        self.apdu_count += 1
        if self.faults.pull_after_apdus is not None and self.apdu_count > self.faults.pull_after_apdus:
            self.faults.pull_after_apdus = None
            self.removed.set()
            raise ConnectionError("card removed")
        if self.faults.slow_s:
            time.sleep(self.faults.slow_s)
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        cla, ins, p1, p2 = apdu[:4]
        if cla != 0x00:
            return SW_CLA
        data, le = _parse_body(apdu[4:])
        if data is None:
            return SW_WRONG_LENGTH
        if ins == 0xA4 and p1 == 0x04:
            if data != AID:
                return SW_NOT_FOUND
            self.reset()
            self.selected_app = True
            return SW_OK
        if not self.selected_app:
            return SW_INS if ins not in (0x84, 0x82, 0xB0, 0xD6, 0x44, 0xCA) else SW_SECURITY
        if ins == 0xCA and (p1, p2) == (0x00, 0x5A):
            return self.serial.encode() + SW_OK
        if ins == 0x84:
            self.challenge = os.urandom(8)
            return self.challenge + SW_OK
        if ins == 0x82:
            return self._mutual_authenticate(data)
        if ins == 0xB0:
            return self._read_binary(p1, p2, le)
        if ins == 0xD6:
            return self._update_binary(p1, p2, data)
        if ins == 0x44:
            return self._activate()
        return SW_INS

    def _mutual_authenticate(self, data: bytes) -> bytes:
        """RND.IFD || MAC_IFD in; MAC_ICC out, which binds this card's key to its security object."""
        rnd_icc, self.challenge = self.challenge, b""
        self.authenticated = False
        if not rnd_icc:
            return SW_NO_CHALLENGE
        if len(data) != 40:
            return SW_WRONG_LENGTH
        rnd_ifd, mac_ifd = data[:8], data[8:]
        key = self._key()
        if not hmac.compare_digest(hmac.new(key, b"ADM-IFD" + rnd_icc + rnd_ifd, hashlib.sha256).digest(), mac_ifd):
            return SW_AUTH_FAILED
        self.authenticated = True
        sod_digest = hashlib.sha256(self.files.get(SFI_SOD, b"")).digest()
        return hmac.new(key, b"ADM-ICC" + rnd_ifd + rnd_icc + sod_digest, hashlib.sha256).digest() + SW_OK

    def _read_binary(self, p1: int, p2: int, le: int | None) -> bytes:
        if not self.authenticated:
            return SW_SECURITY
        if not self.locked:
            return SW_CONDITIONS  # a blank, or one still being personalised
        if p1 & 0x80:
            sfi = p1 & 0x1F
            if sfi not in self.files:
                return SW_NOT_FOUND
            self.current_ef, offset = sfi, p2
        else:
            if self.current_ef is None:
                return SW_NO_EF
            offset = (p1 << 8) | p2
        if self.faults.wrong_sw is not None:
            sw, self.faults.wrong_sw = self.faults.wrong_sw, None
            return sw
        body = self._file(self.current_ef)
        if offset > len(body):
            return SW_WRONG_P1P2
        n = min(le or 256, self.max_le)
        chunk = body[offset:offset + n]
        if self.current_ef == SFI_SOD and offset + len(chunk) >= len(body):
            self.read_to_end = True
        return chunk + (SW_EOF if len(chunk) < n else SW_OK)

    def _update_binary(self, p1: int, p2: int, data: bytes) -> bytes:
        """Writes ``data`` at an offset of an EF (selected by SFI when P1 bit 8 is set); files grow, never with holes."""
        if not self.authenticated:
            return SW_SECURITY
        if self.locked:
            return SW_CONDITIONS
        if p1 & 0x80:
            sfi = p1 & 0x1F
            if sfi not in WRITABLE:
                return SW_NOT_FOUND
            self.current_ef, offset = sfi, p2
            if offset == 0:
                self.files[sfi] = b""
        else:
            if self.current_ef is None:
                return SW_NO_EF
            offset = (p1 << 8) | p2
        body = self.files.get(self.current_ef, b"")
        if offset > len(body):
            return SW_WRONG_P1P2
        if offset + len(data) > MAX_FILE:
            return SW_NO_SPACE
        if self.faults.write_fails_after is not None:
            if self.writes >= self.faults.write_fails_after:
                self.faults.write_fails_after = None
                return SW_MEMORY_FAILURE
        self.writes += 1
        if self.faults.readback_differs and self.current_ef == SFI_PHOTO and len(data) > 20:
            data = data[:20] + bytes([data[20] ^ 0x01]) + data[21:]
        self.files[self.current_ef] = body[:offset] + data + body[offset + len(data):]
        return SW_OK

    def _activate(self) -> bytes:
        """ACTIVATE FILE: the end of personalisation. Every file must be there; afterwards the chip is read-only."""
        if not self.authenticated:
            return SW_SECURITY
        if self.locked:
            return SW_CONDITIONS
        if any(not self.files.get(sfi) for sfi in WRITABLE):
            return SW_NOT_FOUND
        self.locked = True
        if self.on_locked is not None:
            self.on_locked(self)
        return SW_OK


def _parse_body(body: bytes) -> tuple[bytes | None, int | None]:
    """ISO 7816-4 cases 1-4, short and extended: (data, Le) or (None, None) when malformed."""
    if not body:
        return b"", None
    if len(body) == 1:
        return b"", body[0] or 256
    if body[0] == 0 and len(body) == 3:
        return b"", int.from_bytes(body[1:], "big") or 65536
    if body[0] == 0 and len(body) >= 3:
        lc = int.from_bytes(body[1:3], "big")
        rest = body[3:]
        if len(rest) == lc:
            return rest, None
        if len(rest) == lc + 2:
            return rest[:lc], int.from_bytes(rest[lc:], "big") or 65536
        return None, None
    lc = body[0]
    rest = body[1:]
    if len(rest) == lc:
        return rest, None
    if len(rest) == lc + 1:
        return rest[:lc], rest[lc] or 256
    return None, None
