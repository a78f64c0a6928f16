"""The soak: thousands of simulated citizens on one kiosk, with random faults, then the ledger.

Used by ``tests/reliability/test_soak.py`` (a few hundred sessions in ``make test``) and by
``tools/soak.py`` (5,000 and more). Everything random comes from one seeded generator, so
a failing run is repeated exactly with the same seed (thread timing aside).

Each session is a citizen of the demo set who identifies (typed NIK, or the e-KTP on the
reader), sometimes types a wrong PIN first, chooses some or all of the documents central
offers and prints them. Before about one session in four a fault from ``FAULTS`` is
injected (a jam, an empty tray, a cover, cupsd down, central down or answering 503, a
receipt printer out of paper, a card that leaves the reader or fails its checks); a
technician clears what stays broken after the session, reloads blanks, refills ribbon
and paper, and a new day resets the duty cycle. A citizen whose documents all printed
gets a new request and PIN from central; one with something left comes back with the
same PIN. At the end the faults are cleared, the outbox drains and the ledger
(tests/reliability/ledger.py) must balance: lost = 0, doubled = 0.
"""

from __future__ import annotations

import functools
import gc
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from drivers.base import DeviceError
from hardware_sim import central as central_sim
from hardware_sim import citizens
from hardware_sim.central import IssuedPin
from kiosk.citizen.session import SessionError
from kiosk.cli.composition import build_kiosk
from kiosk.services import Kiosk
from tests.conftest import sim_config
from tests.reliability import ledger

Inject = Callable[[Kiosk], None]


def _queue(device: str) -> Callable[[Kiosk], Any]:
    return lambda k: k.sim.queue(device)


card_q, a4_q = _queue("card_printer"), _queue("document_printer")


def _card_fault(attr: str, value: Any) -> Inject:
    def inject(k: Kiosk) -> None:
        for card in k.sim.cards.values():
            setattr(card.faults, attr, value)
    return inject


# name -> injection; every one is a switch the simulators offer (one-shot or cleared by the technician)
FAULTS: dict[str, Inject] = {
    "card-printer-jam": lambda k: card_q(k).jam_on(1, "media-jam"),
    "card-printer-empty-on-job": lambda k: card_q(k).jam_on(1, "media-empty"),
    "card-printer-other-error": lambda k: card_q(k).jam_on(1, "other"),
    "card-printer-cover-open": lambda k: card_q(k).state_reasons.append("cover-open-error"),
    "card-printer-ribbon-out": lambda k: card_q(k).state_reasons.append("marker-supply-empty-error"),
    "card-printer-offline": lambda k: setattr(card_q(k), "accepting", False),
    "a4-printer-jam": lambda k: a4_q(k).jam_on(1, "media-jam"),
    "a4-printer-out-of-paper": lambda k: a4_q(k).state_reasons.append("media-empty-error"),
    "cupsd-down": lambda k: setattr(k.sim.cups, "down", True),
    "receipt-paper-out": lambda k: setattr(k.sim.escpos, "paper", "out"),
    "receipt-cover-open": lambda k: setattr(k.sim.escpos, "cover_open", True),
    "receipt-mute": lambda k: setattr(k.sim.escpos, "mute", True),
    "central-503-once": lambda k: k.central_server.sim.faults.fail_next(503, 1),
    "central-503-thrice": lambda k: k.central_server.sim.faults.fail_next(503, 3),
    "central-500": lambda k: k.central_server.sim.faults.fail_next(500, 1),
    "central-down": lambda k: setattr(k.central_server.sim.faults, "down", True),
    "card-pulled-mid-read": _card_fault("pull_after_apdus", 3),
    "card-wrong-sw": _card_fault("wrong_sw", b"\x6a\x82"),
    "card-corrupt-tlv": _card_fault("corrupt_tlv", True),
    "card-tampered-photo": _card_fault("tamper", True),
    "card-foreign-issuer": _card_fault("wrong_key", True),
}


def technician_clears(k: Kiosk) -> None:
    """What staff do after a fault that stays: clear jams and covers, power things back on."""
    sim = k.sim
    for q in sim.cups.queues.values():
        q.state_reasons.clear()
        q.accepting = True
        q.hopper = None if q.hopper is None else 10_000
        q._jam_countdown.clear()
        q._fail_reason.clear()
    sim.cups.down = False
    sim.escpos.paper, sim.escpos.cover_open, sim.escpos.mute = "ok", False, False
    sim.escpos.receipts.clear()  # the citizens took their receipts (the emulator keeps each one otherwise)
    for card in sim.cards.values():
        card.faults.clear()
    k.central_server.sim.faults.clear()


