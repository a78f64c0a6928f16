"""Client for the central Dukcapil service (docs/central-api.yaml).

Every request is signed with the kiosk's key (HMAC over method, path, timestamp and body
digest), so a stolen request cannot be replayed later or altered. Reads and idempotent
writes are retried with backoff; a PIN redemption is retried only when the request never
reached central (connection refused), so a slow central never burns a PIN attempt twice.

What central sends is checked before it is used: every document and redemption ID against
a strict pattern (they go into URLs and the journal), and a report counts as delivered
only on central's documented acknowledgement of that report's idempotency key. Anything
else (a proxy's HTML page, garbage, another key, ``accepted: false``) is central not
answering: nothing is consumed, and the outbox tries again later.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from drivers.base import N_, AdmError
from kiosk.citizen.clock import ClockCheck
from kiosk.model import Document, DocumentKind, Identity

AUTH_SCHEME = "ADM-HMAC"
MAX_CLOCK_SKEW_S = 300
# docs/central-api.yaml, components/schemas/Id: what a document or redemption ID may be
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
ACKNOWLEDGED = ("accepted", "duplicate")  # docs/central-api.yaml, components/schemas/ReportAck
HEARTBEAT_RECORDED = "recorded"  # docs/central-api.yaml, components/schemas/HeartbeatAck
MAX_DOCUMENT_BYTES = 16 << 20  # a signed A4 PDF or a card's data with its photo is far smaller
CHUNK = 64 * 1024
PRECONNECT_MAX = 4


def sign(key: bytes, method: str, path: str, timestamp: str, body: bytes) -> str:
    msg = "\n".join([method.upper(), path, timestamp, hashlib.sha256(body).hexdigest()]).encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def auth_header(kiosk_id: str, key: bytes, method: str, path: str, body: bytes, now: float | None = None) -> str:
    ts = str(int(now if now is not None else time.time()))
    return f"{AUTH_SCHEME} {kiosk_id}:{ts}:{sign(key, method, path, ts, body)}"


class CentralError(AdmError):
    """Central did not give a verdict the kiosk can act on (the base of central's answers)."""

    code = "central-error"
    citizen_message = N_("The Dukcapil server is not available right now. Your PIN is still valid. Please try again later.")


class CentralUnavailable(CentralError):
    code = "central-unavailable"


class WrongPin(CentralError):
    code = "wrong-pin"
    citizen_message = N_("The PIN is wrong.")


class NoDocuments(CentralError):
    code = "no-documents"
    citizen_message = N_("There are no documents ready to print for this NIK.")


class PinExpired(CentralError):
    code = "pin-expired"
    citizen_message = N_("This PIN has expired. Please ask for a new one.")


class ReportNotAcknowledged(CentralUnavailable):
    """Central (or something in its place) answered a report without acknowledging it: not delivered."""

    code = "report-not-acknowledged"


class DocumentTooLarge(CentralUnavailable):
    """Central (or something in its place) sent more than any document can be: not stored, not tried again."""

    code = "document-too-large"


class CentralRejected(CentralError):
    """Central refused the kiosk itself (auth, clock, bad request): a technician's problem."""

    code = "central-rejected"
    citizen_message = N_("This kiosk cannot reach the Dukcapil server. Please ask staff for help.")


@dataclass(frozen=True)
class Redemption:
    id: str
    documents: list[Document]


@dataclass(frozen=True)
class NearbyKiosk:
    kiosk: str
    name: str
    distance_km: float
    can_print: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fallback:
    """Central's offer for a card that cannot be printed here: a substitute to print, and where the card can."""

    substitute: Document | None
    nearest: list[NearbyKiosk]
    office: str


QUEUE_NUMBER_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,15}", re.ASCII)


def _nearby(rows: Any) -> list[NearbyKiosk]:
    """Central's list of kiosks, keeping only well-formed entries (names bounded: they go on screen)."""
    out = []
    for r in rows if isinstance(rows, list) else []:
        try:
            out.append(NearbyKiosk(str(r["kiosk"])[:40], str(r["name"])[:80], float(r["distance_km"]),
                                   tuple(str(k) for k in r.get("can_print", []))))
        except (KeyError, TypeError, ValueError):
            continue
    return out


