"""The ``adm-kiosk`` command.

Subcommands owned by other modules of this package register themselves: each exposes
``register(subparsers)``. Kiosks are built by ``kiosk.cli.composition``; nothing imports
``ui`` but this module.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from kiosk import __version__
from kiosk.cli import blanks, card, print_test, scan, technician, token
from kiosk.cli.args import config_from_args
from kiosk.config import ConfigError
from kiosk.devices.headset import HeadsetWatch
from kiosk.logs import setup_logging


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    """SIGTERM (kill, systemd, container runtimes) ends the kiosk as Ctrl-C does: through its cleanup."""
    raise KeyboardInterrupt(f"signal {signum}")


def cmd_run(args: argparse.Namespace) -> int:
    from kiosk.cli.composition import build_kiosk
    from ui import create_app
    from ui.api import start_status_listener
    from ui.server import serve

    cfg = config_from_args(args)
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    kiosk = None
    status = None
    try:
        kiosk = build_kiosk(cfg)
        kiosk.start()
        app = create_app(kiosk)
        status = start_status_listener(kiosk)  # None unless [status] port is set
        if cfg.sim.mode != "off":  # the simulator's modules are not even imported for real hardware
            from kiosk.cli.simulation import SimulatedKiosk
            if isinstance(kiosk, SimulatedKiosk):
                # The demo PINs are issued once the server listens: a simulator convenience, not part of start-up.
                banner = kiosk.banner
                threading.Thread(target=lambda: print(banner(), flush=True), name="banner", daemon=True).start()
        serve(app, cfg.ui.host, cfg.ui.port)  # returns on SIGINT or SIGTERM once its request threads are done
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
        try:
            if status:
                status.stop()
            if kiosk:
                kiosk.stop()  # prints in progress finish and are journaled, then every peer it started stops
        finally:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _headset_jack(watch: HeadsetWatch | None) -> str:
    """One bounded read of the headset jack: without jack sensing, speech comes only with the speech key (F2)."""
    if watch is None:
        return "off (accessibility.headset_jack = none): speech only with the speech key"
    watch.refresh()
    if not watch.known():
        return f"not sensed ({getattr(watch.jack, 'last_error', '') or 'no answer'}): speech only with the speech key"
    return "headset plugged in" if watch.plugged() else "no headset"


def cmd_doctor(args: argparse.Namespace) -> int:
    from kiosk.cli.composition import build_kiosk
    from kiosk.staff.status import doctor_report

    cfg = config_from_args(args)
    kiosk = build_kiosk(cfg)
    try:
        kiosk.monitor.refresh()
        reachable = kiosk.central.ping()
        report = doctor_report(kiosk.status.build(), cfg.source, str(cfg.data_dir), reachable, kiosk.central.last_error)
        report["speech"]["headset_jack"] = _headset_jack(kiosk.headset)
    finally:
        kiosk.stop()
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(f"config: {report['config']}")
        for name, st in report["devices"].items():
            flag = "ok " if st["ready"] else ("-- " if not st["required"] else "!! ")
            print(f"{flag}{name:18} {st['state']:14} {st['detail']}")
        print(f"central: {'reachable' if report['central']['reachable'] else 'UNREACHABLE'}")
        print(f"speech: {report['speech']['detail']}; headset jack: {report['speech']['headset_jack']}")
        print("available" if report["available"] else "NOT AVAILABLE: " + "; ".join(report["reasons"]))
    return 0 if report["available"] else 1


def cmd_sim_issue_pin(args: argparse.Namespace) -> int:
    from hardware_sim.central import CentralSim
    from kiosk.model import DocumentKind, InvalidNik, Nik

    cfg = config_from_args(args, sim="inprocess")
    try:
        nik = Nik.parse(args.nik)
        kinds = [DocumentKind(k.strip()) for k in args.documents.split(",") if k.strip()]
    except InvalidNik as exc:
        print(f"invalid NIK: {exc.reason}", file=sys.stderr)
        return 2
    except ValueError:
        print(f"unknown document kind; use: {', '.join(k.value for k in DocumentKind)}", file=sys.stderr)
        return 2
    sim = CentralSim(Path(cfg.sim.state_dir) / "central.db")
    try:
        issued = sim.issue_pin(nik.value, kinds)
    except KeyError as exc:
        print(str(exc.args[0]), file=sys.stderr)
        return 2
    print("WhatsApp message:\n" + issued.whatsapp)
    from hardware_sim.camera import save_qr_png
    qr = sim.whatsapp_qr(issued)
    png = save_qr_png(qr, Path(cfg.sim.state_dir) / "whatsapp-qr" / f"{issued.request_id}.png")
    print(f"WhatsApp QR: {qr}\nQR image: {png}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="adm-kiosk", description="ADM kiosk controller")
    p.add_argument("--version", action="version", version=__version__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", help="TOML settings file (ADM_* environment variables override it)")
        sp.add_argument("--sim", nargs="?", const="inprocess", choices=["inprocess", "system"],
                        help="simulated hardware: in-process (default) or system peers")

    run = sub.add_parser("run", help="start the kiosk")
    common(run)
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.set_defaults(func=cmd_run)

    doc = sub.add_parser("doctor", help="check config and every device; non-zero when not available")
    common(doc)
    doc.add_argument("--json", action="store_true")
    doc.set_defaults(func=cmd_doctor)

    sim = sub.add_parser("sim", help="simulator tools")
    simsub = sim.add_subparsers(dest="sim_command", required=True)
    ip = simsub.add_parser("issue-pin", help="create a ready request in the simulated central; prints the WhatsApp message")
    ip.add_argument("--config")
    ip.add_argument("--nik", required=True)
    ip.add_argument("--documents", default="ktp-el,kk", help="comma-separated: ktp-el,kia,kk,akta-kelahiran,...")
    ip.set_defaults(func=cmd_sim_issue_pin)

    for module in (card, scan, print_test, token, technician, blanks):
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    args = build_parser().parse_args(argv)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
