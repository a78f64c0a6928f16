"""The simulated central's fleet: every kiosk's public summary, a public page, nearest kiosks, fallbacks.

Central hears each kiosk's heartbeat; its ``public`` part (docs/central-api.yaml
``PublicSummary``: no personal data) is kept here with the time it was heard. From that:
- ``/public/kiosks`` (HTML, Bahasa Indonesia first; ``?lang=en``) and ``/public/kiosks.json``
  for the regency's site: every kiosk, its state, what it can print, when it was last heard.
  No authentication: nothing here is personal. A kiosk not heard for ``stale_after_s`` is
  ``offline`` ("tidak terhubung"), unless it said it was closed until a time still to come;
- the nearest kiosks that can print a request now (haversine distance), for the WhatsApp PIN
  message (from the citizen's address region) and for a kiosk that cannot print (from it);
- when a card cannot be printed: a "surat keterangan" on A4 that stands in for the KTP-el
  (a signed PDF in the same request, one per card document however often asked: the PIN
  stays valid for the card), and a queue number for the office counter, one per key.
Every write is one ``BEGIN IMMEDIATE`` transaction on central's own database.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import sqlite3
import threading
import time
from typing import Any, Protocol

from flask import Flask, jsonify, render_template_string, request

from hardware_sim import citizens
from hardware_sim.documents import document_qr_payload
from kiosk.model import DocumentKind, Identity


class CentralSim(Protocol):
    """What the fleet needs of the simulated central (hardware_sim.central.CentralSim): its database and keys."""

    _db: sqlite3.Connection
    _lock: threading.RLock
    doc_key: bytes
    fleet: FleetSim

    def identity(self, nik: str) -> Identity | None: ...

PUBLIC_PREFIX = "/public/"
STALE_AFTER_S = 10 * 60
NEAREST_MAX = 10
OFFICE = "Disdukcapil Kabupaten Bogor"
SUBSTITUTE_VALID_DAYS = 30
SCHEMA = """
CREATE TABLE IF NOT EXISTS fleet (kiosk TEXT PRIMARY KEY, summary TEXT NOT NULL, heard_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS substitutes (original_id TEXT PRIMARY KEY, substitute_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queue_tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, idem_key TEXT NOT NULL UNIQUE,
    day TEXT NOT NULL, number INTEGER NOT NULL, kiosk TEXT NOT NULL, reason TEXT NOT NULL, issued_at REAL NOT NULL,
    UNIQUE (day, number));
"""
STATE_LABELS = {
    "id": {"in_service": "Beroperasi", "out_of_service": "Tidak beroperasi", "maintenance": "Dalam perawatan",
           "closed": "Tutup", "printer_down": "Printer tidak siap", "no_blanks": "Blangko habis",
           "no_ribbon": "Pita printer habis", "no_paper": "Kertas habis", "daily_limit": "Batas cetak harian tercapai",
           "offline": "Tidak terhubung"},
    "en": {"in_service": "In service", "out_of_service": "Out of service", "maintenance": "Under maintenance",
           "closed": "Closed", "printer_down": "Printer not ready", "no_blanks": "Out of blank cards",
           "no_ribbon": "Printer ribbon out", "no_paper": "Out of paper", "daily_limit": "Daily print limit reached",
           "offline": "Not connected"},
}
KIND_LABELS = {"ktp-el": "KTP-el", "kia": "KIA", "kk": "Kartu Keluarga", "akta-kelahiran": "Akta Kelahiran",
               "akta-kematian": "Akta Kematian", "surat-pindah": "Surat Pindah",
               "surat-keterangan": "Surat Keterangan"}
# what the page says, Bahasa Indonesia first
TEXT = {
    "id": {"title": "Anjungan Dukcapil Mandiri (ADM) di wilayah Anda", "kiosk": "ADM", "state": "Keadaan",
           "prints": "Dapat mencetak sekarang", "blanks": "Blangko KTP-el", "hours": "Jam buka",
           "heard": "Terakhir terhubung", "none": "Tidak ada", "always": "Setiap saat", "ago": "menit lalu",
           "never": "belum pernah", "other": "English", "other_lang": "en",
           "blank_words": {"plenty": "cukup", "few": "sedikit", "none": "habis"},
           "note": "Periksa halaman ini sebelum berangkat. Data diperbarui setiap menit dan tidak memuat data pribadi."},
    "en": {"title": "Self-service civil registration kiosks (ADM) in your area", "kiosk": "Kiosk", "state": "State",
           "prints": "Can print now", "blanks": "KTP-el blanks", "hours": "Opening hours",
           "heard": "Last heard", "none": "Nothing", "always": "Always", "ago": "minutes ago",
           "never": "never", "other": "Bahasa Indonesia", "other_lang": "id",
           "blank_words": {"plenty": "plenty", "few": "few", "none": "none"},
           "note": "Check this page before you travel. Updated every minute; no personal data."},
}
DAY_SHORT = {"id": dict(zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                            ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"), strict=True)),
             "en": dict(zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                            ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))}
PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="refresh" content="60"><title>{{ t.title }}</title>
<style>body{font-family:sans-serif;margin:1rem;color:#111}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #777;padding:.4rem;text-align:left;vertical-align:top}th{background:#e8e8e8}
.ok{color:#05570f;font-weight:bold}.bad{color:#8a0000;font-weight:bold}
.visually-hidden{position:absolute;left:-9999px}</style></head>
<body><header><h1>{{ t.title }}</h1><p><a href="?lang={{ t.other_lang }}" lang="{{ t.other_lang }}">{{ t.other }}</a></p>
<p>{{ t.note }}</p></header><main>
<table><caption class="visually-hidden">{{ t.title }}</caption>
<thead><tr><th scope="col">{{ t.kiosk }}</th><th scope="col">{{ t.state }}</th><th scope="col">{{ t.prints }}</th>
<th scope="col">{{ t.blanks }}</th><th scope="col">{{ t.hours }}</th><th scope="col">{{ t.heard }}</th></tr></thead>
<tbody>{% for k in kiosks %}<tr id="kiosk-{{ k.id }}" data-state="{{ k.state }}">
<th scope="row">{{ k.name }}<br><small>{{ k.id }}</small></th>
<td class="{{ 'ok' if k.state == 'in_service' else 'bad' }}">{{ labels[k.state] }}</td>
<td>{{ k.prints or t.none }}</td><td>{{ t.blank_words.get(k.blanks.get('ktp-el', ''), '-') }}</td>
<td>{{ k.hours or t.always }}</td>
<td>{% if k.minutes_ago is none %}{{ t.never }}{% else %}{{ k.minutes_ago }} {{ t.ago }}{% endif %}</td></tr>
{% endfor %}</tbody></table></main></body></html>
"""


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km (mean Earth radius): near enough for "which kiosk is closest"."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _hours_text(hours: dict[str, str], lang: str) -> str:
    return ", ".join(f"{DAY_SHORT[lang][d]} {h}" for d, h in hours.items() if h)


class FleetSim:
    def __init__(self, central: CentralSim, stale_after_s: float = STALE_AFTER_S) -> None:
        self.central = central
        self.stale_after_s = stale_after_s
        with central._lock:
            central._db.executescript(SCHEMA)

    # -- what kiosks tell central -------------------------------------------------------

    def record(self, kiosk: str, snapshot: dict[str, Any], now: float | None = None) -> None:
        """Keeps the heartbeat's public part; a heartbeat without one (an older kiosk) still counts as heard."""
        public = snapshot.get("public")
        summary = public if isinstance(public, dict) else {}
        with self.central._lock:
            self.central._db.execute(
                "INSERT INTO fleet VALUES (?,?,?) ON CONFLICT(kiosk) DO UPDATE SET summary=excluded.summary, "
                "heard_at=excluded.heard_at", (kiosk, json.dumps(summary), time.time() if now is None else now))

    def set_heard(self, kiosk: str, heard_at: float) -> None:
        """The simulator's lever: when central last heard ``kiosk`` (a kiosk that went quiet)."""
        with self.central._lock:
            self.central._db.execute("UPDATE fleet SET heard_at=? WHERE kiosk=?", (heard_at, kiosk))

    # -- what central shows ---------------------------------------------------------------

    def kiosks(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every kiosk as the public JSON shows it (docs/central-api.yaml ``FleetKiosk``)."""
        now = time.time() if now is None else now
        with self.central._lock:
            rows = self.central._db.execute("SELECT kiosk, summary, heard_at FROM fleet ORDER BY kiosk").fetchall()
        out = []
        for kiosk, raw, heard in rows:
            s = json.loads(raw)
            loc = s.get("location") if isinstance(s.get("location"), dict) else {}
            state = s.get("state") if s.get("state") in STATE_LABELS["en"] else "offline"
            connected = now - heard <= self.stale_after_s
            next_open = s.get("next_open_at")
            if not connected and not (state == "closed" and isinstance(next_open, int | float) and next_open > now):
                state = "offline"
            out.append({
                "id": kiosk, "name": str(loc.get("name") or kiosk), "latitude": loc.get("latitude"),
                "longitude": loc.get("longitude"), "state": state, "connected": connected,
                "can_print": [k for k in s.get("can_print", []) if k in KIND_LABELS] if state != "offline" else [],
                "blanks": s.get("blanks", {}), "opening_hours": s.get("opening_hours", {}),
                "open_now": bool(s.get("open_now", True)) and state != "closed",
                "last_heard_at": round(heard, 3),
            })
        return out

    def nearest(self, origin: tuple[float, float], kinds: list[str] | None = None, limit: int = 3,
                exclude: str = "", now: float | None = None) -> list[dict[str, Any]]:
        """Connected, open kiosks that can print every kind in ``kinds`` now (any kind when None), nearest first."""
        found = []
        for k in self.kiosks(now):
            if k["id"] == exclude or k["state"] == "offline" or not k["open_now"] or k["latitude"] is None:
                continue
            if not k["can_print"] or (kinds and not set(kinds) <= set(k["can_print"])):
                continue
            km = haversine_km(origin, (k["latitude"], k["longitude"]))
            found.append({"kiosk": k["id"], "name": k["name"], "distance_km": round(km, 1), "state": k["state"],
                          "can_print": k["can_print"], "opening_hours": k["opening_hours"]})
        return sorted(found, key=lambda f: f["distance_km"])[:max(0, min(limit, NEAREST_MAX))]

    def kiosk_location(self, kiosk: str) -> tuple[float, float] | None:
        with self.central._lock:
            row = self.central._db.execute("SELECT summary FROM fleet WHERE kiosk=?", (kiosk,)).fetchone()
        loc = json.loads(row[0]).get("location") if row else None
        if not isinstance(loc, dict) or not isinstance(loc.get("latitude"), int | float) \
                or not isinstance(loc.get("longitude"), int | float):
            return None
        return float(loc["latitude"]), float(loc["longitude"])

    def whatsapp_note(self, nik: str, kinds: list[DocumentKind]) -> str:
        """The PIN message's lines naming the nearest kiosks that can print this whole request now."""
        ident = self.central.identity(nik)
        origin = citizens.home_location(ident) if ident else citizens.ISSUING_OFFICE
        near = self.nearest(origin, [k.value for k in kinds])
        if not near:
            return ("\nSaat ini belum ada ADM yang dapat mencetak seluruh dokumen Anda. "
                    "Lihat keadaan ADM di halaman ADM Dukcapil sebelum berangkat.")
        lines = [f"{i}. {n['name']} ({format(n['distance_km'], '.1f').replace('.', ',')} km)"
                 for i, n in enumerate(near, 1)]
        return "\nADM terdekat yang dapat mencetak dokumen Anda sekarang:\n" + "\n".join(lines)

    # -- when a card cannot be printed ---------------------------------------------------------

    def fallback(self, kiosk: str, redemption_id: str, document_id: str, reason: str) -> tuple[int, dict[str, Any]]:
        """What central offers for a card this kiosk cannot print: a substitute and the kiosks that can print it."""
        c = self.central
        with c._lock:
            c._db.execute("BEGIN IMMEDIATE")
            try:
                row = c._db.execute(
                    "SELECT d.kind, d.request_id, r.nik FROM documents d JOIN redemptions x ON x.request_id=d.request_id "
                    "JOIN requests r ON r.id=d.request_id WHERE x.id=? AND x.kiosk=? AND d.id=? AND d.state='ready'",
                    (redemption_id, kiosk, document_id)).fetchone()
                if row is None:
                    c._db.execute("ROLLBACK")
                    return 404, {"error": "not-found"}
                kind, request_id, nik = DocumentKind(row[0]), row[1], row[2]
                substitute = None
                if kind is DocumentKind.KTP_EL:
                    substitute = self._substitute(request_id, document_id, nik)
                c._db.execute("COMMIT")
            except BaseException:
                c._db.execute("ROLLBACK")
                raise
        origin = self.kiosk_location(kiosk) or citizens.ISSUING_OFFICE
        return 200, {"document_id": document_id, "reason": reason[:40], "substitute": substitute,
                     "substitute_valid_days": SUBSTITUTE_VALID_DAYS if substitute else None,
                     "nearest": self.nearest(origin, [kind.value], exclude=kiosk), "office": OFFICE}

    def _substitute(self, request_id: str, original_id: str, nik: str) -> dict[str, Any]:
        """The surat keterangan for ``original_id`` (made once, in the same request, inside the caller's transaction)."""
        db = self.central._db
        row = db.execute("SELECT s.substitute_id FROM substitutes s WHERE s.original_id=?", (original_id,)).fetchone()
        if row is None:
            ident = self.central.identity(nik)
            assert ident is not None
            doc_id = "D" + secrets.token_hex(6).upper()
            kind = DocumentKind.SURAT_KETERANGAN
            number = f"3201-SK-{ident.nik[-6:]}-{secrets.token_hex(2).upper()}"
            pdf, signed = self.central.tte.issue(kind, number, ident, [],
                                                 document_qr_payload(self.central.doc_key, kind, number, doc_id))
            db.execute("INSERT INTO document_signatures VALUES (?,?,?,?)",
                       (doc_id, signed.signer, signed.office, signed.signed_at))
            db.execute("INSERT INTO documents(id, request_id, kind, number, pages, state, sha256, pdf) "
                       "VALUES (?,?,?,?,?,?,?,?)",
                       (doc_id, request_id, kind.value, number, 1, "ready", hashlib.sha256(pdf).hexdigest(), pdf))
            db.execute("INSERT INTO substitutes VALUES (?,?)", (original_id, doc_id))
            row = (doc_id,)
        d = db.execute("SELECT id, kind, number, pages, sha256, state FROM documents WHERE id=?", (row[0],)).fetchone()
        return {"id": d[0], "kind": d[1], "number": d[2], "pages": d[3], "sha256": d[4], "state": d[5]}

    def queue_ticket(self, kiosk: str, key: str, reason: str, now: float | None = None) -> tuple[int, dict[str, Any]]:
        """The next number at the office counter today; the same key always gets the same ticket."""
        now = time.time() if now is None else now
        day = time.strftime("%Y-%m-%d", time.localtime(now))
        c = self.central
        with c._lock:
            c._db.execute("BEGIN IMMEDIATE")
            row = c._db.execute("SELECT number, issued_at, kiosk FROM queue_tickets WHERE idem_key=?", (key,)).fetchone()
            if row is None:
                number = c._db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM queue_tickets WHERE day=?",
                                       (day,)).fetchone()[0]
                c._db.execute("INSERT INTO queue_tickets(idem_key, day, number, kiosk, reason, issued_at) "
                              "VALUES (?,?,?,?,?,?)", (key, day, number, kiosk, reason[:40], now))
                row = (number, now, kiosk)
            c._db.execute("COMMIT")
        if row[2] != kiosk:
            return 409, {"error": "key-reused"}
        return 200, {"number": f"A-{row[0]:03d}", "office": OFFICE, "issued_at": round(row[1], 3), "source": "central"}

    def queue_tickets(self) -> list[str]:
        """Every number issued, in order (the office's own count, a witness the kiosk does not own)."""
        with self.central._lock:
            return [f"A-{r[0]:03d}" for r in self.central._db.execute("SELECT number FROM queue_tickets ORDER BY id")]


def _page_rows(kiosks: list[dict[str, Any]], lang: str, now: float) -> list[dict[str, Any]]:
    return [{**k, "prints": ", ".join(KIND_LABELS[p] for p in k["can_print"]),
             "hours": _hours_text(k["opening_hours"], lang),
             "minutes_ago": int((now - k["last_heard_at"]) // 60)} for k in kiosks]


def add_fleet_routes(app: Flask, sim: CentralSim) -> None:
    """The public fleet page and JSON (no authentication), and the kiosks' fleet and fallback calls (signed)."""
    fleet = sim.fleet

    @app.get(PUBLIC_PREFIX + "kiosks")
    def public_page() -> Any:
        lang = "en" if request.args.get("lang") == "en" else "id"
        now = time.time()
        return render_template_string(PAGE, lang=lang, t=TEXT[lang], labels=STATE_LABELS[lang],
                                      kiosks=_page_rows(fleet.kiosks(now), lang, now))

    @app.get(PUBLIC_PREFIX + "kiosks.json")
    def public_json() -> Any:
        resp = jsonify(generated_at=round(time.time(), 3), stale_after_s=fleet.stale_after_s, kiosks=fleet.kiosks())
        resp.headers["Access-Control-Allow-Origin"] = "*"  # the regency's site reads it from the browser
        return resp

    @app.post("/v1/fleet/nearest")
    def nearest() -> Any:
        kiosk = request.environ["adm.kiosk"]
        data = request.get_json(silent=True)
        data = data if isinstance(data, dict) else {}
        kind, limit = data.get("kind", ""), data.get("limit", 3)
        if not isinstance(kind, str) or (kind and kind not in KIND_LABELS) or not isinstance(limit, int):
            return jsonify(error="bad-request"), 422
        origin = fleet.kiosk_location(kiosk) or citizens.ISSUING_OFFICE
        found = fleet.nearest(origin, [kind] if kind else None, limit, exclude=kiosk)
        return jsonify(kiosks=found)

    @app.post("/v1/redemptions/<rid>/fallback")
    def fallback(rid: str) -> Any:
        data = request.get_json(silent=True)
        data = data if isinstance(data, dict) else {}
        doc_id, reason = data.get("document_id"), data.get("reason", "")
        if not isinstance(doc_id, str) or not isinstance(reason, str):
            return jsonify(error="bad-request"), 422
        status, out = fleet.fallback(request.environ["adm.kiosk"], rid, doc_id, reason)
        return jsonify(out), status

    @app.post("/v1/queue-tickets")
    def queue_ticket() -> Any:
        data = request.get_json(silent=True)
        data = data if isinstance(data, dict) else {}
        key, reason = data.get("idempotency_key"), data.get("reason", "")
        if not isinstance(key, str) or not 8 <= len(key) <= 128 or not isinstance(reason, str):
            return jsonify(error="bad-request"), 422
        status, out = fleet.queue_ticket(request.environ["adm.kiosk"], key, reason)
        return jsonify(out), status
