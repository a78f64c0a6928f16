"""The concurrent soak: simulated citizens on simulated kiosks, faults mid-job, then the witnesses.

Used by ``tests/reliability/test_soak.py`` (a small count in ``make test``) and by
``tools/soak.py`` (``make soak``, 2,000 sessions and more). Everything random comes from one
seeded generator per kiosk, so a failing run is repeated with the same seed (thread timing
aside: that is the point of running things at once).

Several kiosks run at once, each in its own thread with its own journal, spool and central.
On each, one citizen after another identifies (typed NIK, or the e-KTP on the reader), sometimes
types a wrong PIN first or taps the PIN button twice, chooses documents and prints, while other
threads do what people and peers do at the same moment:

- a **double tap** on "Cetak": a second print request for the same session, a few ms apart;
- a **cancel**: the citizen ends the session while the print request is still being handled;
- a **fault mid-job**, seeded: a thread waits until a job is at the printer and then jams it,
  empties its tray or ribbon, loses cupsd for a while, takes central down or has it answer
  503; a fault that finds no job at the printer did not act and is not counted;
- faults **between sessions** (the simulators' switches of ``FAULTS``) that the next citizen meets;
- the kiosk's own background loop delivering the outbox while central comes and goes.

Printers take realistic seconds (``TIMING_S``) times ``time_scale``. After each session a
technician clears faults through the maintenance service (so the simulators are fixed as hands
would fix them), re-checks the jobs the kiosk could not confirm (the Faults page) while the
printer still remembers them, and reloads blanks (which go into the simulated hopper, never
reset). At the end the outbox drains and ``tests/reliability/ledger.py`` compares each kiosk's journal with the
paper, the hopper and central's deliveries: lost 0, doubled 0. Per session the soak also checks
what the citizen would notice: printing ends within its bound, and nothing reaches the printer
for a session after its citizen cancelled.
"""

from __future__ import annotations

import functools
import gc
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from drivers.base import DeviceError, DeviceState
from hardware_sim import citizens
from hardware_sim.central import IssuedPin
from hardware_sim.central_tte import CentralTte
from kiosk.citizen.session import SessionError
from kiosk.cli.composition import build_kiosk
from kiosk.services import Kiosk
from kiosk.staff.maintenance import Maintenance
from tests.conftest import sim_config
from tests.reliability import ledger

Inject = Callable[[Kiosk], None]
TECH = "soak-technician"
# Realistic seconds per job (printer_profiles' [timing]): a duplex KTP-el from standby (26 s with its chip
# personalised); an A4 page from a laser in standby (8 s to the first page, 2 s a page after).
TIMING_S = {"card_printer": 26.0, "document_printer": 10.0}


def _queue(device: str) -> Callable[[Kiosk], Any]:
    return lambda k: k.sim.queue(device)


card_q, a4_q = _queue("card_printer"), _queue("document_printer")


def _card_fault(attr: str, value: Any) -> Inject:
    def inject(k: Kiosk) -> None:
        for card in k.sim.cards.values():
            setattr(card.faults, attr, value)
    return inject


# Between steps: name -> injection; every one is a switch the simulators offer (one-shot or cleared by the technician)
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


def printing_now(k: Kiosk, device: str) -> bool:
    """Whether ``device`` has a job at work, asked through its production driver (the printer's own word)."""
    try:
        return k.devices.get(device).status().state is DeviceState.BUSY
    except DeviceError:
        return False


def _fail_job(device: str, reason: str) -> Callable[[Kiosk], bool]:
    def act(k: Kiosk) -> bool:
        return k.sim.cups.fail_current(getattr(k.cfg.devices, device).queue, reason) is not None
    return act


def _cupsd_lost(k: Kiosk) -> bool:
    """cupsd dies while the job prints and comes back a moment later (the job goes on at the printer)."""
    k.sim.cups.down = True
    threading.Timer(0.5, lambda: setattr(k.sim.cups, "down", False)).start()
    return True


def _cupsd_gone(k: Kiosk) -> bool:
    """cupsd dies while the job prints and stays down until the technician restarts it."""
    k.sim.cups.down = True
    return True


def _receipt_paper_out(k: Kiosk) -> bool:
    k.sim.escpos.paper = "out"
    return True


def _central(action: Callable[[Any], None]) -> Callable[[Kiosk], bool]:
    def act(k: Kiosk) -> bool:
        action(k.central_server.sim.faults)
        return True
    return act


