"""The composition root: which transports, which central, which simulated peers a kiosk gets.

``build_kiosk(cfg)`` is how the CLI and the tests make a kiosk. Outside simulation it
registers only the real transports and talks to the configured central; a device whose
transport no one registered is refused here (config validation already refuses ``sim``),
and no simulator module is even imported. In simulation (``sim.mode`` inprocess or system)
it hands over to ``kiosk.cli.simulation``, which starts what stands in for hardware and
central and asks ``hardware_sim`` to register its ``sim`` transports.
"""

from __future__ import annotations

from kiosk.citizen.central import CentralClient
from kiosk.config import Config, check_secrets, secret
from kiosk.devices.builder import build_devices, load_sam_key, real_transports
from kiosk.journal.store import Store
from kiosk.services import Kiosk


def build_kiosk(cfg: Config) -> Kiosk:
    """A kiosk for ``cfg``, not started: a ``SimulatedKiosk`` in simulation, else the core over real devices.

    Raises ``ConfigError`` (the config report, never a traceback) for unreadable secrets.
    """
    check_secrets(cfg)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    if cfg.sim.mode == "off":
        return _real_kiosk(cfg)
    from kiosk.cli.simulation import simulated_kiosk
    return simulated_kiosk(cfg)


def _real_kiosk(cfg: Config) -> Kiosk:
    store = Store(cfg.data_dir / "journal.sqlite3")
    try:
        devices = build_devices(cfg, real_transports(), load_sam_key(cfg))
    except BaseException:
        store.close()
        raise
    key = secret(cfg.central.kiosk_key, cfg.central.kiosk_key_file).encode()
    kiosk = Kiosk(cfg, store, devices, CentralClient(cfg.central.url, cfg.kiosk.id, key, cfg.central.timeout_s,
                                                      cfg.central.retries))
    if cfg.accessibility.headset_jack == "alsa":
        from drivers.audio import AlsaHeadsetJack
        kiosk.attach_headset(AlsaHeadsetJack(cfg.accessibility.alsa_card, cfg.accessibility.alsa_control))
    return kiosk