@dataclass(frozen=True)
class Verdict:
    status: str  # valid | superseded | unknown
    kind: str = ""
    number: str = ""
    issue_date: str = ""
    office: str = ""
    signer: str = ""  # who signed it (TTE), from central's record
    signer_office: str = ""
    signed_at: str = ""  # ISO 8601


def _head(resp: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of a streamed body (an error page), never the whole of a huge one."""
    out = bytearray()
    chunks: Iterator[bytes] = resp.iter_bytes(CHUNK)
    for chunk in chunks:
        out += chunk
        if len(out) >= limit:
            break
    return bytes(out[:limit])


class CentralClient:
    def __init__(self, base_url: str, kiosk_id: str, key: bytes, timeout_s: float = 5.0, retries: int = 2,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.kiosk_id = kiosk_id
        self._key = key
        self.timeout_s = timeout_s
        self.retries = retries
        # verify only matters for https; building the CA store costs ~150 ms at start-up otherwise
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport,
                                  headers={"User-Agent": "adm-kiosk"}, verify=base_url.startswith("https:"))
        self.last_ok: float = 0.0
        self.last_error: str = ""
        self.clock = ClockCheck(MAX_CLOCK_SKEW_S)  # central's Date on every answer, and the heartbeat's server_time
        self._warmers = ThreadPoolExecutor(PRECONNECT_MAX, thread_name_prefix="central-preconnect")

    def close(self) -> None:
        self._warmers.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    # -- transport ----------------------------------------------------------------------

    def _request(self, method: str, path: str, json_body: Any = None, idempotent: bool = True,
                 timeout_s: float | None = None, retries: int | None = None) -> httpx.Response:
        body = b"" if json_body is None else httpx.Request("POST", "/", json=json_body).content
        retries = self.retries if retries is None else retries
        timeout: Any = httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s
        attempt = 0
        while True:
            headers = {"Authorization": auth_header(self.kiosk_id, self._key, method, path, body)}
            if body:
                headers["Content-Type"] = "application/json"
            sent = time.time()
            try:
                resp = self._http.request(method, path, content=body or None, headers=headers, timeout=timeout)
            except httpx.ConnectError as exc:
                err: Exception = exc
                retry = True
            except httpx.TransportError as exc:  # timeouts, torn connections
                err = exc
                retry = idempotent
            else:
                self.clock.observe_date(resp.headers.get("Date"), sent, time.time())  # a refusal's Date too
                if resp.status_code in (502, 503, 504) or (resp.status_code >= 500 and idempotent):
                    err = CentralUnavailable(f"central answered {resp.status_code}")
                    retry = idempotent or resp.status_code == 503
                else:
                    self.last_ok = time.time()
                    self.last_error = ""
                    return resp
            attempt += 1
            self.last_error = f"{type(err).__name__}: {err}"
            if not retry or attempt > retries:
                raise CentralUnavailable(self.last_error) from err
            time.sleep(min(2.0, 0.1 * 2 ** attempt))

    @staticmethod
    def _json(resp: httpx.Response) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError as exc:
            raise CentralUnavailable("central sent a body that is not JSON") from exc
        if not isinstance(data, dict):
            raise CentralUnavailable("central sent an unexpected JSON document")
        return data

    def _fail(self, resp: httpx.Response) -> CentralError:
        code = ""
        try:
            data = resp.json()
        except ValueError:
            data = None
        if isinstance(data, dict):  # a proxy's error page may be JSON, just not an object
            code = str(data.get("error", ""))
        if resp.status_code in (401, 403) and code in ("", "kiosk-auth"):
            return CentralRejected(f"central refused this kiosk ({resp.status_code} {code})")
        if resp.status_code >= 500 or resp.status_code == 429:  # central's trouble, not the kiosk's
            return CentralUnavailable(f"central answered {resp.status_code} {code}")
        return {"wrong-pin": WrongPin, "no-documents": NoDocuments, "pin-expired": PinExpired}.get(
            code, CentralRejected)(f"{resp.status_code} {code}")

    # -- API ----------------------------------------------------------------------------

    def redeem(self, nik: str, pin: str) -> Redemption:
        """Opens a redemption: the ready documents for this NIK. The PIN stays valid until all print."""
        resp = self._request("POST", "/v1/redemptions", {"nik": nik, "pin": pin}, idempotent=False)
        if resp.status_code != 200:
            raise self._fail(resp)
        data = self._json(resp)
        try:
            docs = [Document(id=str(d["id"]), kind=DocumentKind(d["kind"]), number=str(d["number"]),
                             pages=int(d.get("pages", 1)), sha256=str(d.get("sha256", "")))
                    for d in data["documents"]]
            redemption = Redemption(str(data["redemption_id"]), docs)
        except (KeyError, TypeError, ValueError) as exc:
            raise CentralUnavailable(f"central sent a malformed redemption: {exc}") from exc
        ids = [redemption.id, *(d.id for d in docs)]
        bad = [i for i in ids if not ID_RE.fullmatch(i)]
        if bad or len(set(ids)) != len(ids):
            self.last_error = "central sent an invalid or repeated document ID"
            raise CentralUnavailable(f"{self.last_error}: {bad[0][:40]!r}" if bad else self.last_error)
        return redemption

    def fetch(self, redemption_id: str, doc: Document, dest: Path | None = None, deadline: float | None = None,
              cancelled: Callable[[], bool] = lambda: False) -> Document:
        """Fills in the document's content: the signed PDF (checksum verified) or the card data.

        The body streams to ``dest`` (a temporary file when None), its checksum computed as it
        arrives and its size bounded by ``MAX_DOCUMENT_BYTES``, then is read back once: a
        document is never held whole in memory twice. A connection that drops mid-way starts
        again from the first byte, until ``deadline`` (``time.monotonic()``; ``timeout_s`` for each
        of ``retries + 1`` tries when None): past it, ``CentralUnavailable``. ``cancelled`` stops it
        between chunks.
        """
        path = f"/v1/redemptions/{redemption_id}/documents/{doc.id}"
        deadline = deadline if deadline is not None else time.monotonic() + self.timeout_s * (self.retries + 1)
        with open(dest, "w+b") if dest is not None else tempfile.TemporaryFile() as sink:
            try:
                digest = self._stream(path, sink, deadline, cancelled)
                if doc.medium == "a4" and not hmac.compare_digest(digest, doc.sha256):
                    raise CentralUnavailable("the document's checksum does not match: not printed")
            except BaseException:
                if dest is not None:
                    dest.unlink(missing_ok=True)  # a partial or wrong document does not stay on disk
                raise
            sink.seek(0)
            content = sink.read()
        if doc.medium == "a4":
            if not content.startswith(b"%PDF-"):
                raise CentralUnavailable("the document is not a PDF: not printed")
            doc.pdf = content
            return doc
        data = self._json(httpx.Response(200, content=content))
        try:
            ident = data["identity"]
            doc.identity = Identity(**{k: str(v) for k, v in ident.items() if k in Identity.__dataclass_fields__})
            doc.photo = base64.b64decode(data["photo"]) if data.get("photo") else None
            doc.signature = base64.b64decode(data["signature"]) if data.get("signature") else None
            chip = data.get("chip")
            if chip is not None:  # a KTP-el's chip image: EF number (2 hex digits) -> the EF's bytes
                doc.chip = {int(sfi, 16): base64.b64decode(body, validate=True) for sfi, body in dict(chip).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CentralUnavailable(f"central sent malformed card data: {exc}") from exc
        return doc

    def _stream(self, path: str, sink: BinaryIO, deadline: float, cancelled: Callable[[], bool]) -> str:
        """GETs ``path`` into ``sink``; returns the body's SHA-256. A dropped link is tried again from the start
        until the deadline; central answering 5xx (it is there, and says it cannot) only ``retries`` times."""
        attempt = answered = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or cancelled():
                raise CentralUnavailable(self.last_error or "the download did not finish in time")
            sink.seek(0)
            sink.truncate()
            hasher = hashlib.sha256()
            headers = {"Authorization": auth_header(self.kiosk_id, self._key, "GET", path, b"")}
            try:
                with self._http.stream("GET", path, headers=headers, timeout=min(self.timeout_s, left)) as resp:
                    if resp.status_code >= 500:
                        raise CentralUnavailable(f"central answered {resp.status_code}")
                    if resp.status_code != 200:
                        raise self._fail(httpx.Response(resp.status_code, headers=resp.headers,
                                                        content=_head(resp, 64 * 1024)))
                    size = 0
                    for chunk in resp.iter_bytes(CHUNK):
                        size += len(chunk)
                        if size > MAX_DOCUMENT_BYTES:
                            raise DocumentTooLarge(f"a document larger than {MAX_DOCUMENT_BYTES} bytes: refused")
                        if cancelled() or time.monotonic() > deadline:
                            raise CentralUnavailable("the download did not finish in time")
                        hasher.update(chunk)
                        sink.write(chunk)
                self.last_ok = time.time()
                self.last_error = ""
                return hasher.hexdigest()
            except (CentralRejected, DocumentTooLarge):
                raise
            except (httpx.TransportError, CentralUnavailable) as exc:
                attempt += 1
                answered += isinstance(exc, CentralUnavailable)
                self.last_error = f"{type(exc).__name__}: {exc}"
                if cancelled() or time.monotonic() + 0.1 >= deadline or answered > self.retries:
                    raise CentralUnavailable(self.last_error) from exc
                time.sleep(min(2.0, 0.1 * 2 ** attempt, max(0.0, deadline - time.monotonic())))

    def report(self, payload: dict[str, Any]) -> str:
        """Delivers one outbox report; returns central's acknowledgement (``accepted`` | ``duplicate``).

        Raises ``ReportNotAcknowledged`` for any answer that is not that acknowledgement of this
        report's key, and ``CentralError`` when central is unreachable or refuses the kiosk."""
        return self._acknowledged("/v1/reports", payload)

    def blank_report(self, payload: dict[str, Any]) -> str:
        """Delivers one day's blank report (kiosk/staff/blank_report.py), acknowledged as ``report`` is."""
        return self._acknowledged("/v1/blank-reports", payload)

    def staff_call(self, payload: dict[str, Any]) -> str:
        """Delivers one outbox staff-call notice (a citizen called staff, cancelled, or the call ended); the same
        acknowledgement rules as a report (docs/central-api.yaml ``/v1/staff-calls``)."""
        return self._acknowledged("/v1/staff-calls", payload)

    def _acknowledged(self, path: str, payload: dict[str, Any]) -> str:
        key = payload.get("idempotency_key")
        resp = self._request("POST", path, payload)
        if resp.status_code >= 400 and resp.status_code != 409:
            raise self._fail(resp)
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            kind = resp.headers.get("content-type", "no content type").split(";")[0]
            raise self._unacknowledged(f"central's answer is not an acknowledgement (HTTP {resp.status_code}, {kind})")
        status = data.get("status", "accepted: false" if data.get("accepted") is False else None)
        if resp.status_code != 200 or status not in ACKNOWLEDGED:
            reason = str(data.get("reason", ""))[:80]
            raise self._unacknowledged(f"central did not accept the report: {str(status)[:20]} {reason}".rstrip())
        if data.get("idempotency_key") != key:
            raise self._unacknowledged("central acknowledged another report's key")
        return str(status)

    def _unacknowledged(self, why: str) -> ReportNotAcknowledged:
        self.last_error = f"ReportNotAcknowledged: {why}"
        return ReportNotAcknowledged(why)

    def heartbeat(self, snapshot: dict[str, Any]) -> None:
        """Delivers a heartbeat; only central's ``HeartbeatAck`` counts (``status: recorded``, its ``server_time``,
        which the clock check compares). Any other answer, a 200 included, raises ``ReportNotAcknowledged``."""
        sent = time.time()
        resp = self._request("POST", "/v1/heartbeat", snapshot)
        received = time.time()
        if resp.status_code != 200:
            raise self._fail(resp)
        try:
            data = resp.json()
        except ValueError:
            data = None
        server_time = data.get("server_time") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("status") != HEARTBEAT_RECORDED \
                or isinstance(server_time, bool) or not isinstance(server_time, int | float):
            raise self._unacknowledged("central's answer to the heartbeat is not an acknowledgement")
        self.clock.observe(float(server_time), sent, received, "heartbeat")

    def verify(self, qr_payload: str) -> Verdict:
        resp = self._request("POST", "/v1/verify", {"qr": qr_payload})
        if resp.status_code != 200:
            raise self._fail(resp)
        data = self._json(resp)
        return Verdict(*(str(data.get(f, "unknown" if f == "status" else ""))[:200] for f in Verdict.__dataclass_fields__))

    def identify_qr(self, qr_payload: str) -> str | None:
        """The NIK of the request whose WhatsApp QR this is; None when central does not know it
        (unknown, used, superseded or expired). Identification only: the PIN is still needed."""
        resp = self._request("POST", "/v1/qr-identify", {"qr": qr_payload})
        if resp.status_code in (404, 410):
            return None
        if resp.status_code != 200:
            raise self._fail(resp)
        nik = self._json(resp).get("nik")
        if not isinstance(nik, str):
            raise CentralUnavailable("central sent a malformed QR identification")
        return nik

    # -- the fleet and the card fallback (hardware_sim/central_fleet.py is the other side) ---------

    def nearest_kiosks(self, kind: str = "", limit: int = 3, timeout_s: float = 1.5) -> list[NearbyKiosk]:
        """Central's nearest connected, open kiosks (that can print ``kind`` now); one try within ``timeout_s``.

        For a citizen's screen: a bounded wait, and anything malformed is dropped, not shown."""
        resp = self._request("POST", "/v1/fleet/nearest", {"kind": kind, "limit": int(limit)}, timeout_s=timeout_s,
                             retries=0)
        if resp.status_code != 200:
            raise self._fail(resp)
        rows = self._json(resp).get("kiosks")
        return _nearby(rows)[:limit]

    def fallback(self, redemption_id: str, document_id: str, reason: str, timeout_s: float = 3.0) -> Fallback:
        """What central offers instead of a card this kiosk cannot print (a substitute document, nearby kiosks)."""
        resp = self._request("POST", f"/v1/redemptions/{redemption_id}/fallback",
                             {"document_id": document_id, "reason": reason}, timeout_s=timeout_s, retries=1)
        if resp.status_code != 200:
            raise self._fail(resp)
        data = self._json(resp)
        sub = data.get("substitute")
        substitute = None
        if isinstance(sub, dict):
            try:
                substitute = Document(id=str(sub["id"]), kind=DocumentKind(sub["kind"]), number=str(sub["number"]),
                                      pages=int(sub.get("pages", 1)), sha256=str(sub.get("sha256", "")))
            except (KeyError, TypeError, ValueError) as exc:
                raise CentralUnavailable(f"central sent a malformed substitute: {exc}") from exc
            if not ID_RE.fullmatch(substitute.id) or substitute.medium != "a4":
                raise CentralUnavailable("central sent an invalid substitute document")
        return Fallback(substitute, _nearby(data.get("nearest")), str(data.get("office", ""))[:80])

    def queue_ticket(self, idempotency_key: str, reason: str, timeout_s: float = 3.0) -> str:
        """A number for the office counter from central; the key makes a retried request the same ticket."""
        resp = self._request("POST", "/v1/queue-tickets", {"idempotency_key": idempotency_key, "reason": reason},
                             timeout_s=timeout_s, retries=1)
        if resp.status_code != 200:
            raise self._fail(resp)
        number = self._json(resp).get("number")
        if not isinstance(number, str) or not QUEUE_NUMBER_RE.fullmatch(number):
            raise CentralUnavailable("central sent a malformed queue number")
        return number
    def preconnect(self, connections: int) -> None:
        """Opens up to ``connections`` more keep-alive connections in the background (health checks), so the
        documents fetched in parallel right after a redemption do not each pay a TCP handshake over a slow
        link. Best effort and bounded by ``timeout_s``: a failure only means a fetch connects itself."""
        def warm() -> None:
            with contextlib.suppress(httpx.HTTPError):
                self._http.get("/v1/health", timeout=self.timeout_s)

        for _ in range(min(connections, PRECONNECT_MAX)):
            self._warmers.submit(warm)

    def ping(self) -> bool:
        try:
            return self._request("GET", "/v1/health").status_code == 200
        except CentralError:
            return False