# Mid-job: name -> (the printers whose jobs it waits for, the fault; False when it found no job to act on). The card
# and the A4 documents print side by side (a lane per printer): a printer's fault waits until both printers are at
# work, so it hits one printer while the other prints; so does a fault of cupsd itself, which both lanes then meet.
CARD_WHILE_A4, A4_WHILE_CARD = ("card_printer", "document_printer"), ("document_printer", "card_printer")
MID_JOB: dict[str, tuple[str | tuple[str, ...], Callable[[Kiosk], bool]]] = {
    "card-jam-mid-job": (CARD_WHILE_A4, _fail_job("card_printer", "media-jam")),
    "card-ribbon-out-mid-job": (CARD_WHILE_A4, _fail_job("card_printer", "marker-supply-empty")),
    "card-printer-error-mid-job": (CARD_WHILE_A4, _fail_job("card_printer", "other")),
    "a4-jam-mid-job": (A4_WHILE_CARD, _fail_job("document_printer", "media-jam")),
    "a4-paper-out-mid-job": (A4_WHILE_CARD, _fail_job("document_printer", "media-empty")),
    "cupsd-lost-mid-card-job": (CARD_WHILE_A4, _cupsd_lost),
    "cupsd-lost-mid-a4-job": (A4_WHILE_CARD, _cupsd_lost),
    "cupsd-gone-mid-card-job": (CARD_WHILE_A4, _cupsd_gone),
    "central-down-mid-job": ("card_printer", _central(lambda f: setattr(f, "down", True))),
    "central-503-mid-job": ("document_printer", _central(lambda f: f.fail_next(503, 3))),
    "receipt-paper-out-mid-job": ("card_printer", _receipt_paper_out),
}


class Armed:
    """A mid-job fault waiting in its own thread for a job at its printer (at most ``within_s``)."""

    def __init__(self, k: Kiosk, name: str, within_s: float) -> None:
        self.name = name
        self.acted: bool | None = None  # None: still waiting; False: found no job (does not count)
        self._stop = threading.Event()
        device, act = MID_JOB[name]
        devices = (device,) if isinstance(device, str) else device

        def wait_and_act() -> None:
            end = time.monotonic() + within_s
            while not self._stop.is_set() and time.monotonic() < end:
                if all(printing_now(k, d) for d in devices):
                    self.acted = act(k)
                    return
                self._stop.wait(0.01)
            self.acted = False
        self._thread = threading.Thread(target=wait_and_act, name=f"fault-{name}", daemon=True)
        self._thread.start()

    def done(self) -> bool:
        """Calls the fault off if it has not acted yet; returns whether it acted."""
        self._stop.set()
        self._thread.join(5)
        return bool(self.acted)


def set_timing(k: Kiosk, scale: float) -> None:
    """Printers take ``TIMING_S`` times ``scale`` seconds per job."""
    for device, seconds in TIMING_S.items():
        k.sim.queue(device).seconds_per_job = seconds * scale


@contextmanager
def fast_central() -> Iterator[None]:
    """The simulated central lays out and signs each A4 PDF (fpdf and pyHanko, in its signing process) and
    renders each portrait once, not per request.

    That cost is central's, not the kiosk's; without the cache it is most of the soak's time.
    Portraits are deterministic per NIK, so caching them changes nothing; a cached A4 PDF
    is the same signed document for every request of that citizen and kind (the kiosk checks
    each against the checksum central sends with it, and its signature, as always).
    """
    saved = CentralTte.issue, citizens.photo_jpeg, citizens.signature_png
    pdfs: dict[tuple[str, str, str, str], tuple[bytes, Any]] = {}

    def issue(self: CentralTte, kind: Any, number: str, *args: Any, **kw: Any) -> tuple[bytes, Any]:
        # per central: each kiosk's central signs under its own test hierarchy, which only its kiosk trusts (a key
        # without it handed the second kiosk the first central's PDFs, refused "tte-invalid:untrusted")
        key = (str(self.pki.directory), self.mode, kind.value, number)
        if key not in pdfs:
            pdfs[key] = saved[0](self, kind, number, *args, **kw)
        return pdfs[key]

    CentralTte.issue = issue  # type: ignore[method-assign]
    citizens.photo_jpeg = functools.lru_cache(maxsize=16)(saved[1])  # type: ignore[assignment]
    citizens.signature_png = functools.lru_cache(maxsize=16)(saved[2])  # type: ignore[assignment]
    try:
        yield
    finally:
        CentralTte.issue, citizens.photo_jpeg, citizens.signature_png = saved  # type: ignore[method-assign,assignment]