@contextmanager
def fast_central() -> Iterator[None]:
    """The simulated central renders each A4 PDF (0.2 s with fpdf) and portrait once, not per request.

    That cost is central's, not the kiosk's; without the cache it is half the soak's time.
    Portraits are deterministic per NIK, so caching them changes nothing; a cached A4 PDF
    is the same document for every request of that citizen and kind (the kiosk checks each
    against the checksum central sends with it, as always).
    """
    saved = central_sim.a4_pdf, citizens.photo_jpeg, citizens.signature_png
    pdfs: dict[tuple[str, str], bytes] = {}

    def a4_pdf(kind: Any, number: str, *args: Any, **kw: Any) -> bytes:
        key = (kind.value, number)
        if key not in pdfs:
            pdfs[key] = saved[0](kind, number, *args, **kw)
        return pdfs[key]

    central_sim.a4_pdf = a4_pdf  # type: ignore[assignment]
    citizens.photo_jpeg = functools.lru_cache(maxsize=16)(saved[1])  # type: ignore[assignment]
    citizens.signature_png = functools.lru_cache(maxsize=16)(saved[2])  # type: ignore[assignment]
    try:
        yield
    finally:
        central_sim.a4_pdf, citizens.photo_jpeg, citizens.signature_png = saved  # type: ignore[assignment]


