"""Camera scanning for the citizen UI: identify by WhatsApp QR, check a document's authenticity.

The UI polls ``kiosk.scanner`` while its camera page is open (every ~300 ms is plenty):

- ``identify()`` -> ``Identification``: ``status`` is ``none`` (no code yet: keep polling),
  ``identified`` (``nik`` set: start a session with ``sessions.start(nik, "qr")``, then the
  PIN step as usual: the QR identifies, it never authorises), or ``invalid``/``unavailable``
  (``message`` is an English msgid to translate and show; keep polling: the citizen may
  hold up the right code next).
- ``check_document()`` -> ``DocumentCheck``: ``none``, ``valid`` / ``superseded`` /
  ``unknown`` (central's verdict, with the document number, issue date and signing office
  and nothing more personal), or ``invalid``/``unavailable`` with a ``message``.

Both decode the newest camera frame only (a stale frame would answer for a code that has
gone). Every payload is validated (``kiosk.barcodes``) before it goes to central; a 1D
code counts only after two matching reads in different frames. Nothing personal is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kiosk.citizen.barcodes import PayloadError, classify, parse_document_qr, parse_request_qr
from kiosk.citizen.central import CentralClient, CentralError

log = logging.getLogger(__name__)

MSG_NO_CAMERA = "The camera is not available. Please use another way or ask staff for help."
MSG_NOT_OURS = "This code is not from Dukcapil."
MSG_USE_WHATSAPP_QR = "This is a document's code. To identify, show the QR code from your WhatsApp message."
MSG_USE_DOCUMENT_QR = "This is a WhatsApp code. To check a document, show the QR code printed on the document."
MSG_QR_UNKNOWN = "This QR code is not valid any more. Please use the code from your latest WhatsApp message."
MSG_OFFLINE = "The Dukcapil server is not available right now. Please try again later."


@dataclass(frozen=True)
class Identification:
    status: str  # none | identified | invalid | unavailable
    nik: str = ""
    message: str = ""

    def __repr__(self) -> str:  # never a NIK in a log line or a traceback
        return f"Identification(status={self.status!r}, message={self.message!r})"


@dataclass(frozen=True)
class DocumentCheck:
    status: str  # none | valid | superseded | unknown | invalid | unavailable
    kind: str = ""
    number: str = ""
    issue_date: str = ""
    office: str = ""
    message: str = ""
    signer: str = ""  # who signed it (TTE), from central's record
    signer_office: str = ""
    signed_at: str = ""


_NOTHING = Identification("none")
Result = TypeVar("Result", Identification, DocumentCheck)


def _long_poll(once: Callable[[float], Result], wait_s: float) -> Result:
    """Reads new frames until ``once`` finds something other than ``none`` or ``wait_s`` is over."""
    deadline = time.monotonic() + wait_s
    while True:
        result = once(max(0.0, deadline - time.monotonic()))
        if result.status != "none" or time.monotonic() >= deadline:
            return result


class Scanner:
    """Turns camera frames into identifications and verdicts; see the module docstring for the API.

    ``camera`` is the camera driver (``scan(after, timeout_s) -> Scan``) or None when the
    kiosk has none. ``confirm_1d_within_s``: how long a first 1D read waits for its second.
    """

    def __init__(self, camera: Any, central: CentralClient, confirm_1d_within_s: float = 2.0) -> None:
        self.camera = camera
        self.central = central
        self.confirm_1d_within_s = confirm_1d_within_s
        self._last_frame = 0
        self._pending_1d: tuple[str, int, float] | None = None  # text, frame id, when

    def _read(self, wait_s: float) -> list[str] | None:
        """Payloads in the newest unseen frame (1D ones only once confirmed); None without a camera."""
        if self.camera is None:
            return None
        try:
            scan = self.camera.scan(after=self._last_frame, timeout_s=wait_s)
        except Exception:  # noqa: BLE001 - a camera fault is "no camera", never a crashed page
            log.warning("camera scan failed", exc_info=True)
            return None
        if scan.frame_id == 0:
            return None
        if scan.frame_id <= self._last_frame:
            return []
        self._last_frame = scan.frame_id
        out = []
        for code in scan.codes:
            if not code.linear:
                out.append(code.text)
                continue
            pending, now = self._pending_1d, time.monotonic()
            if pending and pending[0] == code.text and pending[1] != scan.frame_id \
                    and now - pending[2] <= self.confirm_1d_within_s:
                self._pending_1d = None
                out.append(code.text)
            else:
                self._pending_1d = (code.text, scan.frame_id, now)
        return out

    def identify(self, wait_s: float = 0.0) -> Identification:
        """The newest frame's WhatsApp QR resolved by central; with ``wait_s``, keeps reading new
        frames until something other than ``none`` comes up or the time is over (a long poll)."""
        return _long_poll(self._identify_once, wait_s)

    def _identify_once(self, wait_s: float) -> Identification:
        texts = self._read(min(wait_s, 0.2))
        if texts is None:
            return Identification("unavailable", message=MSG_NO_CAMERA)
        result = _NOTHING
        for text in texts:
            kind = classify(text)
            if kind == "document":
                result = Identification("invalid", message=MSG_USE_WHATSAPP_QR)
                continue
            try:
                ref = parse_request_qr(text)
            except PayloadError as exc:
                log.info("camera: refused a code (%s)", exc.code)
                result = Identification("invalid", message=MSG_NOT_OURS)
                continue
            try:
                nik = self.central.identify_qr(ref.payload)
            except CentralError:
                return Identification("unavailable", message=MSG_OFFLINE)
            if nik is None:
                log.info("camera: central does not know request QR %s", ref.request_id)
                result = Identification("invalid", message=MSG_QR_UNKNOWN)
                continue
            log.info("camera: identified request %s by QR", ref.request_id)
            return Identification("identified", nik=nik)
        return result

    def check_document(self, wait_s: float = 0.0) -> DocumentCheck:
        """Central's verdict on the newest frame's document QR; ``wait_s`` as for ``identify``."""
        return _long_poll(self._check_once, wait_s)

    def _check_once(self, wait_s: float) -> DocumentCheck:
        texts = self._read(min(wait_s, 0.2))
        if texts is None:
            return DocumentCheck("unavailable", message=MSG_NO_CAMERA)
        result = DocumentCheck("none")
        for text in texts:
            if classify(text) == "request":
                result = DocumentCheck("invalid", message=MSG_USE_DOCUMENT_QR)
                continue
            try:
                doc = parse_document_qr(text)
            except PayloadError as exc:
                log.info("camera: refused a code (%s)", exc.code)
                result = DocumentCheck("invalid", message=MSG_NOT_OURS)
                continue
            try:
                verdict = self.central.verify(doc.payload)
            except CentralError:
                return DocumentCheck("unavailable", message=MSG_OFFLINE)
            status = verdict.status if verdict.status in ("valid", "superseded") else "unknown"
            log.info("camera: document check %s -> %s", doc.document_id, status)
            if status == "unknown":
                return DocumentCheck("unknown")
            return DocumentCheck(status, verdict.kind, verdict.number, verdict.issue_date, verdict.office,
                                 signer=verdict.signer, signer_office=verdict.signer_office, signed_at=verdict.signed_at)
        return result
