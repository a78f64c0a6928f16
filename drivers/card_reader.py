"""The e-KTP reader: our card protocol (docs/ektp-card-protocol.md) over PC/SC via pyscard.

The protocol logic talks to a ``PcscSystem``: ``PyscardSystem`` for real readers (pcscd),
or an in-process stand-in from ``hardware_sim`` that answers the same APDU bytes. Nothing
partial is ever returned: every file is checked against the security object's digest.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any, Protocol

from drivers import tlv
from drivers.base import Action, DeviceError, DeviceState, DeviceStatus, MissingLibraryError

AID = bytes.fromhex("A0000006364B54504C01")
SFI_IDENTITY, SFI_PHOTO, SFI_SIGNATURE, SFI_SECURITY = 0x01, 0x02, 0x03, 0x1D
TAG_IDENTITY, TAG_PHOTO, TAG_SIGNATURE, TAG_SECURITY = 0x61, 0x5F40, 0x5F43, 0x77
FIELD_TAGS = {
    0x5F01: "nik", 0x5F02: "name", 0x5F03: "birth_place", 0x5F04: "birth_date", 0x5F05: "sex",
    0x5F06: "blood_type", 0x5F07: "address", 0x5F08: "rt_rw", 0x5F09: "village", 0x5F0A: "district",
    0x5F0B: "regency", 0x5F0C: "province", 0x5F0D: "religion", 0x5F0E: "marital_status",
    0x5F0F: "occupation", 0x5F10: "nationality", 0x5F11: "valid_until", 0x5F12: "issue_place",
    0x5F13: "issue_date",
}
MAX_FILE = 64 * 1024
UNREADABLE = "The card could not be read. Please tap it again."


class CardRemoved(DeviceError):
    def __init__(self, detail: str = "the card left the reader during the read") -> None:
        super().__init__("card-removed", detail, Action.NONE, UNREADABLE)


class NoReader(DeviceError):
    def __init__(self, detail: str = "no PC/SC reader") -> None:
        super().__init__("no-reader", detail, Action.MAINTENANCE,
                         "The card reader is not working. Please type your NIK instead.")


class CardUnreadable(DeviceError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail, Action.NONE, UNREADABLE)


class PcscConnection(Protocol):
    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]: ...
    def atr(self) -> bytes: ...
    def disconnect(self) -> None: ...


class PcscSystem(Protocol):
    """The few PC/SC calls the driver needs; raises ``NoReader`` / ``CardRemoved``."""

    def readers(self) -> list[str]: ...
    def card_present(self, reader: str) -> bool: ...
    def connect(self, reader: str) -> PcscConnection: ...


@dataclass(frozen=True)
class CardData:
    atr: bytes
    identity: dict[str, str]
    photo: bytes
    signature: bytes
    apdus: int

    def __repr__(self) -> str:
        return f"CardData(apdus={self.apdus})"


class CardReader:
    def __init__(self, name: str, system: PcscSystem, sam_key: bytes, reader_filter: str = "",
                 extended: bool = True) -> None:
        self.name = name
        self.system = system
        self._sam_key = sam_key
        self.reader_filter = reader_filter
        self.extended = extended

    def _reader(self) -> str:
        readers = [r for r in self.system.readers() if self.reader_filter in r]
        if not readers:
            raise NoReader(f"no reader matching {self.reader_filter!r}" if self.reader_filter else "no PC/SC reader")
        return readers[0]

    def status(self) -> DeviceStatus:
        try:
            present = self.system.card_present(self._reader())
        except NoReader as exc:
            return DeviceStatus(DeviceState.NO_DEVICE, exc.detail, code=exc.code)
        return DeviceStatus(DeviceState.ONLINE, "card on reader" if present else "waiting for a card",
                            media="present" if present else "")

    def card_present(self) -> bool:
        try:
            return self.system.card_present(self._reader())
        except DeviceError:
            return False

    def wait_for_card(self, timeout_s: float, poll_s: float = 0.1) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.card_present():
                return True
            time.sleep(poll_s)
        return False

    def read(self) -> CardData:
        """Reads and verifies identity, photo and signature; raises a ``DeviceError`` otherwise."""
        conn = self.system.connect(self._reader())
        session = _Session(conn, self.extended)
        try:
            atr = conn.atr()
            session.command(0x00, 0xA4, 0x04, 0x0C, AID, expect="select")
            challenge = session.command(0x00, 0x84, 0x00, 0x00, le=8)
            if len(challenge) != 8:
                raise CardUnreadable("bad-answer", f"challenge of {len(challenge)} bytes")
            proof = hmac.new(self._sam_key, challenge, hashlib.sha256).digest()
            session.command(0x00, 0x82, 0x00, 0x00, proof, expect="auth")
            files = {sfi: session.read_file(sfi) for sfi in (SFI_IDENTITY, SFI_PHOTO, SFI_SIGNATURE, SFI_SECURITY)}
        finally:
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001 - the card may be gone already
                pass
        verify_digests(files)
        return CardData(atr, parse_identity(files[SFI_IDENTITY]), _single(files[SFI_PHOTO], TAG_PHOTO),
                        _single(files[SFI_SIGNATURE], TAG_SIGNATURE), session.apdus)


class _Session:
    def __init__(self, conn: PcscConnection, extended: bool) -> None:
        self.conn = conn
        self.extended = extended
        self.apdus = 0

    def command(self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None,
                expect: str = "") -> bytes:
        apdu = bytes([cla, ins, p1, p2])
        ext = self.extended and (len(data) > 255 or (le is not None and le > 256))
        if data:
            apdu += (b"\x00" + len(data).to_bytes(2, "big") if ext else bytes([len(data)])) + data
        if le is not None:
            if ext:
                apdu += (b"" if data else b"\x00") + (le % 65536).to_bytes(2, "big")
            else:
                apdu += bytes([le % 256])
        resp, sw1, sw2 = self.conn.transmit(list(apdu))
        self.apdus += 1
        sw = (sw1 << 8) | sw2
        body = bytes(resp)
        if sw in (0x9000, 0x6282):
            return body
        raise _status_error(sw, expect)

    def read_file(self, sfi: int) -> bytes:
        """The whole EF: the first READ BINARY selects it by SFI and reveals its TLV length."""
        first_le = 65536 if self.extended else 256
        buf = self.command(0x00, 0xB0, 0x80 | sfi, 0x00, le=first_le)
        try:
            _, length, start = tlv.read_header(buf)
        except tlv.TlvError as exc:
            raise CardUnreadable("corrupt-file", f"EF {sfi:#04x}: {exc}") from exc
        total = start + length
        if total > MAX_FILE:
            raise CardUnreadable("corrupt-file", f"EF {sfi:#04x} claims {total} bytes")
        chunk = 65535 if self.extended else 256
        while len(buf) < total:
            offset = len(buf)
            if offset > 0x7FFF:
                raise CardUnreadable("corrupt-file", f"EF {sfi:#04x} too large for READ BINARY offsets")
            part = self.command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=min(chunk, total - offset))
            if not part:
                raise CardUnreadable("corrupt-file", f"EF {sfi:#04x} ended at {offset} of {total} bytes")
            buf += part
        return buf[:total]


def _status_error(sw: int, expect: str) -> DeviceError:
    if expect == "select" and sw in (0x6A82, 0x6A86, 0x6D00, 0x6E00):
        return CardUnreadable("unknown-card", f"not an e-KTP (SW {sw:04X})")
    if expect == "auth" or sw in (0x6300, 0x6982):
        return DeviceError("sam-rejected", f"the card rejected the reader's SAM (SW {sw:04X})", Action.MAINTENANCE,
                           "The card reader is not working. Please type your NIK instead.")
    return CardUnreadable("bad-status", f"SW {sw:04X}")


def _single(buf: bytes, tag: int) -> bytes:
    try:
        items = tlv.parse(buf)
    except tlv.TlvError as exc:
        raise CardUnreadable("corrupt-file", str(exc)) from exc
    if len(items) != 1 or items[0].tag != tag:
        raise CardUnreadable("corrupt-file", f"expected one object {tag:X}")
    return items[0].value


def parse_identity(buf: bytes) -> dict[str, str]:
    """Identity EF -> field dict; every field must be UTF-8 and the NIK 16 digits."""
    body = _single(buf, TAG_IDENTITY)
    try:
        items = tlv.parse(body, depth=1)
        out = {FIELD_TAGS[i.tag]: i.value.decode("utf-8") for i in items if i.tag in FIELD_TAGS}
    except (tlv.TlvError, UnicodeDecodeError) as exc:
        raise CardUnreadable("corrupt-file", f"identity: {exc}") from exc
    nik = out.get("nik", "")
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit() or not out.get("name"):
        raise CardUnreadable("corrupt-file", "identity without a valid NIK and name")
    return out


def verify_digests(files: dict[int, bytes]) -> None:
    """Passive authentication, ICAO 9303 style: each file's SHA-256 against the security object."""
    sod = _single(files[SFI_SECURITY], TAG_SECURITY)
    digests: dict[int, bytes] = {}
    try:
        for entry in tlv.parse(sod, depth=1):
            fields = {i.tag: i.value for i in tlv.parse(entry.value, depth=2)}
            digests[int.from_bytes(fields[0x02], "big")] = fields[0x04]
    except (tlv.TlvError, KeyError) as exc:
        raise CardUnreadable("corrupt-file", f"security object: {exc}") from exc
    for sfi in (SFI_IDENTITY, SFI_PHOTO, SFI_SIGNATURE):
        expected = digests.get(sfi)
        if expected is None or not hmac.compare_digest(hashlib.sha256(files[sfi]).digest(), expected):
            raise CardUnreadable("digest-mismatch", f"EF {sfi:#04x} does not match its digest")


