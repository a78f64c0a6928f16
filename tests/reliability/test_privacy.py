"""Privacy (UU PDP): after the sessions end, the kiosk's disk holds no citizen's NIK, name, photo or document.

Every demo citizen uses the kiosk through the screens: taps the e-KTP (the chip's photo and
signature are read into memory), enters the PIN, prints every document (the card face is
rendered with the photo, the A4 PDFs are written for the printer). One more citizen is
abandoned halfway, one has a jam. Then every file under the kiosk's data directory, the
SQLite WAL and shared-memory files included, read while the kiosk still runs (the WAL not
checkpointed) and again after it stopped, is searched for each citizen's full NIK (as
text and as UTF-16), name, KK number, photo bytes, signature bytes and A4 PDF bytes. Only
masked NIKs and keyed hashes may be there. The simulated central's database and the
printers' output are not searched: they stand for central and for the paper. The log
lines of the whole run are searched too.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from hardware_sim import citizens
from kiosk.services import Kiosk
from tests.reliability.results import record
from tests.reliability.test_fault_matrix import Screen
from ui import create_app


def secrets_of(k: Kiosk) -> dict[str, bytes]:
    """What must not stay on the kiosk's disk, per citizen: name -> bytes to look for."""
    out: dict[str, bytes] = {}
    for ident, _ in citizens.DEMO:
        tag = ident.nik[-4:]
        out[f"{tag} NIK"] = ident.nik.encode()
        out[f"{tag} NIK utf-16"] = ident.nik.encode("utf-16-le")
        out[f"{tag} name"] = ident.name.encode()
        photo, sig = citizens.photo_jpeg(ident), citizens.signature_png(ident)
        out[f"{tag} photo"] = photo[len(photo) // 2: len(photo) // 2 + 48]
        out[f"{tag} signature"] = sig[len(sig) // 2: len(sig) // 2 + 32]
    out["KK number"] = citizens.KK_NUMBER.encode()
    return out


def visit(k: Kiosk, nik: str, pin: str, finish: bool = True) -> None:
    s = Screen(create_app(k).test_client())
    s.get("/")
    k.sim.insert_card(nik)
    r = s.post_json("/card/read")
    k.sim.pull_card()
    assert r.status_code == 200, r.json
    s.get("/pin")
    assert s.post("/pin", pin=pin).status_code == 302
    if not finish:
        return  # walks away: the idle timeout ends the session
    docs = re.findall(r'name="doc" value="([^"]+)"', s.get("/documents").text)
    assert s.post("/print", doc=docs).status_code == 302
    for sess in k.sessions.active():
        k.sessions.wait_printed(sess.id, 60)
    s.get("/done")
    s.post("/end")


def scan(data_dir: Path, needles: dict[str, bytes]) -> list[str]:
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        blob = path.read_bytes()
        found += [f"{name} in {path.relative_to(data_dir)}" for name, needle in needles.items() if needle in blob]
    return found


def test_nothing_personal_stays_on_the_kiosk(make_kiosk: object, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    k: Kiosk = make_kiosk(**{"session.idle_timeout_s": 2, "session.warn_before_s": 1})  # type: ignore[operator]
    for q in k.sim.cups.queues.values():
        q.seconds_per_job = 0.0
    pins = k.issue_demo_pins()
    needles = secrets_of(k)
    pdfs = {}
    for issued in pins:
        for doc_id, pdf in k.central_server.sim._db.execute(
                "SELECT id, pdf FROM documents WHERE request_id=? AND pdf IS NOT NULL", (issued.request_id,)):
            pdfs[f"{issued.nik[-4:]} A4 {doc_id}"] = bytes(pdf)[-400:-300]  # content, not the common PDF header
    needles.update(pdfs)
    for i, issued in enumerate(pins[:-1]):
        if i == 1:
            k.sim.queue("card_printer").jam_on(1)  # the second citizen's card jams
        visit(k, issued.nik, issued.pin)
        k.sim.cups.clear_faults("card")  # staff clear the jam
    visit(k, pins[-1].nik, pins[-1].pin, finish=False)
    k.sessions.reap_idle()
    deadline = time.monotonic() + 10
    while k.sessions.active() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert k.sessions.active() == []
    printed = k.store.query_one("SELECT COUNT(*) FROM print_jobs WHERE state='printed'")[0]
    assert printed >= 5 and k.store.query_one("SELECT COUNT(*) FROM print_jobs WHERE state='failed'")[0] == 1

    data_dir = Path(k.cfg.data_dir)
    assert (data_dir / "journal.sqlite3-wal").exists()
    live = scan(data_dir, needles)
    masked = k.store.query("SELECT DISTINCT nik_masked FROM sessions")
    k.stop()
    after = scan(data_dir, needles)
    logs = "\n".join(r.getMessage() for r in caplog.records)
    in_logs = [name for name, needle in needles.items()
               if not name.endswith("utf-16") and needle.decode("latin-1") in logs and "A4" not in name]
    in_logs += [f"PIN {p.nik[-4:]}" for p in pins if re.search(rf"(?<!\d){p.pin}(?!\d)", logs)]
    record("privacy", {"files_scanned": sum(1 for p in data_dir.rglob("*") if p.is_file()),
                       "needles": len(needles), "found": live + after + in_logs,
                       "citizens": len(pins), "documents_printed": printed})
    control = tmp_path / "control"
    control.mkdir()
    (control / "planted.bin").write_bytes(b"..." + needles[f"{citizens.DEMO[0][0].nik[-4:]} photo"] + b"...")
    assert scan(control, needles), "the scan must find what is there"
    assert live == [] and after == [], live + after
    assert in_logs == [], in_logs
    assert {m[0] for m in masked} >= {citizens.DEMO[0][0].nik[:4] + "********" + citizens.DEMO[0][0].nik[12:]}
