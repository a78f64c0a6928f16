"""The e-KTP reader: our card protocol (docs/ektp-card-protocol.md) over PC/SC via pyscard.

The protocol logic talks to a ``PcscSystem``: ``PyscardSystem`` for real readers (pcscd),
or an in-process stand-in from ``hardware_sim`` that answers the same APDU bytes. Nothing
partial is ever returned: the card must prove it holds the issuer key over its security
object (chip authentication), and the security object must be signed by a document signer
under a configured country signing CA, with every file matching its signed digest (passive
authentication, drivers/passive_auth.py).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from drivers import passive_auth, tlv
from drivers.base import N_, Action, DeviceError, DeviceState, DeviceStatus, MissingLibraryError

AID = bytes.fromhex("A0000006364B54504C01")
SFI_IDENTITY, SFI_PHOTO, SFI_SIGNATURE, SFI_FINGERPRINTS, SFI_SECURITY = 0x01, 0x02, 0x03, 0x04, 0x1D
TAG_IDENTITY, TAG_PHOTO, TAG_SIGNATURE, TAG_SECURITY = 0x61, 0x5F40, 0x5F43, 0x77
READ_FILES = (SFI_IDENTITY, SFI_PHOTO, SFI_SIGNATURE)  # what a citizen's read needs (never the fingerprints)
FIELD_TAGS = {
    0x5F01: "nik", 0x5F02: "name", 0x5F03: "birth_place", 0x5F04: "birth_date", 0x5F05: "sex",
    0x5F06: "blood_type", 0x5F07: "address", 0x5F08: "rt_rw", 0x5F09: "village", 0x5F0A: "district",
    0x5F0B: "regency", 0x5F0C: "province", 0x5F0D: "religion", 0x5F0E: "marital_status",
    0x5F0F: "occupation", 0x5F10: "nationality", 0x5F11: "valid_until", 0x5F12: "issue_place",
    0x5F13: "issue_date",
}
MAX_FILE = 0x8000  # the protocol's EF size limit: short READ BINARY offsets are 15 bits
CHALLENGE_LEN, MAC_LEN = 8, 32
UNREADABLE = N_("The card could not be read. Please tap it again.")
READER_DOWN = N_("The card reader is not working. Please type your NIK instead.")


class CardRemoved(DeviceError):
    def __init__(self, detail: str = "the card left the reader during the read") -> None:
        super().__init__("card-removed", detail, Action.NONE, UNREADABLE)


class NoReader(DeviceError):
    def __init__(self, detail: str = "no PC/SC reader") -> None:
        super().__init__("no-reader", detail, Action.MAINTENANCE, READER_DOWN)


class PcscUnavailable(DeviceError):
    """pcscd is down or restarting; the driver re-establishes its context by itself."""

    def __init__(self, detail: str) -> None:
        super().__init__("pcsc-unavailable", detail, Action.SUSPEND, READER_DOWN)


class CardUnreadable(DeviceError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail, Action.NONE, UNREADABLE)


class SamRejected(DeviceError):
    def __init__(self, detail: str) -> None:
        super().__init__("sam-rejected", detail, Action.MAINTENANCE, READER_DOWN)


class ApduRejected(DeviceError):
    """The reader (not the card) refused an APDU, e.g. an extended one it cannot carry."""

    def __init__(self, detail: str) -> None:
        super().__init__("apdu-rejected", detail, Action.NONE, UNREADABLE)


class CardState(enum.StrEnum):
    EMPTY = "empty"
    PRESENT = "present"
    MUTE = "mute"  # a card is there but does not answer (bent antenna, not a smart card)


class PcscConnection(Protocol):
    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]: ...
    def atr(self) -> bytes: ...

    def disconnect(self, eject: bool = False) -> None:
        """Resets the card (``SCARD_RESET_CARD``), or asks the reader to eject it (``SCARD_EJECT_CARD``)."""
        ...


class PcscSystem(Protocol):
    """The few PC/SC calls the driver needs; raise ``NoReader``, ``PcscUnavailable``, ``CardRemoved``."""

    def readers(self) -> list[str]: ...

    def card_state(self, reader: str, wait_s: float = 0.0, unlike: CardState | None = None) -> CardState:
        """The card state now, or the first state other than ``unlike`` within ``wait_s``."""
        ...

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
    """One e-KTP reader. ``extended``: True/False forces the APDU length form, None tries extended
    first and falls back to short APDUs for good when the reader or card refuses them."""

    def __init__(self, name: str, system: PcscSystem, sam_key: bytes, reader_filter: str = "",
                 extended: bool | None = None, read_timeout_s: float = 5.0,
                 anchors: passive_auth.TrustAnchors | None = None) -> None:
        self.name = name
        self.anchors = anchors
        self.system = system
        self._sam_key = sam_key
        self.reader_filter = reader_filter
        self.extended = extended
        self.read_timeout_s = read_timeout_s
        self._reading = threading.Event()

    def _reader(self) -> str:
        readers = [r for r in self.system.readers() if self.reader_filter in r]
        if not readers:
            raise NoReader(f"no reader matching {self.reader_filter!r}" if self.reader_filter else "no PC/SC reader")
        return readers[0]

    def status(self) -> DeviceStatus:
        """Never raises: no reader -> noDevice, PC/SC trouble -> hardwareError, else online."""
        if not self._sam_key:
            return DeviceStatus(DeviceState.HARDWARE_ERROR, "no SAM key configured", code="sam-missing")
        if self.anchors is None:
            return DeviceStatus(DeviceState.HARDWARE_ERROR, "no CSCA trust anchors configured", code="csca-missing")
        try:
            state = self.system.card_state(self._reader())
        except NoReader as exc:
            return DeviceStatus(DeviceState.NO_DEVICE, exc.detail, code=exc.code)
        except DeviceError as exc:
            return DeviceStatus(DeviceState.HARDWARE_ERROR, exc.detail, code=exc.code)
        if state is CardState.EMPTY:
            return DeviceStatus(DeviceState.ONLINE, "waiting for a card")
        if self._reading.is_set():
            return DeviceStatus(DeviceState.BUSY, "reading the card", media="present")
        if state is CardState.MUTE:
            return DeviceStatus(DeviceState.ONLINE, "a card that does not answer", media="present", code="card-mute")
        return DeviceStatus(DeviceState.ONLINE, "card on reader", media="present")

    def card_present(self) -> bool:
        try:
            return self.system.card_state(self._reader()) is not CardState.EMPTY
        except DeviceError:
            return False

    def wait_for_card(self, timeout_s: float) -> bool:
        """True as soon as a card is on the reader; False after ``timeout_s``. Survives pcscd restarts."""
        return self.wait_for_change(CardState.EMPTY, timeout_s) not in (None, CardState.EMPTY)

    def wait_for_change(self, unlike: CardState | None, timeout_s: float, retry_s: float = 0.2) -> CardState | None:
        """The first card state other than ``unlike`` within ``timeout_s``, else None.

        Meant to be called in a loop by a supervised watcher (kiosk.supervise.SupervisedLoop):
        a missing reader or a restarting pcscd is waited out here, not raised, until the deadline.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                state = self.system.card_state(self._reader(), max(0.0, min(left, 1.0)), unlike)
                if state is not unlike:
                    return state
            except (NoReader, PcscUnavailable):
                time.sleep(max(0.0, min(retry_s, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                return None

    def read(self) -> CardData:
        """Reads and verifies identity, photo and signature; raises a ``DeviceError`` otherwise."""
        atr, files, apdus = self.read_files(READ_FILES)
        return CardData(atr, parse_identity(files[SFI_IDENTITY]), _single(files[SFI_PHOTO], TAG_PHOTO),
                        _single(files[SFI_SIGNATURE], TAG_SIGNATURE), apdus)

    def read_files(self, sfis: tuple[int, ...]) -> tuple[bytes, dict[int, bytes], int]:
        """(ATR, the files ``sfis`` plus EF.SOD, APDUs) after chip and passive authentication of every file.

        Chip authentication: the card's MAC over SHA-256(EF.SOD) proves it holds the issuer key K.
        Passive authentication: EF.SOD's CMS signature by a DS under a configured CSCA, valid now,
        and each file's digest (drivers/passive_auth.py)."""
        if not self._sam_key:
            raise DeviceError("sam-missing", "no SAM key configured", Action.MAINTENANCE, READER_DOWN)
        if self.anchors is None:
            raise DeviceError("csca-missing", "no CSCA trust anchors configured", Action.MAINTENANCE, READER_DOWN)
        conn = self.system.connect(self._reader())
        self._reading.set()
        session = Session(conn, self.extended, time.monotonic() + self.read_timeout_s)
        try:
            atr = conn.atr()
            rnd_ifd, rnd_icc, mac_icc = authenticate(session, self._sam_key)
            files = {sfi: session.read_file(sfi) for sfi in (*sfis, SFI_SECURITY)}
        finally:
            self._reading.clear()
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001 - the card may be gone already
                pass
        if self.extended is None and not session.extended:
            self.extended = False  # the reader refused extended APDUs once: do not try again
        expected = hmac.new(self._sam_key, b"ADM-ICC" + rnd_ifd + rnd_icc + hashlib.sha256(files[SFI_SECURITY]).digest(),
                            hashlib.sha256).digest()
        if not hmac.compare_digest(expected, mac_icc):
            raise CardUnreadable("card-not-authentic", "the card's cryptogram does not match its security object")
        verified = passive_auth.verify_sod(_single(files[SFI_SECURITY], TAG_SECURITY), self.anchors)
        passive_auth.check_files(verified, {sfi: files[sfi] for sfi in sfis})
        return atr, files, session.apdus


def authenticate(session: Session, sam_key: bytes) -> tuple[bytes, bytes, bytes]:
    """SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE (section 3): (RND.IFD, RND.ICC, MAC_ICC) for the caller to check."""
    session.command(0x00, 0xA4, 0x04, 0x0C, AID, expect="select")
    rnd_icc = session.command(0x00, 0x84, 0x00, 0x00, le=CHALLENGE_LEN)
    if len(rnd_icc) != CHALLENGE_LEN:
        raise CardUnreadable("bad-answer", f"challenge of {len(rnd_icc)} bytes")
    rnd_ifd = os.urandom(CHALLENGE_LEN)
    mac_ifd = hmac.new(sam_key, b"ADM-IFD" + rnd_icc + rnd_ifd, hashlib.sha256).digest()
    mac_icc = session.command(0x00, 0x82, 0x00, 0x00, rnd_ifd + mac_ifd, le=MAC_LEN, expect="auth")
    if len(mac_icc) != MAC_LEN:
        raise CardUnreadable("bad-answer", f"cryptogram of {len(mac_icc)} bytes")
    return rnd_ifd, rnd_icc, mac_icc


def build_apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None,
               extended: bool = False) -> bytes:
    """ISO 7816-4 cases 1-4. Extended form only when asked and needed (Lc > 255 or Le > 256);
    a short APDU caps Le at 256 (encoded 00), an extended one at 65536 (encoded 00 00)."""
    ext = extended and (len(data) > 255 or (le is not None and le > 256))
    if not ext and len(data) > 255:
        raise ValueError("command data longer than a short APDU allows")
    apdu = bytes([cla, ins, p1, p2])
    if data:
        apdu += (b"\x00" + len(data).to_bytes(2, "big") if ext else bytes([len(data)])) + data
    if le is not None:
        if ext:
            apdu += (b"" if data else b"\x00") + (min(le, 65536) % 65536).to_bytes(2, "big")
        else:
            apdu += bytes([min(le, 256) % 256])
    return apdu


class Session:
    """One card connection: APDU framing, status words, the read deadline and the APDU count."""

    def __init__(self, conn: PcscConnection, extended: bool | None, deadline: float) -> None:
        self.conn = conn
        self.extended = extended is not False
        self.auto = extended is None
        self.deadline = deadline
        self.apdus = 0

    def command(self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None,
                expect: str = "") -> bytes:
        apdu = build_apdu(cla, ins, p1, p2, data, le, self.extended)
        is_ext = self.extended and (len(data) > 255 or (le is not None and le > 256))
        try:
            body, sw = self._exchange(apdu)
        except ApduRejected:
            if not (self.auto and is_ext):
                raise
            body, sw = b"", 0x6700
        if sw == 0x6700 and self.auto and is_ext:
            self.extended = False  # a reader or card without extended length: short APDUs from now on
            return self.command(cla, ins, p1, p2, data, le, expect)
        if sw >> 8 == 0x6C and le is not None:  # wrong Le: the card tells the exact length (ISO 7816-3)
            body, sw = self._exchange(build_apdu(cla, ins, p1, p2, data, sw & 0xFF or 256, False))
        while sw >> 8 == 0x61:  # more data waiting: GET RESPONSE (T=0 readers)
            more, sw = self._exchange(build_apdu(0x00, 0xC0, 0x00, 0x00, le=sw & 0xFF or 256))
            body += more
        if sw in (0x9000, 0x6282):
            return body
        raise status_error(sw, expect)

    def _exchange(self, apdu: bytes) -> tuple[bytes, int]:
        if time.monotonic() > self.deadline:
            raise CardUnreadable("card-timeout", f"the card answered too slowly ({self.apdus} APDUs)")
        resp, sw1, sw2 = self.conn.transmit(list(apdu))
        self.apdus += 1
        return bytes(resp), (sw1 << 8) | sw2

    def read_file(self, sfi: int) -> bytes:
        """The whole EF: the first READ BINARY selects it by SFI and reveals its TLV length."""
        buf = self.command(0x00, 0xB0, 0x80 | sfi, 0x00, le=65536, expect="read")
        try:
            _, length, start = tlv.read_header(buf)
        except tlv.TlvError as exc:
            raise CardUnreadable("corrupt-file", f"EF {sfi:#04x}: {exc}") from exc
        total = start + length
        if total > MAX_FILE:
            raise CardUnreadable("corrupt-file", f"EF {sfi:#04x} claims {total} bytes")
        while len(buf) < total:
            offset = len(buf)
            if offset > 0x7FFF:
                raise CardUnreadable("corrupt-file", f"EF {sfi:#04x} too large for READ BINARY offsets")
            part = self.command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=total - offset)
            if not part:
                raise CardUnreadable("corrupt-file", f"EF {sfi:#04x} ended at {offset} of {total} bytes")
            buf += part
        return buf[:total]


# ISO 7816-4 status words the protocol uses, and what each means for a read.
STATUS_WORDS: dict[int, str] = {
    0x9000: "ok", 0x6282: "end of file reached before Le bytes", 0x6300: "authentication failed",
    0x6700: "wrong length", 0x6982: "security status not satisfied", 0x6985: "conditions of use not satisfied",
    0x6986: "no current EF", 0x6A82: "file or application not found", 0x6A86: "incorrect P1-P2",
    0x6B00: "wrong parameters (offset beyond the file)", 0x6D00: "instruction not supported",
    0x6E00: "class not supported",
}


def status_error(sw: int, expect: str = "") -> DeviceError:
    """The error a non-success status word means; ``expect`` names the command that got it."""
    meaning = STATUS_WORDS.get(sw, "unexpected status")
    if expect == "select" and sw in (0x6A82, 0x6A86, 0x6D00, 0x6E00):
        return CardUnreadable("unknown-card", f"not an e-KTP (SW {sw:04X}: {meaning})")
    if expect == "auth" and (sw == 0x6300 or sw >> 4 == 0x63C):
        return SamRejected(f"the card rejected the reader's SAM (SW {sw:04X})")
    if expect == "read" and sw == 0x6985:
        return CardUnreadable("blank-card", "the chip is blank or its personalisation never finished (SW 6985)")
    if sw == 0x6982:
        return SamRejected(f"the card refused access (SW {sw:04X}: {meaning})")
    return CardUnreadable("bad-status", f"SW {sw:04X}: {meaning}")


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


# -- real readers through pcscd ------------------------------------------------------------

# PC/SC return codes (pcsc-lite's pcsclite.h), as unsigned 32-bit values.
SCARD_E_INVALID_HANDLE, SCARD_E_INVALID_PARAMETER, SCARD_E_NO_SMARTCARD = 0x80100003, 0x80100004, 0x8010000C
SCARD_E_UNKNOWN_READER, SCARD_E_TIMEOUT, SCARD_E_SHARING_VIOLATION = 0x80100009, 0x8010000A, 0x8010000B
SCARD_E_PROTO_MISMATCH, SCARD_E_NOT_READY, SCARD_E_NOT_TRANSACTED = 0x8010000F, 0x80100010, 0x80100016
SCARD_E_INSUFFICIENT_BUFFER = 0x80100008
SCARD_E_READER_UNAVAILABLE, SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED = 0x80100017, 0x8010001D, 0x8010001E
SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
SCARD_W_UNRESPONSIVE_CARD, SCARD_W_UNPOWERED_CARD = 0x80100066, 0x80100067
SCARD_W_RESET_CARD, SCARD_W_REMOVED_CARD = 0x80100068, 0x80100069
# A context that pcscd no longer knows (it restarted): drop it and establish a new one.
STALE_CONTEXT = frozenset({SCARD_E_INVALID_HANDLE, SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED})
CARD_GONE = frozenset({SCARD_E_NO_SMARTCARD, SCARD_W_REMOVED_CARD, SCARD_W_RESET_CARD, SCARD_E_NOT_TRANSACTED,
                       SCARD_W_UNPOWERED_CARD})
READER_GONE = frozenset({SCARD_E_UNKNOWN_READER, SCARD_E_READER_UNAVAILABLE})


def _hr(code: int) -> str:
    return f"{code & 0xFFFFFFFF:#010x}"


class PyscardSystem:
    """Real readers through pcscd, on pyscard's thin ``smartcard.scard`` layer.

    Each thread keeps its own PC/SC context (pcsc-lite serialises calls per context, so a
    watcher blocked in SCardGetStatusChange must not share one with a read). When pcscd
    restarts, every old context answers NO_SERVICE or INVALID_HANDLE: the call drops the
    context, establishes a new one and retries once; ``reestablished`` counts this.
    """

    def __init__(self) -> None:
        try:
            from smartcard import scard
        except ImportError as exc:
            raise MissingLibraryError("smartcard", "pyscard (and pcscd, libpcsclite1)") from exc
        self._scard: Any = scard
        self._local = threading.local()
        self.reestablished = 0

    def _context(self) -> int:
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            hr, ctx = self._scard.SCardEstablishContext(self._scard.SCARD_SCOPE_USER)
            if hr != 0:
                raise PcscUnavailable(f"no PC/SC service ({_hr(hr)})")
            self._local.ctx = ctx
        return int(ctx)

    def _drop_context(self) -> None:
        ctx = getattr(self._local, "ctx", None)
        self._local.ctx = None
        if ctx is not None:
            self._scard.SCardReleaseContext(ctx)  # fails harmlessly when pcscd already forgot it
            self.reestablished += 1

    def _call(self, op: Any) -> tuple[int, Any]:
        """``op(ctx) -> (hresult, value)``, retried once on a fresh context when the old one is stale."""
        for attempt in (0, 1):
            hr, value = op(self._context())
            hr &= 0xFFFFFFFF
            if hr in STALE_CONTEXT and attempt == 0:
                self._drop_context()
                continue
            if hr in STALE_CONTEXT:
                self._drop_context()
                raise PcscUnavailable(f"PC/SC service gone ({_hr(hr)})")
            return hr, value
        raise AssertionError("unreachable")

    def readers(self) -> list[str]:
        hr, names = self._call(lambda ctx: self._scard.SCardListReaders(ctx, []))
        if hr == SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hr != 0:
            raise PcscUnavailable(f"cannot list readers ({_hr(hr)})")
        return [str(n) for n in names]

    def card_state(self, reader: str, wait_s: float = 0.0, unlike: CardState | None = None) -> CardState:
        sc = self._scard
        hr, states = self._call(lambda ctx: sc.SCardGetStatusChange(ctx, 0, [(reader, sc.SCARD_STATE_UNAWARE)]))
        deadline = time.monotonic() + wait_s
        while True:
            if hr not in (0, SCARD_E_TIMEOUT):
                if hr in READER_GONE:
                    raise NoReader(f"reader {reader!r} is gone ({_hr(hr)})")
                raise PcscUnavailable(f"reader state unavailable ({_hr(hr)})")
            _, event, _ = states[0]
            state = self._decode(reader, event)
            left = deadline - time.monotonic()
            if state is not unlike or left <= 0:
                return state
            known = event & ~sc.SCARD_STATE_CHANGED
            hr, states = self._call(lambda ctx, known=known, ms=int(left * 1000) + 1: sc.SCardGetStatusChange(
                ctx, ms, [(reader, known)]))
            if hr == SCARD_E_TIMEOUT:
                return state

    def _decode(self, reader: str, event: int) -> CardState:
        sc = self._scard
        if event & (sc.SCARD_STATE_UNKNOWN | sc.SCARD_STATE_IGNORE):
            raise NoReader(f"reader {reader!r} is gone")
        if event & sc.SCARD_STATE_UNAVAILABLE:
            raise PcscUnavailable(f"reader {reader!r} is unavailable")
        if event & sc.SCARD_STATE_MUTE:
            return CardState.MUTE
        return CardState.PRESENT if event & sc.SCARD_STATE_PRESENT else CardState.EMPTY

    def connect(self, reader: str) -> PcscConnection:
        sc = self._scard
        hr, value = self._call(lambda ctx: self._connect(ctx, reader))
        if hr == 0:
            hcard, protocol = value
            return _ScardConnection(sc, hcard, protocol)
        if hr in CARD_GONE:
            raise CardRemoved(f"no card on the reader ({_hr(hr)})")
        if hr in (SCARD_W_UNRESPONSIVE_CARD, SCARD_E_PROTO_MISMATCH):
            raise CardUnreadable("card-mute", f"the card does not answer ({_hr(hr)})")
        if hr == SCARD_E_SHARING_VIOLATION:
            raise DeviceError("reader-busy", "another program holds the card", Action.SUSPEND, UNREADABLE)
        if hr in READER_GONE:
            raise NoReader(f"reader {reader!r} is gone ({_hr(hr)})")
        raise PcscUnavailable(f"cannot connect ({_hr(hr)})")

    def _connect(self, ctx: int, reader: str) -> tuple[int, Any]:
        sc = self._scard
        hr, hcard, protocol = sc.SCardConnect(ctx, reader, sc.SCARD_SHARE_EXCLUSIVE,
                                              sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1)
        return hr, (hcard, protocol)


class _ScardConnection:
    def __init__(self, scard: Any, hcard: int, protocol: int) -> None:
        self._sc = scard
        self._hcard = hcard
        self._protocol = protocol

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        hr, resp = self._sc.SCardTransmit(self._hcard, self._protocol, apdu)
        hr &= 0xFFFFFFFF
        if hr == 0 and len(resp) >= 2:
            return list(resp[:-2]), resp[-2], resp[-1]
        if hr == 0:
            raise CardRemoved("the card left during the read (no answer)")
        if hr in CARD_GONE or hr == SCARD_W_UNRESPONSIVE_CARD:
            raise CardRemoved(f"the card left during the read ({_hr(hr)})")
        if hr in (SCARD_E_INSUFFICIENT_BUFFER, SCARD_E_INVALID_PARAMETER):
            raise ApduRejected(f"the reader refused a {len(apdu)}-byte APDU ({_hr(hr)})")
        if hr in READER_GONE:
            raise NoReader(f"the reader left during the read ({_hr(hr)})")
        raise PcscUnavailable(f"transmit failed ({_hr(hr)})")

    def atr(self) -> bytes:
        hr, _reader, _state, _protocol, atr = self._sc.SCardStatus(self._hcard)
        return bytes(atr) if hr == 0 else b""

    def disconnect(self, eject: bool = False) -> None:
        self._sc.SCardDisconnect(self._hcard, self._sc.SCARD_EJECT_CARD if eject else self._sc.SCARD_RESET_CARD)
