"""The virtual e-KTP behind real pcscd: a client of the vpcd socket protocol.

pcscd's vpcd driver listens on a TCP port; a card connects to it (connecting = inserting,
closing = pulling). Frames both ways are a 2-byte big-endian length and that many bytes; a
1-byte frame from pcscd is control (00 power off, 01 power on, 02 reset, 04 get ATR, only
04 is answered), anything longer is a command APDU answered by ``VirtualEktp.process``.

Run as a process (``python -m hardware_sim.vpcd --port P --control SOCK --sam-key-file F``),
driven by tests through a Unix control socket carrying one JSON object per line; see
``VpcdControl`` and docs/ektp-card-protocol.md ("Test harness").
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import selectors
import socket
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from hardware_sim import citizens
from hardware_sim.blanks import ChipHopper
from hardware_sim.chip_pki import ChipPki
from hardware_sim.ektp_card import ATR, CardFaults, VirtualEktp, issued_card
from kiosk.model import Identity

log = logging.getLogger(__name__)
CTRL_POWER_OFF, CTRL_POWER_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04
EJECT = bytes.fromhex("FF7E0000")  # docs/ektp-card-protocol.md section 11
REALISTIC_PHOTO_BYTES = 15_000
# pcscd polls vpcd for presence every ~400 ms: a card that leaves and comes back between two
# polls is never seen leaving, and pcscd keeps reporting the reader empty. Stay away longer.
REINSERT_GAP_S = 0.9


def realistic_photo(identity: Identity, min_bytes: int = REALISTIC_PHOTO_BYTES) -> bytes:
    """The demo portrait with camera-like sensor noise: a chip photo is 15-20 KB, the plain one ~7 KB."""
    import numpy as np
    from PIL import Image

    base = citizens.photo_jpeg(identity)
    if len(base) >= min_bytes:
        return base
    pixels = np.asarray(Image.open(io.BytesIO(base)).convert("RGB"), dtype=np.int16)
    rng = np.random.default_rng(int(identity.nik[-8:]))
    out = base
    for sigma in (4, 5, 6, 8, 10, 14):
        noisy = np.clip(pixels + rng.normal(0, sigma, pixels.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(noisy).save(buf, "JPEG", quality=85)
        out = buf.getvalue()
        if len(out) >= min_bytes:
            break
    return out


def demo_cards(sam_key: bytes, pki: ChipPki, min_photo_bytes: int = REALISTIC_PHOTO_BYTES) -> dict[str, VirtualEktp]:
    """One card per demo citizen, keyed by NIK, signed by the simulated central's document signer."""
    return {ident.nik: issued_card(ident, realistic_photo(ident, min_photo_bytes), citizens.signature_png(ident),
                                   sam_key, pki) for ident, _ in citizens.DEMO}


