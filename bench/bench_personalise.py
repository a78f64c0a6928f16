"""One KTP-el personalisation through the real pcscd, beside a plain read of the same card.

    python bench/bench_personalise.py [--runs N] [--port P]

Starts a private pcscd with vpcd's two readers: the kiosk's reader and the card printer's
encoder station holding a hopper of blank chips. Each run personalises the blank at the
station with the production encoder driver (SELECT, GET DATA, authentication, UPDATE
BINARY of five files, ACTIVATE, then the read-back with chip and passive authentication),
waits for the card to move on, puts it on the kiosk's reader and reads it there as a citizen's
tap would (the peer, measured in the same run on the same card). Extended and short APDUs,
medians over the runs. Needs root, pcscd and vsmartcard-vpcd; prints why and exits 0 when they
are missing. Never fails on timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.card_encoder import CardEncoder  # noqa: E402
from drivers.card_reader import CardReader, PyscardSystem  # noqa: E402
from drivers.passive_auth import TrustAnchors  # noqa: E402
from hardware_sim import citizens  # noqa: E402
from hardware_sim.chip_pki import ChipPki  # noqa: E402
from hardware_sim.ektp_card import chip_image, demo_fingerprints  # noqa: E402
from hardware_sim.pcscd import DEFAULT_PORT, VirtualReaderRig, unavailable  # noqa: E402
from hardware_sim.vpcd import realistic_photo  # noqa: E402


def blank_at_station(encoder: CardEncoder, not_serial: str, timeout_s: float = 10.0) -> str:
    """The serial of the next blank once it is at the station (vpcd reconnects ~1 s after the last card left)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            serial = encoder.blank_serial()
            if serial != not_serial:
                return serial
        except Exception:  # noqa: BLE001 - the station is between two cards
            pass
        time.sleep(0.05)
    raise RuntimeError("no new blank reached the encoder station")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = ap.parse_args()
    reason = unavailable()
    if reason:
        print(f"bench skipped: {reason}")
        return 0
    key = os.urandom(16)
    ident = citizens.DEMO[0][0]
    rows: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="adm-bench-perso-") as work:
        rig = VirtualReaderRig(Path(work), key, port=args.port).start()
        try:
            assert rig.control is not None
            pki = ChipPki.load_or_create(rig.work / "chip-pki")
            anchors = TrustAnchors.from_pem(pki.csca_pem())
            files = chip_image(ident, realistic_photo(ident), citizens.signature_png(ident),
                               demo_fingerprints(ident.nik), pki)
            system = PyscardSystem()
            serial = ""
            for mode in ("extended", "short"):
                encoder = CardEncoder("card_encoder", system, key, rig.encoder_reader, anchors,
                                      extended=mode == "extended")
                reader = CardReader("card_reader", system, key, rig.reader, extended=mode == "extended",
                                    anchors=anchors)
                row = rows[mode] = {"perso_ms": [], "perso_apdus": [], "read_ms": [], "read_apdus": []}
                for _ in range(args.runs):
                    serial = blank_at_station(encoder, serial)
                    started = time.perf_counter()
                    done = encoder.personalise(files, serial)
                    row["perso_ms"].append((time.perf_counter() - started) * 1000)
                    row["perso_apdus"].append(done.write_apdus + done.read_apdus)
                    blank_at_station(encoder, serial)  # the card moved on to print
                    rig.control.tap_printed()
                    if not reader.wait_for_card(10):
                        raise RuntimeError("the printed card never reached the reader")
                    time.sleep(0.05)
                    started = time.perf_counter()
                    data = reader.read()
                    row["read_ms"].append((time.perf_counter() - started) * 1000)
                    row["read_apdus"].append(data.apdus)
                    rig.control.pull()
        finally:
            rig.stop()
    size = sum(len(b) for b in files.values())
    print(f"KTP-el personalisation through real pcscd + vpcd ({size / 1024:.1f} KB chip image: identity, "
          f"{len(files[2]) / 1024:.1f} KB photo, signature, 2 fingerprint templates, CMS SOD), {args.runs} runs per mode")
    print(f"{'mode':10} {'what':38} {'APDUs':>6} {'median ms':>10} {'min ms':>8}")
    for mode, row in rows.items():
        print(f"{mode:10} {'personalise (write, lock, read back)':38} {int(statistics.median(row['perso_apdus'])):6d} "
              f"{statistics.median(row['perso_ms']):10.2f} {min(row['perso_ms']):8.2f}")
        print(f"{mode:10} {'peer: plain read of the same card':38} {int(statistics.median(row['read_apdus'])):6d} "
              f"{statistics.median(row['read_ms']):10.2f} {min(row['read_ms']):8.2f}")
        ratio = statistics.median(row["perso_ms"]) / statistics.median(row["read_ms"])
        print(f"{mode:10} {'personalisation / plain read':38} {'':6} {ratio:9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