class Technician:
    """What staff do, through the maintenance service: clear faults, reload blanks, change ribbons."""

    def __init__(self, k: Kiosk) -> None:
        self.k = k
        self.m = Maintenance(k)
        self.batches = 0

    def clears(self) -> None:
        """Every device and central fixed by hand; the reader's cards behave again; receipts taken."""
        sim = self.k.sim
        for device in ("card_printer", "document_printer", "receipt_printer", "card_reader", "central"):
            ready, code = self.m.clear_fault(TECH, device)
            if not ready and code == "marker-supply-empty":  # a new ribbon (and film) goes in
                for row in self.m.supplies():
                    if row["device"] == device and row["name"] in ("ribbon", "film", "toner"):
                        self.m.reset_supply(TECH, device, row["name"])
        sim.escpos.receipts.clear()  # the citizens took their receipts (the emulator keeps each one otherwise)
        for card in sim.cards.values():
            card.faults.clear()

    def rechecks_stuck_jobs(self) -> int:
        """The Faults page's "re-check" for every job no session is printing; returns how many it settled."""
        return sum(self.m.recheck_job(TECH, job.id) != "pending" for job in self.m.stuck_jobs())

    def restocks(self) -> None:
        for kind, prefix in (("ktp-el", "KTP"), ("kia", "KIA")):
            if self.k.printing.blanks_in_stock(kind) < 5:
                self.batches += 1
                first, last = f"{prefix}SOAK{self.batches:04d}0000", f"{prefix}SOAK{self.batches:04d}0049"
                self.m.load_batch(TECH, kind, f"SOAK-{prefix}-{self.batches}", first, last, 50)
        for row in self.m.supplies():
            if row["capacity"] and row["remaining"] < row["capacity"] / 4:
                self.m.reset_supply(TECH, row["device"], row["name"])
        with self.k.store.tx() as db:
            db.execute("DELETE FROM duty_cycle WHERE prints > 50")  # a new day for the card printer's duty cycle