class VpcdCard:
    """Holds the card on the reader and keeps it connected to vpcd, reconnecting after a pcscd restart."""

    def __init__(self, cards: dict[str, VirtualEktp], port: int, host: str = "127.0.0.1",
                 hopper: ChipHopper | None = None) -> None:
        self.cards = cards
        self.hopper = hopper  # set for the encoder station: its card is the hopper's top blank
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self._card: VirtualEktp | None = None
        self._changed = threading.Event()
        self._stop = threading.Event()
        self.connected = False
        self.connections = 0
        self._left_at = 0.0
        self._thread: threading.Thread | None = None

    # -- what a test or the simulator panel does -------------------------------------------

    def insert(self, nik: str) -> None:
        card = self.cards[nik]
        with self._lock:
            card.reset()
            card.apdu_count = 0
            card.removed.clear()
            self._card = card
        self._changed.set()

    def pull(self) -> None:
        with self._lock:
            self._card = None
        self._changed.set()

    def hold(self, card: VirtualEktp | None) -> None:
        """Puts ``card`` in the field (the encoder station's next blank), or empties it."""
        with self._lock:
            if card is not None:
                card.reset()
                card.removed.clear()
            self._card = card
        self._changed.set()

    def set_faults(self, **switches: Any) -> None:
        """Sets fault switches on the card on the reader (``wrong_sw`` as hex, e.g. "6A82")."""
        card = self._require_card()
        known = {f.name for f in fields(CardFaults)}
        for name, value in switches.items():
            if name not in known:
                raise KeyError(f"unknown fault {name!r}")
            if name == "wrong_sw" and isinstance(value, str):
                value = bytes.fromhex(value)
            setattr(card.faults, name, value)

    def clear_faults(self) -> None:
        for card in self.cards.values():
            card.faults.clear()

    def status(self) -> dict[str, Any]:
        card = self._card
        nik = next((k for k, v in self.cards.items() if v is card), None) or (card.holder_nik or None if card else None)
        return {"card": nik, "connected": self.connected, "connections": self.connections,
                "apdus": card.apdu_count if card else 0, "serial": card.serial if card else None,
                "locked": bool(card and card.locked)}

    def _require_card(self) -> VirtualEktp:
        card = self._card
        if card is None:
            raise LookupError("no card on the reader")
        return card

    # -- the vpcd side ---------------------------------------------------------------------

    def start(self) -> VpcdCard:
        self._thread = threading.Thread(target=self.run, name="vpcd-card", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        if self._thread:
            self._thread.join(5)

    def run(self) -> None:
        """Reconnect loop: while a card is inserted, keep a connection to pcscd's vpcd port."""
        while not self._stop.is_set():
            card = self._card
            away = REINSERT_GAP_S - (time.monotonic() - self._left_at)
            if card is None or away > 0:
                self._changed.wait(0.2 if card is None else away)
                self._changed.clear()
                continue
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                self._changed.wait(0.1)  # pcscd not listening (yet, or restarting)
                self._changed.clear()
                continue
            self.connections += 1
            self.connected = True
            log.info("virtual card connected to vpcd port %d", self.port)
            try:
                self._serve(sock, card)
            except OSError as exc:
                log.info("vpcd connection ended: %s", exc)
            finally:
                self.connected = False
                self._left_at = time.monotonic()
                sock.close()

    def _serve(self, sock: socket.socket, card: VirtualEktp) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sel = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ)
        card.reset()
        try:
            while not self._stop.is_set() and self._card is card:
                if not sel.select(0.05):
                    continue
                frame = _recv_frame(sock)
                if frame is None:
                    return  # pcscd closed the connection (stopped or restarting)
                reply = self._answer(card, frame)
                if reply is None:
                    continue
                if reply is _PULLED:
                    return
                sock.sendall(len(reply).to_bytes(2, "big") + reply)
        finally:
            sel.close()

    def _answer(self, card: VirtualEktp, frame: bytes) -> Any:
        if len(frame) == 1:
            if frame[0] == CTRL_ATR:
                return ATR
            if frame[0] in (CTRL_POWER_OFF, CTRL_POWER_ON, CTRL_RESET):
                card.reset()
                if self.hopper is not None and card.locked and card.read_to_end:
                    self.hopper.fed("adm-print-test-")  # encoded and verified: the printer moves it on to print
                    self.hold(self.hopper.top())
            return None
        if frame[:4] == EJECT:  # the encoder station's pseudo-APDU (class FF: the reader answers, not the chip)
            if self.hopper is None:
                return b"\x6d\x00"
            self.hopper.reject()
            self.hold(self.hopper.top())
            return b"\x90\x00"
        try:
            return card.process(frame)
        except ConnectionError:
            with self._lock:  # the pull_after_apdus fault: the card leaves the field
                if self._card is card:
                    self._card = None
            return _PULLED


_PULLED = object()


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        # Linux clears TCP_QUICKACK after use: set it before every recv, or each APDU costs ~40 ms
        # (vpcd writes header and body separately; Nagle meets delayed ACK).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _recv_frame(sock: socket.socket) -> bytes | None:
    header = _recv_exact(sock, 2)
    if header is None:
        return None
    return _recv_exact(sock, int.from_bytes(header, "big"))


# -- control socket ------------------------------------------------------------------------

class _ControlHandler(socketserver.StreamRequestHandler):
    server: _ControlServer

    def handle(self) -> None:
        for line in self.rfile:
            try:
                req = json.loads(line)
                result = self.server.dispatch(req)
                reply: dict[str, Any] = {"ok": True, **result}
            except (KeyError, LookupError, ValueError, TypeError) as exc:
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            self.wfile.write(json.dumps(reply).encode() + b"\n")
            self.wfile.flush()


