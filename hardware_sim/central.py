"""The simulated central Dukcapil service: the other side of docs/central-api.yaml.

State lives in its own SQLite file so ``adm-kiosk sim issue-pin`` (another process) can
create requests that the running kiosk then redeems. PINs are stored as salted hashes and
compared in constant time; each request's PIN works until every document printed.
Faults are one-shot and scriptable: ``faults.fail_next(503, 2)``, ``faults.delay_s``,
``faults.down``.

It is also a witness the kiosk does not own: it records every redeem call with its verdict
(``redeems()``) and every report delivery it receives, repeats included (``deliveries()``,
``repeats()``, ``printed_twice()``), so a test can count what really reached central.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from hardware_sim import citizens
from hardware_sim.central_chip import card_chip_data
from hardware_sim.central_clock import clock_handler
from hardware_sim.central_fleet import PUBLIC_PREFIX, FleetSim, add_fleet_routes
from hardware_sim.central_help import CentralHelp, add_routes, queue_print_confirmation
from hardware_sim.central_reports import CentralBlankReports, add_blank_report_routes
from hardware_sim.central_tte import CentralTte
from hardware_sim.chip_pki import for_state_dir
from hardware_sim.documents import document_qr_payload
from kiosk.citizen.central import AUTH_SCHEME, MAX_CLOCK_SKEW_S, sign
from kiosk.model import DocumentKind, Identity, mask_nik

PIN_TTL_S = 7 * 24 * 3600
SCHEMA = """
CREATE TABLE IF NOT EXISTS citizens (nik TEXT PRIMARY KEY, identity TEXT NOT NULL, kk TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, nik TEXT NOT NULL, pin_salt TEXT NOT NULL,
    pin_hash TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL, state TEXT NOT NULL,
    qr_token TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, kind TEXT NOT NULL,
    number TEXT NOT NULL, pages INTEGER NOT NULL, state TEXT NOT NULL, sha256 TEXT NOT NULL DEFAULT '',
    pdf BLOB, printed_serial TEXT, superseded INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS redemptions (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, kiosk TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reports (idem_key TEXT PRIMARY KEY, kiosk TEXT NOT NULL, document_id TEXT NOT NULL,
    outcome TEXT NOT NULL, payload TEXT NOT NULL, received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS whatsapp_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, to_nik TEXT NOT NULL,
    message TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeats (kiosk TEXT NOT NULL, received_at REAL NOT NULL, snapshot TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, idem_key TEXT NOT NULL,
    kiosk TEXT NOT NULL, document_id TEXT NOT NULL, outcome TEXT NOT NULL, status TEXT NOT NULL,
    received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS document_signatures (document_id TEXT PRIMARY KEY, signer TEXT NOT NULL,
    office TEXT NOT NULL, signed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS redeem_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, kiosk TEXT NOT NULL,
    nik TEXT NOT NULL, verdict TEXT NOT NULL, at REAL NOT NULL);
"""


@dataclass
class CentralFaults:
    """One-shot failures: a test says "central answers 503 twice" or "central is down"."""

    down: bool = False
    delay_s: float = 0.0
    clock_skew_s: float = 0.0  # central's clock minus the machine's (hardware_sim/central_clock.py)
    date_header: str | None = None  # None: the true Date; "": no Date header; else this text instead
    _queue: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, count: int = 1) -> None:
        with self._lock:
            self._queue.extend([status] * count)

    def take(self) -> int | None:
        with self._lock:
            return self._queue.pop(0) if self._queue else None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
        self.down = False
        self.delay_s = 0.0
        self.clock_skew_s = 0.0
        self.date_header = None


@dataclass(frozen=True)
class Delivery:
    """One report as central received it; ``status``: accepted | duplicate | rejected."""

    idempotency_key: str
    kiosk: str
    document_id: str
    outcome: str
    status: str
    received_at: float


@dataclass(frozen=True)
class IssuedPin:
    request_id: str
    nik: str
    pin: str
    documents: list[DocumentKind]
    whatsapp: str
    qr_token: str


class CentralSim:
    def __init__(self, db_path: str | Path, doc_key: bytes | None = None, seed: int | None = None) -> None:
        self.path = Path(db_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self.kiosk_keys: dict[str, bytes] = {}
        self.doc_key = doc_key or self._persistent_key()
        self.chip_pki = for_state_dir(self.path.parent)  # the CSCA and DS of the chips, made on first start
        self.faults = CentralFaults()
        self.blank_reports = CentralBlankReports(self._db, self._lock)
        self.help = CentralHelp(self.path)
        self.tte = CentralTte(self.path.parent / "tte")  # the TTE hierarchy, made on first start
        self._rand = secrets.SystemRandom() if seed is None else __import__("random").Random(seed)
        self._seed_citizens()
        self.fleet = FleetSim(self)

    def _persistent_key(self) -> bytes:
        path = self.path.with_suffix(".dockey")
        if not path.exists():
            path.write_bytes(secrets.token_bytes(32))
            path.chmod(0o600)
        return path.read_bytes()

    def _seed_citizens(self) -> None:
        with self._lock:
            for ident, _ in citizens.DEMO:
                self._db.execute("INSERT OR IGNORE INTO citizens VALUES (?,?,?)",
                                 (ident.nik, json.dumps(citizens.identity_dict(ident)), citizens.KK_NUMBER))

    def now(self) -> float:
        """Central's clock: the machine's, off by ``faults.clock_skew_s``."""
        return time.time() + self.faults.clock_skew_s

    def date_header(self) -> str | None:
        return self.faults.date_header

    def register_kiosk(self, kiosk_id: str, key: bytes) -> None:
        self.kiosk_keys[kiosk_id] = key

    # -- administration (the staff side, and the tests) ----------------------------------

    def identity(self, nik: str) -> Identity | None:
        with self._lock:
            row = self._db.execute("SELECT identity FROM citizens WHERE nik=?", (nik,)).fetchone()
        return Identity(**json.loads(row[0])) if row else None

    def issue_pin(self, nik: str, kinds: list[DocumentKind], pin: str | None = None,
                  ttl_s: float = PIN_TTL_S) -> IssuedPin:
        """A verified request with a fresh PIN; the WhatsApp message is queued in the outbox."""
        ident = self.identity(nik)
        if ident is None:
            raise KeyError(f"no citizen with NIK {mask_nik(nik)} in the simulated central")
        pin = pin or f"{self._rand.randrange(10**6):06d}"
        salt = secrets.token_hex(8)
        req_id = "R" + secrets.token_hex(6).upper()
        qr_token = secrets.token_urlsafe(18)
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("UPDATE requests SET state='superseded' WHERE nik=? AND state='ready'", (nik,))
            self._db.execute("INSERT INTO requests VALUES (?,?,?,?,?,?,?,?)",
                             (req_id, nik, salt, _pin_hash(salt, pin), now, now + ttl_s, "ready", qr_token))
            for kind in kinds:
                self._add_document(req_id, ident, kind)
            names = ", ".join(_SHORT[k] for k in kinds)
            msg = (f"Yth. {ident.name}, permohonan Anda ({names}) telah diverifikasi dan siap dicetak di "
                   f"Anjungan Dukcapil Mandiri (ADM).\nNIK: {mask_nik(nik)}\nPIN: {pin}\n"
                   f"Berlaku sampai {time.strftime('%d-%m-%Y', time.localtime(now + ttl_s))}. "
                   "Jangan berikan PIN ini kepada siapa pun, termasuk petugas." + self.fleet.whatsapp_note(nik, kinds))
            self._db.execute("INSERT INTO whatsapp_outbox(to_nik, message, created_at) VALUES (?,?,?)",
                             (mask_nik(nik), msg, now))
            self._db.execute("COMMIT")
        return IssuedPin(req_id, nik, pin, list(kinds), msg, qr_token)

    def _add_document(self, req_id: str, ident: Identity, kind: DocumentKind) -> None:
        doc_id = "D" + secrets.token_hex(6).upper()
        if kind.medium == "card":
            number, pages, pdf, digest = ident.nik, 1, None, ""
        else:
            number = citizens.KK_NUMBER if kind is DocumentKind.KK else f"3201-LT-{ident.nik[-6:]}-{kind.value[:4].upper()}"
            members = [self.identity(i.nik) or i for i, _ in citizens.DEMO[:3]] if kind is DocumentKind.KK else []
            pdf, signed = self.tte.issue(kind, number, ident, members,
                                         document_qr_payload(self.doc_key, kind, number, doc_id))
            pages, digest = 1, hashlib.sha256(pdf).hexdigest()
            self._db.execute("INSERT INTO document_signatures VALUES (?,?,?,?)",
                             (doc_id, signed.signer, signed.office, signed.signed_at))
        self._db.execute("INSERT INTO documents(id, request_id, kind, number, pages, state, sha256, pdf) "
                         "VALUES (?,?,?,?,?,?,?,?)", (doc_id, req_id, kind.value, number, pages, "ready", digest, pdf))

    def whatsapp_messages(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT message FROM whatsapp_outbox ORDER BY id")]

    def document_states(self, request_id: str) -> dict[str, str]:
        with self._lock:
            return {r[0]: r[1] for r in self._db.execute("SELECT kind, state FROM documents WHERE request_id=?",
                                                         (request_id,))}

    def request_state(self, request_id: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT state FROM requests WHERE id=?", (request_id,)).fetchone()
        return row[0] if row else ""

    def report_count(self, outcome: str | None = None) -> int:
        with self._lock:
            if outcome:
                return self._db.execute("SELECT COUNT(*) FROM reports WHERE outcome=?", (outcome,)).fetchone()[0]
            return self._db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]

    def deliveries(self) -> list[Delivery]:
        """Every report delivery received, in order, repeats and refusals included."""
        with self._lock:
            return [Delivery(*r) for r in self._db.execute(
                "SELECT idem_key, kiosk, document_id, outcome, status, received_at FROM deliveries ORDER BY id")]

    def repeats(self) -> int:
        """Deliveries of a key central had received before (a kiosk resending what was acknowledged)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) - COUNT(DISTINCT idem_key) FROM deliveries").fetchone()[0])

    def printed_twice(self) -> dict[str, int]:
        """Documents reported printed under more than one key: printed (or at least reported) twice."""
        with self._lock:
            return dict(self._db.execute("SELECT document_id, COUNT(*) FROM reports WHERE outcome='printed' "
                                         "GROUP BY document_id HAVING COUNT(*) > 1").fetchall())

    def reports_for(self, document_id: str) -> list[dict[str, Any]]:
        """The reports central accepted for a document (printed, failed with its reason, data-rejected), in order."""
        with self._lock:
            return [json.loads(r[0]) for r in self._db.execute(
                "SELECT payload FROM reports WHERE document_id=? ORDER BY received_at", (document_id,))]

    def redeems(self, nik: str | None = None) -> list[str]:
        """The verdict of every redeem call received (for one NIK): ok | wrong-pin | no-documents | pin-expired."""
        with self._lock:
            if nik is None:
                return [r[0] for r in self._db.execute("SELECT verdict FROM redeem_calls ORDER BY id")]
            return [r[0] for r in self._db.execute("SELECT verdict FROM redeem_calls WHERE nik=? ORDER BY id", (nik,))]

    def heartbeats(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(r[0]) for r in self._db.execute("SELECT snapshot FROM heartbeats ORDER BY rowid")]

    # -- the API (called by the Flask views) ----------------------------------------------

    def redeem(self, kiosk: str, nik: str, pin: str) -> tuple[int, dict[str, Any]]:
        now = time.time()
        with self._lock:
            status, out = self._redeem(kiosk, nik, pin, now)
            self._db.execute("INSERT INTO redeem_calls(kiosk, nik, verdict, at) VALUES (?,?,?,?)",
                             (kiosk, nik, out.get("error", "ok"), now))
        return status, out

    def _redeem(self, kiosk: str, nik: str, pin: str, now: float) -> tuple[int, dict[str, Any]]:
        rows = self._db.execute("SELECT id, pin_salt, pin_hash, expires_at FROM requests "
                                "WHERE nik=? AND state='ready' ORDER BY created_at DESC", (nik,)).fetchall()
        if not rows:  # the same hashing work as a wrong PIN: the answer's timing says nothing either
            hmac.compare_digest(_pin_hash("0" * 16, pin), "0" * 64)
            return 404, {"error": "no-documents"}
        req_id, salt, pin_hash, expires = rows[0]
        if not hmac.compare_digest(_pin_hash(salt, pin), pin_hash):
            return 401, {"error": "wrong-pin"}
        if expires < now:
            return 410, {"error": "pin-expired"}
        docs = self._db.execute("SELECT id, kind, number, pages, sha256 FROM documents "
                                "WHERE request_id=? AND state='ready'", (req_id,)).fetchall()
        rid = "X" + secrets.token_hex(8).upper()
        self._db.execute("INSERT INTO redemptions VALUES (?,?,?,?)", (rid, req_id, kiosk, now))
        return 200, {"redemption_id": rid, "documents": [
            {"id": d[0], "kind": d[1], "number": d[2], "pages": d[3], "sha256": d[4]} for d in docs]}

    def document(self, redemption_id: str, doc_id: str) -> tuple[int, Any]:
        with self._lock:
            row = self._db.execute(
                "SELECT d.kind, d.pdf, r.nik FROM documents d JOIN redemptions x ON x.request_id=d.request_id "
                "JOIN requests r ON r.id=d.request_id WHERE x.id=? AND d.id=?", (redemption_id, doc_id)).fetchone()
        if row is None:
            return 404, {"error": "not-found"}
        kind, pdf, nik = DocumentKind(row[0]), row[1], row[2]
        if kind.medium == "a4":
            return 200, bytes(pdf)
        ident = self.identity(nik)
        assert ident is not None
        photo, signature = citizens.photo_jpeg(ident), citizens.signature_png(ident)
        out: dict[str, Any] = {"identity": citizens.identity_dict(ident), "photo": base64.b64encode(photo).decode(),
                               "signature": base64.b64encode(signature).decode()}
        if kind is DocumentKind.KTP_EL:
            out["chip"] = card_chip_data(ident, photo, signature, self.chip_pki)
        return 200, out

    def report(self, kiosk: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Records a report once per key and acknowledges it (docs/central-api.yaml, ReportAck).

        A key seen before with the same report is a ``duplicate`` (delivered, nothing changes);
        with a different report it is ``rejected`` (409): one key, one report, for ever."""
        key, doc_id, outcome = payload.get("idempotency_key"), payload.get("document_id"), payload.get("outcome")
        if not isinstance(key, str) or not isinstance(doc_id, str) or outcome not in ("printed", "failed", "data-rejected"):
            return 422, {"error": "bad-report"}
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT payload FROM reports WHERE idem_key=?", (key,)).fetchone()
            if row is None:
                status = "accepted"
                self._db.execute("INSERT INTO reports VALUES (?,?,?,?,?,?)",
                                 (key, kiosk, doc_id, outcome, json.dumps(payload), now))
                if outcome == "printed":
                    self._printed(doc_id, payload.get("card_serial"))
                    queue_print_confirmation(self._db, kiosk, doc_id, payload.get("at"))
            else:
                status = "duplicate" if json.loads(row[0]) == payload else "rejected"
            self._db.execute("INSERT INTO deliveries(idem_key, kiosk, document_id, outcome, status, received_at) "
                             "VALUES (?,?,?,?,?,?)", (key, kiosk, doc_id, outcome, status, now))
            self._db.execute("COMMIT")
        if status == "rejected":
            return 409, {"idempotency_key": key, "status": status, "reason": "key-reused"}
        return 200, {"idempotency_key": key, "status": status}

    def _printed(self, doc_id: str, serial: Any) -> None:
        self._db.execute("UPDATE documents SET state='printed', printed_serial=? WHERE id=?", (serial, doc_id))
        req = self._db.execute("SELECT request_id FROM documents WHERE id=?", (doc_id,)).fetchone()
        if req and not self._db.execute("SELECT 1 FROM documents WHERE request_id=? AND state='ready'",
                                        (req[0],)).fetchone():
            self._db.execute("UPDATE requests SET state='used' WHERE id=?", (req[0],))

    def verify(self, qr: str) -> dict[str, Any]:
        parts = qr.split("|")
        if len(parts) != 5 or parts[0] != "ADMDOC1":
            return {"status": "unknown"}
        expected = document_qr_payload(self.doc_key, DocumentKind(parts[1]) if parts[1] in DocumentKind._value2member_map_
                                       else DocumentKind.KK, parts[2], parts[3])
        if not hmac.compare_digest(expected, qr):
            return {"status": "unknown"}
        with self._lock:
            row = self._db.execute("SELECT kind, number, superseded FROM documents WHERE id=?", (parts[3],)).fetchone()
            signed = self._db.execute("SELECT signer, office, signed_at FROM document_signatures WHERE document_id=?",
                                      (parts[3],)).fetchone()
        if row is None:
            return {"status": "unknown"}
        return {"status": "superseded" if row[2] else "valid", "kind": row[0], "number": row[1],
                "issue_date": "14-02-2024", "office": "Disdukcapil Kabupaten Bogor",
                **({"signer": signed[0], "signer_office": signed[1], "signed_at": signed[2]} if signed else {})}

    def qr_identify(self, qr: str) -> tuple[int, dict[str, Any]]:
        """Resolves a WhatsApp request QR to its NIK: only a ready, unexpired request; token in constant time.

        The QR is not a credential: the kiosk still asks for the PIN, so this answers no more
        than "which NIK", and a request that is used, superseded or expired answers 404/410.
        """
        from kiosk.citizen.barcodes import PayloadError, parse_request_qr
        try:
            ref = parse_request_qr(qr)
        except PayloadError:
            return 404, {"error": "qr-unknown"}
        with self._lock:
            row = self._db.execute("SELECT nik, qr_token, state, expires_at FROM requests WHERE id=?",
                                   (ref.request_id,)).fetchone()
        token = row[1] if row else "x" * len(ref.token)
        if row is None or not row[1] or not hmac.compare_digest(token.encode(), ref.token.encode()):
            return 404, {"error": "qr-unknown"}
        if row[2] != "ready" or row[3] < time.time():
            return 410, {"error": "qr-expired"}
        return 200, {"nik": row[0], "request_id": ref.request_id}

    def whatsapp_qr(self, issued: IssuedPin) -> str:
        """The payload of the QR sent with ``issued``'s WhatsApp message."""
        from kiosk.citizen.barcodes import whatsapp_qr_payload
        return whatsapp_qr_payload(issued.request_id, issued.qr_token)

    def document_qrs(self, request_id: str) -> dict[str, str]:
        """The QR payload printed on each A4 document of a request, by kind (the tests hold them to the camera)."""
        with self._lock:
            rows = self._db.execute("SELECT id, kind, number FROM documents WHERE request_id=?",
                                    (request_id,)).fetchall()
        return {kind: document_qr_payload(self.doc_key, DocumentKind(kind), number, doc_id)
                for doc_id, kind, number in rows if DocumentKind(kind).medium == "a4"}

    def supersede_document(self, document_id: str) -> None:
        """Marks a document replaced by a newer one (verification then answers "superseded")."""
        with self._lock:
            self._db.execute("UPDATE documents SET superseded=1 WHERE id=?", (document_id,))

    def heartbeat(self, kiosk: str, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO heartbeats VALUES (?,?,?)", (kiosk, time.time(), json.dumps(snapshot)))
            self.fleet.record(kiosk, snapshot)

    def authenticate(self, header: str, method: str, path: str, body: bytes) -> str | None:
        """The kiosk ID when the signature is good and fresh, else None."""
        if not header.startswith(AUTH_SCHEME + " "):
            return None
        try:
            kiosk, ts, sig = header[len(AUTH_SCHEME) + 1:].split(":")
            fresh = abs(self.now() - int(ts)) <= MAX_CLOCK_SKEW_S
        except ValueError:
            return None
        key = self.kiosk_keys.get(kiosk)
        if key is None or not fresh or not hmac.compare_digest(sign(key, method, path, ts, body), sig):
            return None
        return kiosk


_SHORT = {DocumentKind.KTP_EL: "KTP-el", DocumentKind.KIA: "KIA", DocumentKind.KK: "Kartu Keluarga",
          DocumentKind.AKTA_KELAHIRAN: "Akta Kelahiran", DocumentKind.AKTA_KEMATIAN: "Akta Kematian",
          DocumentKind.SURAT_PINDAH: "Surat Pindah"}


def _pin_hash(salt: str, pin: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt.encode(), 20_000).hex()


def create_app(sim: CentralSim) -> Flask:
    app = Flask("central-sim")
    app.config["MAX_CONTENT_LENGTH"] = 1 << 20

    @app.before_request
    def _gate() -> Any:
        if sim.faults.delay_s:
            time.sleep(sim.faults.delay_s)
        if sim.faults.down:
            return jsonify(error="down"), 503
        if request.path == "/v1/health":  # a probe (ping, preconnect) is not a request that scripted faults count
            return None
        status = sim.faults.take()
        if status:
            return jsonify(error="injected"), status
        if request.path.startswith(PUBLIC_PREFIX):  # the fleet's public page: no kiosk signs for it
            return None
        kiosk = sim.authenticate(request.headers.get("Authorization", ""), request.method, request.path,
                                 request.get_data())
        if kiosk is None:
            return jsonify(error="kiosk-auth"), 401
        request.environ["adm.kiosk"] = kiosk
        return None

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    @app.get("/v1/health")
    def health() -> Any:
        return jsonify(status="ok")

    @app.post("/v1/redemptions")
    def redeem() -> Any:
        data = body()
        nik, pin = data.get("nik"), data.get("pin")
        if not isinstance(nik, str) or not isinstance(pin, str):
            return jsonify(error="bad-request"), 422
        status, out = sim.redeem(request.environ["adm.kiosk"], nik, pin)
        return jsonify(out), status

    @app.get("/v1/redemptions/<rid>/documents/<doc_id>")
    def document(rid: str, doc_id: str) -> Any:
        status, out = sim.document(rid, doc_id)
        if isinstance(out, bytes):
            return Response(out, status, mimetype="application/pdf")
        return jsonify(out), status

    @app.post("/v1/reports")
    def report() -> Any:
        status, out = sim.report(request.environ["adm.kiosk"], body())
        return jsonify(out), status

    @app.post("/v1/verify")
    def verify() -> Any:
        qr = body().get("qr")
        if not isinstance(qr, str) or len(qr) > 512:
            return jsonify(error="bad-request"), 422
        return jsonify(sim.verify(qr))

    @app.post("/v1/qr-identify")
    def qr_identify() -> Any:
        qr = body().get("qr")
        if not isinstance(qr, str) or len(qr) > 256:
            return jsonify(error="bad-request"), 422
        status, out = sim.qr_identify(qr)
        return jsonify(out), status

    add_routes(app, sim.help)

    @app.post("/v1/heartbeat")
    def heartbeat() -> Any:
        sim.heartbeat(request.environ["adm.kiosk"], body())
        return jsonify(status="recorded", server_time=round(sim.now(), 3))  # HeartbeatAck

    add_blank_report_routes(app, sim.blank_reports)
    add_fleet_routes(app, sim)
    return app


class CentralServer:
    """The simulated central on a loopback port, in a thread."""

    def __init__(self, sim: CentralSim, port: int = 0) -> None:
        self.sim = sim
        self._srv: BaseWSGIServer = make_server("127.0.0.1", port, create_app(sim), threaded=True,
                                                request_handler=clock_handler(sim))
        self.url = f"http://127.0.0.1:{self._srv.server_port}"
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="central-sim", daemon=True)  # shutdown() waits one poll

    def start(self) -> CentralServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._srv.shutdown()
        self._thread.join(5)
        self.sim.tte.stop()
