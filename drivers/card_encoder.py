"""The card printer's contactless encoder station: personalises a blank KTP-el chip over PC/SC.

The station is a PC/SC reader (``devices.card_printer.encoder``) holding the card the printer
is about to print. The protocol is docs/ektp-card-protocol.md section 11: SELECT, GET DATA
for the blank's serial, the mutual authentication of section 3 (the blank proves it holds
the issuer key), UPDATE BINARY of each file central prepared, ACTIVATE FILE (the lock), then
a read-back by the reader driver itself (``CardReader.read_files``: chip and passive
authentication, every file compared with what was written). Only then may the face print.

What can go wrong, each a ``DeviceError`` with a code: the station is missing
(``encoder-absent``), no card or a mute chip at the station (``card-removed``, ``card-mute``),
a write refused or failing (``encode-failed``, with the SW), a read-back that fails passive
authentication or differs (``readback-differs`` or the reader's code). A call can hang with
pcscd: the core calls these on a worker with a deadline (kiosk/printing/personalise.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from drivers import passive_auth
from drivers.base import N_, Action, DeviceError, DeviceState, DeviceStatus
from drivers.card_reader import (
    AID,
    SFI_SECURITY,
    ApduRejected,
    CardReader,
    CardUnreadable,
    NoReader,
    PcscSystem,
    Session,
    authenticate,
)

ENCODE_FAILED = N_("The chip of your KTP-el could not be written, so the card was not printed. "
                   "Your PIN is still valid.")
WRITE_ORDER = (0x01, 0x02, 0x03, 0x04, SFI_SECURITY)  # EF.SOD last: a chip cut off mid-write has none
SHORT_CHUNK, EXTENDED_CHUNK = 255, 0x8000
EJECT = bytes.fromhex("FF7E0000")  # the encoder station's pseudo-APDU: eject the card to the reject bin


class EncodeFailed(DeviceError):
    def __init__(self, code: str, detail: str, action: Action = Action.NONE) -> None:
        super().__init__(code, detail, action, ENCODE_FAILED)


@dataclass(frozen=True)
class Personalised:
    serial: str
    write_apdus: int
    read_apdus: int


class CardEncoder:
    """One encoder station. ``extended``: as ``CardReader`` (None tries extended APDUs, falls back to short)."""

    def __init__(self, name: str, system: PcscSystem, sam_key: bytes, reader_filter: str,
                 anchors: passive_auth.TrustAnchors | None, extended: bool | None = None,
                 timeout_s: float = 20.0) -> None:
        self.name = name
        self.system = system
        self._sam_key = sam_key
        self.reader_filter = reader_filter
        self.extended = extended
        self.timeout_s = timeout_s
        self.verifier = CardReader(name, system, sam_key, reader_filter, extended, timeout_s, anchors)

    def _reader(self) -> str:
        try:
            readers = [r for r in self.system.readers() if self.reader_filter in r]
        except NoReader as exc:
            raise EncodeFailed("encoder-absent", exc.detail, Action.MAINTENANCE) from exc
        if not readers:
            raise EncodeFailed("encoder-absent", f"no encoder station matching {self.reader_filter!r}",
                               Action.MAINTENANCE)
        return readers[0]

    def status(self) -> DeviceStatus:
        """Never raises: no station -> noDevice, else online (a card at the station or not)."""
        try:
            self._reader()
        except DeviceError as exc:
            return DeviceStatus(DeviceState.NO_DEVICE, exc.detail, code=exc.code)
        return DeviceStatus(DeviceState.ONLINE, "encoder station ready")

    def blank_serial(self) -> str:
        """The serial of the chip at the station (GET DATA, any life-cycle state)."""
        conn = self.system.connect(self._reader())
        session = Session(conn, self.extended, time.monotonic() + self.timeout_s)
        try:
            session.command(0x00, 0xA4, 0x04, 0x0C, AID, expect="select")
            return _serial(session.command(0x00, 0xCA, 0x00, 0x5A, le=0x40))
        finally:
            _disconnect(conn)

    def personalise(self, files: Mapping[int, bytes], serial: str) -> Personalised:
        """Writes ``files`` (the EFs central prepared) to the blank ``serial``, locks it and verifies the read-back."""
        missing = [sfi for sfi in WRITE_ORDER if not files.get(sfi)]
        if missing:
            raise EncodeFailed("no-chip-data", f"central sent no EF {missing[0]:#04x}")
        reader = self._reader()
        conn = self.system.connect(reader)
        session = Session(conn, self.extended, time.monotonic() + self.timeout_s)
        try:
            session.command(0x00, 0xA4, 0x04, 0x0C, AID, expect="select")
            found = _serial(session.command(0x00, 0xCA, 0x00, 0x5A, le=0x40))
            if found != serial:
                raise EncodeFailed("blank-swapped", f"the station holds {found}, not the blank {serial} taken")
            authenticate(session, self._sam_key)
            for sfi in WRITE_ORDER:
                _write_file(session, sfi, files[sfi])
            session.command(0x00, 0x44, 0x00, 0x00, expect="write")
        except EncodeFailed:
            raise
        except DeviceError as exc:
            raise EncodeFailed("encode-failed" if exc.code == "bad-status" else exc.code,
                               f"after {session.apdus} APDUs: {exc.detail}") from exc
        finally:
            _disconnect(conn)
        written = session.apdus
        try:
            _atr, back, read_apdus = self.verifier.read_files(tuple(s for s in WRITE_ORDER if s != SFI_SECURITY))
        except DeviceError as exc:
            raise EncodeFailed(exc.code, f"read-back: {exc.detail}") from exc
        for sfi in WRITE_ORDER:
            if back.get(sfi) != files[sfi]:
                raise EncodeFailed("readback-differs", f"EF {sfi:#04x} reads back differently from what was written")
        return Personalised(serial, written, read_apdus)

    def reject(self) -> bool:
        """Asks the station to eject its card to the reject bin; False when it cannot (a technician must).

        The station's own pseudo-APDU ``FF 7E 00 00`` first (class FF: the reader answers, not the chip,
        so a dead chip is ejected too); a station that does not know it gets ``SCARD_EJECT_CARD``."""
        try:
            conn = self.system.connect(self._reader())
        except DeviceError:
            return False
        try:
            _resp, sw1, sw2 = conn.transmit(list(EJECT))
        except DeviceError:
            sw1, sw2 = 0x6D, 0x00
        try:
            conn.disconnect(eject=(sw1, sw2) != (0x90, 0x00))
        except DeviceError:
            return (sw1, sw2) == (0x90, 0x00)
        return True


def _write_file(session: Session, sfi: int, body: bytes) -> None:
    """UPDATE BINARY: the first command selects the EF by SFI at offset 0, the rest continue by offset."""
    offset = 0
    while offset < len(body):
        size = EXTENDED_CHUNK if session.extended else SHORT_CHUNK
        chunk = body[offset:offset + size]
        p1, p2 = (0x80 | sfi, 0x00) if offset == 0 else (offset >> 8, offset & 0xFF)
        try:
            session.command(0x00, 0xD6, p1, p2, chunk, expect="write")
        except (ApduRejected, ValueError):
            if session.extended or len(chunk) <= SHORT_CHUNK:
                raise
            continue  # the reader refused an extended APDU: the session is short from now on, resend in short chunks
        offset += len(chunk)


def _serial(raw: bytes) -> str:
    try:
        serial = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise CardUnreadable("bad-answer", "the blank's serial is not ASCII") from exc
    if not serial or not serial.isprintable():
        raise CardUnreadable("bad-answer", "the blank has no serial")
    return serial


def _disconnect(conn: object) -> None:
    try:
        conn.disconnect()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - the card may be gone already
        pass