class _ControlServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, card: VpcdCard, encoder: VpcdCard | None = None,
                 hopper: ChipHopper | None = None) -> None:
        self.card = card
        self.encoder = encoder
        self.hopper = hopper
        super().__init__(path, _ControlHandler)

    def dispatch(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op is not None and str(op).startswith("encoder_"):
            return self._encoder(str(op), req)
        if op == "tap_printed":
            if self.hopper is None or self.hopper.last_printed() is None:
                raise LookupError("no card has come out of the printer")
            self.card.hold(self.hopper.last_printed())
        elif op == "insert":
            self.card.insert(str(req["nik"]))
        elif op == "pull":
            self.card.pull()
        elif op == "faults":
            self.card.set_faults(**{k: v for k, v in req.items() if k != "op"})
        elif op == "clear_faults":
            self.card.clear_faults()
        elif op != "status":
            raise ValueError(f"unknown op {op!r}")
        return self.card.status()

    def _encoder(self, op: str, req: dict[str, Any]) -> dict[str, Any]:
        """The card printer's encoder station (vpcd's second reader): its hopper of blank chips."""
        if self.encoder is None or self.hopper is None:
            raise LookupError("this virtual card process has no encoder station")
        if op == "encoder_feed":  # the printer moved the card at the station on (printed); the next blank comes in
            self.hopper.fed("adm-print-test-")
        elif op == "encoder_reject":  # the printer ejected the card at the station to its reject bin
            self.hopper.reject()
        elif op == "encoder_faults":
            self.encoder.set_faults(**{k: v for k, v in req.items() if k != "op"})
        elif op != "encoder_status":
            raise ValueError(f"unknown op {op!r}")
        if self.encoder._card is not self.hopper.top():
            self.encoder.hold(self.hopper.top())
        return {**self.encoder.status(), "hopper": self.hopper.count(), "rejected": list(self.hopper.rejected)}

class VpcdControl:
    """The test side of the control socket: insert, pull, switch cards, set fault switches."""

    def __init__(self, path: str | Path, timeout_s: float = 5.0) -> None:
        self.path = str(path)
        self.timeout_s = timeout_s

    def _call(self, **req: Any) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(self.timeout_s)
            s.connect(self.path)
            s.sendall(json.dumps(req).encode() + b"\n")
            reply = json.loads(s.makefile("rb").readline())
        if not reply.pop("ok"):
            raise RuntimeError(f"virtual card: {reply['error']}")
        return reply

    def insert(self, nik: str) -> dict[str, Any]:
        return self._call(op="insert", nik=nik)

    def pull(self) -> dict[str, Any]:
        return self._call(op="pull")

    def faults(self, **switches: Any) -> dict[str, Any]:
        if isinstance(switches.get("wrong_sw"), bytes):
            switches["wrong_sw"] = switches["wrong_sw"].hex()
        return self._call(op="faults", **switches)

    def clear_faults(self) -> dict[str, Any]:
        return self._call(op="clear_faults")

    def status(self) -> dict[str, Any]:
        return self._call(op="status")

    def tap_printed(self) -> dict[str, Any]:
        """The card that last came out of the printer, put on the kiosk's reader."""
        return self._call(op="tap_printed")

    def encoder(self, op: str = "status", **switches: Any) -> dict[str, Any]:
        """The encoder station: ``status``, ``feed``, ``reject`` or ``faults`` (as ``faults`` above)."""
        return self._call(op=f"encoder_{op}", **switches)

    def wait_connected(self, connected: bool = True, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.status()["connected"] == connected:
                return True
            time.sleep(0.02)
        return False


def start_card_process(port: int, control: Path, sam_key: bytes, work: Path, insert: str | None = None,
                       min_photo_bytes: int = REALISTIC_PHOTO_BYTES, timeout_s: float = 20.0,
                       pki_dir: Path | None = None, encoder: bool = False,
                       ) -> tuple[subprocess.Popen[bytes], VpcdControl]:
    """Starts ``python -m hardware_sim.vpcd`` and waits for its control socket. The SAM key goes
    through a 0600 file, never the command line (which every local user can read)."""
    key_file = work / "vcard-sam.key"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(sam_key.hex())
    control.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "hardware_sim.vpcd", "--port", str(port), "--control", str(control),
           "--sam-key-file", str(key_file), "--min-photo-bytes", str(min_photo_bytes)]
    cmd += ["--pki-dir", str(pki_dir or work / "chip-pki")]
    if encoder:
        cmd += ["--encoder-port", str(port + 1), "--hopper-file", str(work / "card.chips")]
    if insert:
        cmd += ["--insert", insert]
    with open(work / "vcard.log", "ab") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent)
    ctl = VpcdControl(control)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"virtual card exited with {proc.returncode}; see {work / 'vcard.log'}")
        try:
            ctl.status()
            return proc, ctl
        except OSError:
            time.sleep(0.05)
    stop_process(proc)
    raise RuntimeError("virtual card did not open its control socket")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``; by PID only."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace_s)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hardware_sim.vpcd", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=35963, help="pcscd's vpcd port (reader.conf DEVICENAME /dev/null:PORT)")
    ap.add_argument("--control", required=True, help="Unix socket path for the JSON-lines control channel")
    ap.add_argument("--sam-key-file", required=True, help="file holding the SAM key in hex")
    ap.add_argument("--insert", help="NIK of the demo citizen whose card starts on the reader")
    ap.add_argument("--min-photo-bytes", type=int, default=REALISTIC_PHOTO_BYTES)
    ap.add_argument("--pki-dir", required=True, help="the simulated central's chip PKI (hardware_sim/chip_pki.py)")
    ap.add_argument("--encoder-port", type=int, help="vpcd port of the card printer's encoder station (PORT+1)")
    ap.add_argument("--hopper-file", help="state of the encoder's hopper of blank chips (hardware_sim/blanks.py)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s vpcd-card %(message)s")
    sam_key = bytes.fromhex(Path(args.sam_key_file).read_text().strip())
    card = VpcdCard(demo_cards(sam_key, ChipPki.load_or_create(args.pki_dir), args.min_photo_bytes), args.port, args.host)
    if args.insert:
        card.insert(args.insert)
    encoder = hopper = None
    if args.encoder_port:
        hopper = ChipHopper(Path(args.hopper_file), sam_key)
        encoder = VpcdCard({}, args.encoder_port, args.host, hopper)
        encoder.hold(hopper.top())
        encoder.start()
    Path(args.control).unlink(missing_ok=True)
    server = _ControlServer(args.control, card, encoder, hopper)
    os.chmod(args.control, 0o600)
    threading.Thread(target=server.serve_forever, name="vpcd-control", daemon=True).start()
    import signal
    signal.signal(signal.SIGTERM, lambda *_: (card.stop(), encoder and encoder.stop()))
    try:
        card.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        Path(args.control).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