class PyscardSystem:
    """Real readers through pcscd. pyscard is imported here only, with a clear error when missing."""

    def __init__(self) -> None:
        try:
            import smartcard.System  # noqa: F401
        except ImportError as exc:
            raise MissingLibraryError("smartcard", "pyscard (and pcscd, libpcsclite1)") from exc

    def readers(self) -> list[str]:
        from smartcard.Exceptions import EstablishContextException, ListReadersException
        from smartcard.System import readers
        try:
            return [str(r) for r in readers()]
        except (EstablishContextException, ListReadersException) as exc:
            raise NoReader(f"PC/SC unavailable: {exc}") from exc

    def _get(self, name: str) -> Any:
        from smartcard.System import readers
        for r in readers():
            if str(r) == name:
                return r
        raise NoReader(f"reader {name!r} is gone")

    def card_present(self, reader: str) -> bool:
        from smartcard.Exceptions import CardConnectionException, NoCardException
        conn = self._get(reader).createConnection()
        try:
            conn.connect()
        except (NoCardException, CardConnectionException):
            return False
        conn.disconnect()
        return True

    def connect(self, reader: str) -> PcscConnection:
        from smartcard.Exceptions import CardConnectionException, NoCardException
        conn = self._get(reader).createConnection()
        try:
            conn.connect()
        except (NoCardException, CardConnectionException) as exc:
            raise CardRemoved(f"no card: {exc}") from exc
        return _PyscardConnection(conn)


class _PyscardConnection:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        from smartcard.Exceptions import CardConnectionException
        try:
            data, sw1, sw2 = self._conn.transmit(apdu)
        except CardConnectionException as exc:
            raise CardRemoved(str(exc)) from exc
        return list(data), sw1, sw2

    def atr(self) -> bytes:
        return bytes(self._conn.getATR())

    def disconnect(self) -> None:
        self._conn.disconnect()
