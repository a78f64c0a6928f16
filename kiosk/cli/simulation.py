"""Simulation, composed: the simulated central, the system peers, the in-process hardware, the panel.

``simulated_kiosk(cfg)`` (reached through ``kiosk.cli.composition.build_kiosk``) returns a
``SimulatedKiosk``: the same core, plus the peers it started (stopped after the core, so a
print in progress is journaled before its printer goes), the simulator panel, the demo PINs
and the start-up banner. This module and the composition root are the only code that knows
both the core and ``hardware_sim``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hardware_sim import citizens
from hardware_sim.audio_jack import SimulatedHeadsetJack
from hardware_sim.blanks import seed_first_start
from hardware_sim.central import CentralServer, CentralSim, IssuedPin
from hardware_sim.central_keepalive import KeepAliveCentralServer
from hardware_sim.chip_pki import csca_file, for_state_dir
from hardware_sim.factory import ENCODER_READER, SimHardware
from hardware_sim.link_shaper import LinkProfile, LinkShaper
from hardware_sim.panel import SimulatorPanel
from hardware_sim.system import SystemSim
from kiosk import __version__
from kiosk.citizen.central import CentralClient
from kiosk.cli.devices import devices_for
from kiosk.config import Config, secret
from kiosk.devices.builder import Devices, load_sam_key
from kiosk.journal.store import Store
from kiosk.services import Kiosk, key_file


class SimulatedKiosk(Kiosk):
    """A kiosk over simulated hardware and a simulated central, with the peers it owns."""

    def __init__(self, cfg: Config, store: Store, devices: Devices, central: CentralClient, sim: SimHardware | None,
                 system_sim: SystemSim | None, central_server: CentralServer | KeepAliveCentralServer | None) -> None:
        super().__init__(cfg, store, devices, central)
        self.sim = sim  # the in-process peers (insert a card, show a QR code, jam a queue), or None
        self.system_sim = system_sim  # the real peers of --sim=system, or None
        self.central_server = central_server  # the simulated central, or None when a real URL is configured
        self.link: LinkShaper | None = None  # the shaped link to the simulated central, when [sim] link_shaper
        self.demo_pins: list[IssuedPin] = []
        self.headset_jack = SimulatedHeadsetJack()  # the panel's "plug headset" / "unplug"
        self.attach_headset(self.headset_jack)
        self.simulator = SimulatorPanel(self)

    def seed(self) -> None:
        """First start of a simulated kiosk: a batch of blanks, as a technician would load (through the blank owner)."""
        seed_first_start(self.printing.blanks)

    def issue_demo_pins(self) -> list[IssuedPin]:
        if self.central_server is None:
            raise RuntimeError("demo PINs need the simulated central (no central.url in simulation)")
        sim = self.central_server.sim
        self.demo_pins = [sim.issue_pin(ident.nik, kinds) for ident, kinds in citizens.DEMO]
        return self.demo_pins

    def stop(self) -> None:
        """The core first (prints finish and are journaled, reports flushed), then every peer it started."""
        try:
            super().stop()
        finally:
            if self.link:
                self.link.stop()
            if self.central_server:
                self.central_server.stop()
            if self.system_sim:
                self.system_sim.stop()

    def banner(self) -> str:
        lines = [f"ADM kiosk {__version__} ({self.cfg.kiosk.id}) on http://{self.cfg.ui.host}:{self.cfg.ui.port}/"]
        if self.central_server:
            lines.append(f"simulated central: {self.central.__class__.__name__} -> {self.central_server.url}")
            if not self.demo_pins:
                self.issue_demo_pins()
            lines.append("Demo citizens (tap 'Ketik NIK', enter the NIK, then the PIN):")
            for issued in self.demo_pins:
                lines.append("-" * 60)
                lines.append(f"NIK {issued.nik}  PIN {issued.pin}")
                lines.append(issued.whatsapp)
                lines.append(f"WhatsApp QR (show it to the camera): {self.central_server.sim.whatsapp_qr(issued)}")
            lines.append("-" * 60)
            lines.append(f"Printed output: {Path(self.cfg.sim.output_dir).resolve()}")
            if self.cfg.sim.realistic_timing:
                lines.append(f"Printers take their profiles' time (x {self.cfg.sim.timing_scale:g}).")
        return "\n".join(lines)


def simulated_kiosk(cfg: Config) -> SimulatedKiosk:
    """The kiosk of ``--sim`` and the tests: every peer it needs started, stopped again if a step fails."""
    stops: list[Callable[[], None]] = []  # what was started so far, stopped in reverse if a later step fails
    try:
        sam_key = load_sam_key(cfg) or key_file(cfg.data_dir / "sim-sam.key", 16)
        system_sim = None
        if cfg.sim.mode == "system":
            system_sim = SystemSim(cfg, sam_key).start()  # points each device at its peer, or at "sim" without one
            stops.append(system_sim.stop)
        if not cfg.central.url:  # the simulated central signs the chips: the reader trusts its CSCA
            for_state_dir(cfg.sim.state_dir)
            cfg.devices.card_reader.csca_file = cfg.devices.card_reader.csca_file or str(csca_file(cfg.sim.state_dir))
        if cfg.sim.mode == "inprocess" and not cfg.devices.card_printer.encoder:
            cfg.devices.card_printer.encoder = ENCODER_READER
        store = Store(cfg.data_dir / "journal.sqlite3")
        stops.append(store.close)
        devices, sim = devices_for(cfg, sam_key)
        key = secret(cfg.central.kiosk_key, cfg.central.kiosk_key_file).encode()
        url, server, link = cfg.central.url, None, None
        if not url:
            key = key or key_file(cfg.data_dir / "central-sim.key")
            central_sim = CentralSim(Path(cfg.sim.state_dir) / "central.db")
            central_sim.register_kiosk(cfg.kiosk.id, key)
            if not cfg.documents.tte_trust_anchors:  # the simulated kiosk trusts the simulated central's TTE root
                cfg.documents.tte_trust_anchors = str(central_sim.tte.trust_anchor)
            # behind a shaped link, with keep-alive as a real central's front end (werkzeug closes each connection)
            server_type = KeepAliveCentralServer if cfg.sim.link_shaper else CentralServer
            server = server_type(central_sim, cfg.sim.central_port).start()
            stops.append(server.stop)
            url = server.url
            if cfg.sim.link_shaper:
                link = LinkShaper.for_url(url, LinkProfile(cfg.sim.link_bandwidth_bps, cfg.sim.link_rtt_s)).start()
                stops.append(link.stop)
                url = link.url
        central = CentralClient(url, cfg.kiosk.id, key, cfg.central.timeout_s, cfg.central.retries)
        kiosk = SimulatedKiosk(cfg, store, devices, central, sim, system_sim, server)
        kiosk.link = link
        kiosk.seed()
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    return kiosk