@dataclass
class SoakResult:
    sessions: int = 0
    seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)  # faults that acted (mid-job: found a job at the printer)
    faults_missed: Counter[str] = field(default_factory=Counter)  # mid-job faults that found no job: not counted
    faults_between: Counter[str] = field(default_factory=Counter)  # switched between sessions (not known to act)
    actions: Counter[str] = field(default_factory=Counter)  # double taps, cancels, PIN double taps
    outcomes: Counter[str] = field(default_factory=Counter)
    documents_printed: int = 0
    documents_failed: int = 0
    rss_mb: list[float] = field(default_factory=list)  # sampled every ``sample_every`` sessions
    kiosks: int = 0
    rechecked: int = 0  # jobs the kiosk could not confirm, settled by the technician's re-check after a session
    ledgers: list[ledger.Ledger] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)  # the ledgers' and the per-session checks'

    @property
    def per_second(self) -> float:
        return self.sessions / self.seconds if self.seconds else 0.0

    @property
    def rss_growth_mb(self) -> float:
        """Last sample against the one halfway: a leak grows with every session, a cache or the allocator's
        arenas settling does not (with lanes, downloads and worker threads that takes about 100 sessions)."""
        if len(self.rss_mb) < 3:
            return 0.0
        warm = self.rss_mb[len(self.rss_mb) // 2]
        return round(self.rss_mb[-1] - warm, 1)

    @property
    def lost(self) -> int:
        return sum(led.lost for led in self.ledgers)

    @property
    def doubled(self) -> int:
        return sum(led.doubled for led in self.ledgers)

    def merge(self, other: SoakResult) -> None:
        self.sessions += other.sessions
        for mine, theirs in ((self.faults, other.faults), (self.faults_missed, other.faults_missed),
                             (self.faults_between, other.faults_between),
                             (self.actions, other.actions), (self.outcomes, other.outcomes)):
            mine.update(theirs)
        self.documents_printed += other.documents_printed
        self.documents_failed += other.documents_failed
        self.rechecked += other.rechecked
        self.ledgers += other.ledgers
        self.violations += other.violations
        self.kiosks += 1

    def summary(self) -> dict[str, Any]:
        witnesses = {key: sum(int(led.figures()[key] or 0) for led in self.ledgers)
                     for key in ("paper", "test_prints", "reports_at_central", "redelivered", "reported_twice")}
        return {"sessions": self.sessions, "kiosks": self.kiosks, "seconds": round(self.seconds, 1),
                "sessions_per_second": round(self.per_second, 2), "faults_acted": sum(self.faults.values()),
                "faults": dict(self.faults), "faults_missed": dict(self.faults_missed),
                "faults_between_sessions": dict(self.faults_between), "actions": dict(self.actions),
                "outcomes": dict(self.outcomes), "documents_printed": self.documents_printed,
                "documents_failed": self.documents_failed, "jobs_rechecked_by_technician": self.rechecked,
                "rss_mb_first": self.rss_mb[0] if self.rss_mb else 0, "rss_mb_last": self.rss_mb[-1] if self.rss_mb else 0,
                "rss_growth_mb": self.rss_growth_mb, "lost": self.lost, "doubled": self.doubled,
                "witnesses": witnesses, "hopper": [led.hopper for led in self.ledgers],
                "violations": self.violations[:200], "violation_count": len(self.violations)}


@dataclass
class Cancelled:
    """A session its citizen cancelled, and the jobs already at the printer when the cancel returned."""

    session_id: str
    at_printer: set[str]


class KioskSoak:
    """One kiosk and its stream of citizens."""

    def __init__(self, base: Path, seed: int, fault_rate: float, time_scale: float) -> None:
        self.base = base
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.job_bound_s = max(3.0, 4 * max(TIMING_S.values()) * time_scale)
        cfg = sim_config(base, **{
            "central.retries": 1, "session.print_timeout_s": max(2, round(self.job_bound_s)),
            "status.heartbeat_interval_s": 0, "pins.nik_lockout_s": 1, "pins.kiosk_lockout_s": 1,
            "devices.poll_interval_s": 0.5})
        self.k = build_kiosk(cfg)
        self.k.start()
        set_timing(self.k, time_scale)
        self.tech = Technician(self.k)
        self.central = self.k.central_server.sim
        self.open: dict[str, IssuedPin] = {}
        self.left: dict[str, set[str]] = {}  # per citizen: document kinds of the open request not printed yet
        self.cancelled: list[Cancelled] = []
        self.result = SoakResult()

    # -- one citizen ------------------------------------------------------------------------

    def pin_for(self, ident: citizens.Identity, kinds: list[Any]) -> IssuedPin:
        issued = self.open.get(ident.nik)
        if issued is None or not self.left.get(ident.nik) or self.central.request_state(issued.request_id) != "ready":
            issued = self.central.issue_pin(ident.nik, kinds)
            self.open[ident.nik] = issued
            self.left[ident.nik] = {k.value for k in kinds}
        return issued

    def identify(self, nik: str) -> str:
        """The e-KTP on the reader about a third of the time (typed after a failed read), else typed."""
        if self.rng.random() < 0.35:
            sim, reader = self.k.sim, self.k.devices.get("card_reader")
            sim.insert_card(nik)
            try:
                return str(reader.read().identity["nik"])
            except DeviceError:
                return nik
            finally:
                sim.pull_card()
        return nik

    def at_once(self, *calls: Callable[[], Any], spread_s: float = 0.03) -> list[Any]:
        """Runs ``calls`` in threads started a random few ms apart; returns each result or exception."""
        out: list[Any] = [None] * len(calls)
        offsets = [self.rng.uniform(0, spread_s) for _ in calls]

        def run(i: int) -> None:
            time.sleep(offsets[i])
            try:
                out[i] = calls[i]()
            except Exception as exc:  # noqa: BLE001 - a refused double tap is an answer, kept for the caller
                out[i] = exc
        threads = [threading.Thread(target=run, args=(i,), name=f"soak-tap-{i}") for i in range(len(calls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return out

    def mid_job_fault(self) -> Armed | None:
        """Maybe arms a seeded fault that waits for a job at its printer."""
        if self.rng.random() >= self.fault_rate:
            return None
        return Armed(self.k, self.rng.choice(sorted(MID_JOB)), self.job_bound_s)

    def session(self) -> str:
        k, rng = self.k, self.rng
        ident, kinds = rng.choice(citizens.DEMO)
        issued = self.pin_for(ident, kinds)
        nik = self.identify(ident.nik)
        try:
            s = k.sessions.start(nik, "nik")
        except SessionError as exc:
            time.sleep(min(2.0, float(exc.info.get("seconds", 0))))  # type: ignore[arg-type]  # the citizen waits it out
            return f"start-{exc.code}"
        cancel = False
        try:
            try:
                result = self.enter_pin(s.id, issued.pin)
            except SessionError as exc:
                if exc.code == "no-documents":  # told nothing is ready here: central sends a new request next time
                    self.left[ident.nik] = set()
                return f"pin-{exc.code}"
            if result is None:
                return "wrong-pin-left"
            if not result.ok:
                return "locked" if result.lockout else "wrong-pin"
            docs = [d for d in s.documents if rng.random() < 0.8] or s.documents[:1]
            ids = [d.id for d in docs]
            taps: list[Callable[[], Any]] = [lambda: k.sessions.start_printing(s.id, ids)]
            if rng.random() < 0.15:
                self.result.actions["print-double-tap"] += 1
                taps.append(lambda: k.sessions.start_printing(s.id, ids))
            cancel = rng.random() < 0.08
            fault = self.mid_job_fault()
            try:
                if cancel:
                    self.result.actions["cancel-while-printing"] += 1
                answers = self.at_once(*taps, *([lambda: self.cancel(s.id)] if cancel else []),
                                       spread_s=rng.choice([0.002, 0.01, 0.05]))[:len(taps)]
                for a in answers:
                    if isinstance(a, Exception) and not isinstance(a, SessionError):
                        self.result.violations.append(f"session {s.id[:6]}: a print request raised {a!r} "
                                                      "(the citizen sees an error page)")
                if cancel:
                    return "cancelled"
                if all(isinstance(a, Exception) for a in answers):
                    exc = answers[0]
                    codes = exc.info.get("codes", [exc.code]) if isinstance(exc, SessionError) else [type(exc).__name__]
                    return f"refused-{'+'.join(codes)}"  # type: ignore[arg-type]
                return self.finish(s, docs, ident.nik)
            finally:
                if fault:
                    (self.result.faults if fault.done() else self.result.faults_missed)[fault.name] += 1
        finally:
            if not cancel:
                k.sessions.end(s.id)

    def enter_pin(self, sid: str, pin: str) -> Any:
        """A wrong PIN first sometimes (then maybe leaves: None), a double tap on "OK" sometimes."""
        k, rng = self.k, self.rng
        if rng.random() < 0.05:
            wrong = f"{(int(pin) + 1) % 10**6:06d}"
            if not k.sessions.submit_pin(sid, wrong).ok and rng.random() < 0.5:
                return None
        if rng.random() >= 0.1:
            return k.sessions.submit_pin(sid, pin)
        self.result.actions["pin-double-tap"] += 1
        answers = self.at_once(lambda: k.sessions.submit_pin(sid, pin), lambda: k.sessions.submit_pin(sid, pin))
        results = [a for a in answers if not isinstance(a, Exception)]
        if not results:
            raise answers[0]
        return next((a for a in results if a.ok), results[0])

    def cancel(self, sid: str) -> None:
        self.k.sessions.end(sid, "cancelled")
        rows = self.k.store.query("SELECT id FROM print_jobs WHERE session_id=? AND state!='planned'", (sid,))
        self.cancelled.append(Cancelled(sid, {str(r[0]) for r in rows}))

    def finish(self, s: Any, docs: list[Any], nik: str) -> str:
        """The citizen watches the progress screen: it must end within the jobs' bound."""
        bound = self.job_bound_s * (len(docs) + 1) + 5
        end = time.monotonic() + bound
        self.k.sessions.wait_printed(s.id, bound)
        while s.outcome is None and time.monotonic() < end:
            time.sleep(0.02)
        if s.outcome is None:
            self.result.violations.append(f"session {s.id[:6]}: printing did not finish within {bound:.0f} s")
            return "stuck"
        self.left[nik] -= {d.kind.value for d in docs if d.id in s.outcome.printed}
        self.result.documents_printed += len(s.outcome.printed)
        self.result.documents_failed += len(s.outcome.failed)
        return "printed" if not s.outcome.failed else "partly-printed"

    # -- the run ------------------------------------------------------------------------------

    def between_sessions(self, i: int) -> None:
        if i % 10 == 0:
            self.tech.restocks()
        if self.rng.random() < self.fault_rate / 3:
            name = self.rng.choice(sorted(FAULTS))
            FAULTS[name](self.k)
            self.result.faults_between[name] += 1

    def run(self, count: int, tick: Callable[[], None]) -> SoakResult:
        for i in range(count):
            self.between_sessions(i)
            self.result.outcomes[self.session()] += 1
            self.tech.clears()
            self.result.rechecked += self.tech.rechecks_stuck_jobs()
            self.result.sessions += 1
            tick()
        self.settle()
        return self.result

    def settle(self, timeout_s: float = 60) -> None:
        """Every print thread ends (cancelled sessions' too); the technician re-checks what the kiosk could not
        confirm (a printer that went silent mid-job); central is back and the outbox drains."""
        end = time.monotonic() + self.job_bound_s * 3
        while self.k.store.query_one("SELECT COUNT(*) FROM print_jobs WHERE state IN ('planned','submitted')")[0] \
                and time.monotonic() < end:
            time.sleep(0.1)
        self.tech.clears()
        self.result.rechecked += self.tech.rechecks_stuck_jobs()
        self.k.background.stop()
        end = time.monotonic() + timeout_s
        while self.k.outbox.backlog() and time.monotonic() < end:
            with self.k.store.tx() as db:  # the technician's "retry now" instead of waiting out the backoff
                db.execute("UPDATE outbox SET next_attempt_at=0 WHERE sent_at IS NULL")
            self.k.outbox.flush(500)
            time.sleep(0.05)

    def audit(self) -> None:
        led = ledger.audit_kiosk(self.k)
        self.result.ledgers.append(led)
        self.result.violations += led.violations
        paper = {m["uuid"] for p in ledger.read_paper(Path(self.k.cfg.sim.output_dir))
                 if (m := ledger.JOB_TITLE.match(p.title))}
        journal = ledger.read_journal(Path(self.k.cfg.data_dir) / "journal.sqlite3")
        for c in self.cancelled:
            late = sorted(j.id for j in journal.jobs.values()
                          if j.session_id == c.session_id and j.uuid in paper and j.id not in c.at_printer)
            if late:
                self.result.violations.append(f"session {c.session_id[:6]}: cancelled, yet job(s) {', '.join(late)} "
                                              "reached the printer afterwards and came out")
                led.lost += len(late)
        # the soak injects no signature fault: a document refused for its TTE means the harness fed it a document
        # another central signed (once, a cache shared by the kiosks' centrals refused most A4 documents unseen)
        refused = self.k.store.query("SELECT error, COUNT(*) FROM print_jobs WHERE error LIKE 'tte-invalid%' GROUP BY 1")
        for error, n in refused:
            self.result.violations.append(f"{self.k.cfg.kiosk.id}: {n} document(s) refused {error}, "
                                          "although central signed every one")


def run_soak(base: Path, count: int, seed: int = 2024, fault_rate: float = 0.3, kiosks: int = 2,
             time_scale: float = 0.01, sample_every: int = 0,
             progress: Callable[[int, SoakResult], None] | None = None) -> SoakResult:
    """``count`` sessions spread over ``kiosks`` kiosks running at once; every kiosk audited at the end."""
    total = SoakResult()
    sample_every = sample_every or max(5, count // 40)
    proc = psutil.Process()
    done = [0]
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            done[0] += 1
            if done[0] % sample_every == 0:
                gc.collect()
                total.rss_mb.append(round(proc.memory_info().rss / 2**20, 1))
                if progress:
                    progress(done[0], total)

    with fast_central():
        soaks = [KioskSoak(base / f"kiosk-{i}", seed + i, fault_rate, time_scale) for i in range(kiosks)]
        total.rss_mb.append(round(proc.memory_info().rss / 2**20, 1))
        shares = [count // kiosks + (i < count % kiosks) for i in range(kiosks)]
        started = time.monotonic()
        errors: list[BaseException] = []

        def drive(soak: KioskSoak, n: int) -> None:
            try:
                soak.run(n, tick)
            except BaseException as exc:
                errors.append(exc)
                raise
        threads = [threading.Thread(target=drive, args=(s, n), name=f"soak-kiosk-{i}")
                   for i, (s, n) in enumerate(zip(soaks, shares, strict=True))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total.seconds = time.monotonic() - started
        total.rss_mb.append(round(proc.memory_info().rss / 2**20, 1))
        for s in soaks:
            try:
                s.audit()
            finally:
                s.k.stop()
            total.merge(s.result)
    if errors:
        raise errors[0]
    return total