@dataclass
class SoakResult:
    sessions: int = 0
    seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    documents_printed: int = 0
    documents_failed: int = 0
    rss_mb: list[float] = field(default_factory=list)  # sampled every ``sample_every`` sessions
    ledger: ledger.Ledger | None = None

    @property
    def per_second(self) -> float:
        return self.sessions / self.seconds if self.seconds else 0.0

    @property
    def rss_growth_mb(self) -> float:
        """Second half against first sample after warm-up: a leak grows with sessions, a cache does not."""
        if len(self.rss_mb) < 3:
            return 0.0
        warm = self.rss_mb[len(self.rss_mb) // 4]
        return round(self.rss_mb[-1] - warm, 1)

    def summary(self) -> dict[str, Any]:
        led = self.ledger
        return {"sessions": self.sessions, "seconds": round(self.seconds, 1),
                "sessions_per_second": round(self.per_second, 2), "faults_injected": sum(self.faults.values()),
                "faults": dict(self.faults), "outcomes": dict(self.outcomes),
                "documents_printed": self.documents_printed, "documents_failed": self.documents_failed,
                "rss_mb_first": self.rss_mb[0] if self.rss_mb else 0, "rss_mb_last": self.rss_mb[-1] if self.rss_mb else 0,
                "rss_growth_mb": self.rss_growth_mb, "lost": led.lost if led else None,
                "doubled": led.doubled if led else None, "violations": led.violations if led else None,
                "ledger": led.figures() if led else None}


class Soak:
    def __init__(self, base: Path, seed: int, fault_rate: float = 0.25) -> None:
        self.base = base
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        cfg = sim_config(base, **{
            "central.retries": 1, "session.print_timeout_s": 10, "status.heartbeat_interval_s": 0,
            "pins.nik_lockout_s": 1, "pins.kiosk_lockout_s": 1, "devices.poll_interval_s": 0.5})
        self.k = build_kiosk(cfg)
        self.k.start()
        for q in self.k.sim.cups.queues.values():
            q.seconds_per_job = 0.0
        self.central = self.k.central_server.sim
        self.open: dict[str, IssuedPin] = {}
        self.left: dict[str, set[str]] = {}  # per citizen: document kinds of the open request not printed yet
        self.batches = 1
        self.proc = psutil.Process()

    # -- the technician's rounds ----------------------------------------------------------

    def restock(self) -> None:
        p = self.k.printing
        for kind, prefix in (("ktp-el", "KTP"), ("kia", "KIA")):
            if p.blanks_in_stock(kind) < 5:
                self.batches += 1
                p.load_blanks(kind, f"SOAK-{prefix}-{self.batches}",
                              [f"{prefix}-SOAK-{self.batches:04d}-{i:04d}" for i in range(50)], actor="soak")
        with self.k.store.tx() as db:
            db.execute("UPDATE supplies SET remaining=capacity WHERE remaining < capacity / 4")
            db.execute("DELETE FROM duty_cycle WHERE prints > 50")  # a new day for the card printer

    # -- one citizen ------------------------------------------------------------------------

    def pin_for(self, ident: citizens.Identity, kinds: list[Any]) -> IssuedPin:
        issued = self.open.get(ident.nik)
        if issued is None or not self.left.get(ident.nik) or self.central.request_state(issued.request_id) != "ready":
            issued = self.central.issue_pin(ident.nik, kinds)
            self.open[ident.nik] = issued
            self.left[ident.nik] = {k.value for k in kinds}
        return issued

    def identify(self, nik: str) -> tuple[str, str]:
        """(NIK, method): the e-KTP on the reader about a third of the time, else typed."""
        if self.rng.random() < 0.35:
            sim, reader = self.k.sim, self.k.devices.get("card_reader")
            sim.insert_card(nik)
            try:
                return str(reader.read().identity["nik"]), "ektp"
            except DeviceError as exc:
                return nik, f"typed-after-{exc.code}"
            finally:
                sim.pull_card()
        return nik, "nik"

    def session(self) -> str:
        k, rng = self.k, self.rng
        ident, kinds = rng.choice(citizens.DEMO)
        issued = self.pin_for(ident, kinds)
        nik, _method = self.identify(ident.nik)
        try:
            s = k.sessions.start(nik, "nik")
        except SessionError as exc:
            time.sleep(min(2.0, float(exc.info.get("seconds", 0))))  # type: ignore[arg-type]  # the citizen waits it out
            return f"start-{exc.code}"
        try:
            try:
                if rng.random() < 0.05:
                    wrong = f"{(int(issued.pin) + 1) % 10**6:06d}"
                    if not k.sessions.submit_pin(s.id, wrong).ok and rng.random() < 0.5:
                        return "wrong-pin-left"
                result = k.sessions.submit_pin(s.id, issued.pin)
            except SessionError as exc:
                return f"pin-{exc.code}"
            if not result.ok:
                return "locked" if result.lockout else "wrong-pin"
            docs = [d for d in s.documents if rng.random() < 0.8] or s.documents[:1]
            try:
                k.sessions.start_printing(s.id, [d.id for d in docs])
            except SessionError as exc:
                return f"refused-{'+'.join(exc.info.get('codes', [exc.code]))}"  # type: ignore[arg-type]
            k.sessions.wait_printed(s.id, 60)
            assert s.outcome is not None, "printing did not finish"
            self.left[ident.nik] -= {d.kind.value for d in docs if d.id in s.outcome.printed}
            self.result.documents_printed += len(s.outcome.printed)
            self.result.documents_failed += len(s.outcome.failed)
            return "printed" if not s.outcome.failed else "partly-printed"
        finally:
            k.sessions.end(s.id)

    # -- the run ------------------------------------------------------------------------------

    def run(self, count: int, sample_every: int = 100, progress: Callable[[int, SoakResult], None] | None = None
            ) -> SoakResult:
        self.result = r = SoakResult()
        started = time.monotonic()
        for i in range(count):
            if i % 10 == 0:
                self.restock()
            if self.rng.random() < self.fault_rate:
                name = self.rng.choice(sorted(FAULTS))
                FAULTS[name](self.k)
                r.faults[name] += 1
            r.outcomes[self.session()] += 1
            technician_clears(self.k)
            r.sessions += 1
            if i % sample_every == 0:
                gc.collect()
                r.rss_mb.append(round(self.proc.memory_info().rss / 2**20, 1))
                if progress:
                    progress(i, r)
        r.seconds = time.monotonic() - started
        r.rss_mb.append(round(self.proc.memory_info().rss / 2**20, 1))
        self.drain()
        self.k.stop()
        r.ledger = ledger.audit(self.base / "data", self.base / "sim" / "output", self.base / "sim" / "central.db",
                                self.k.cfg.kiosk.id)
        return r

    def drain(self, timeout_s: float = 60) -> None:
        """Central is back: every report goes out (a technician's "retry now" instead of waiting out the backoff)."""
        technician_clears(self.k)
        deadline = time.monotonic() + timeout_s
        while self.k.outbox.backlog() and time.monotonic() < deadline:
            with self.k.store.tx() as db:
                db.execute("UPDATE outbox SET next_attempt_at=0 WHERE sent_at IS NULL")
            self.k.outbox.flush(500)
            time.sleep(0.05)


def run_soak(base: Path, count: int, seed: int = 2024, fault_rate: float = 0.25,
             progress: Callable[[int, SoakResult], None] | None = None) -> SoakResult:
    with fast_central():
        return Soak(base, seed, fault_rate).run(count, progress=progress)
