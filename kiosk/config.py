"""Settings: schema defaults, then one TOML file, then ``ADM_*`` environment variables.

``ADM_SECTION__KEY=value`` overrides ``[section] key``; nested sections use more ``__``
(``ADM_DEVICES__CARD_PRINTER__QUEUE``). Every wrong key or value is reported with its
dotted name, and unknown keys suggest the nearest known one.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import ssl
import tomllib
import types
import typing
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import printer_profiles
from drivers.base import AdmError
from kiosk.opening_hours import OpeningHours


class ConfigError(AdmError, ValueError):
    code = "config-invalid"
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass
class KioskSection:
    id: str = "ADM-SIM-0001"
    location: str = "Simulator"
    data_dir: str = "var/data"
    language: str = "id"
    assist_phone: str = ""
    help_text: str = ""
    secret_file: str = ""  # per-kiosk key (HMAC of NIKs in the journal); made on first start
    retention_days: int = 90  # masked NIKs and NIK hashes in the journal are erased after this (UU PDP)
    timezone: str = "Asia/Jakarta"  # IANA name: the kiosk's day (the daily blank report) ends at local midnight
    latitude: float | None = None  # where the kiosk stands: the fleet's public page and "nearest kiosk"
    longitude: float | None = None
    opening_hours: dict[str, str] = field(default_factory=dict)  # mon = "08:00-16:00"; a day left out is closed


@dataclass
class CentralSection:
    url: str = ""  # empty in --sim: the simulated central's loopback address is used
    kiosk_key: str = ""  # secret: set ADM_CENTRAL__KIOSK_KEY or a file; never in the repo
    kiosk_key_file: str = ""
    timeout_s: float = 5.0
    retries: int = 2
    parallel_fetch: int = 3  # documents downloaded at once after the PIN; 1: one after the other
    fetch_bound_s: float = 30.0  # all of a PIN's documents downloaded within this, or "server unavailable"


@dataclass
class PinSection:
    max_failures_per_nik: int = 3
    nik_lockout_s: int = 900
    max_failures_per_kiosk: int = 10
    kiosk_window_s: int = 600
    kiosk_lockout_s: int = 300


@dataclass
class SessionSection:
    idle_timeout_s: int = 90
    warn_before_s: int = 20
    print_timeout_s: int = 180


@dataclass
class DeviceSection:
    """One device. ``transport``: the real one; ``sim`` (the in-process simulator) only in simulation.

    A section in the file sets only what it names: the rest keeps this device's defaults.
    """

    enabled: bool = True
    required: bool = True
    transport: str = ""  # card_reader: pcsc; printers: cups; receipt: serial|network|usb; camera: opencv
    profile: str = ""  # printer_profiles/<name>.toml
    queue: str = ""  # CUPS queue name
    reader: str = ""  # PC/SC reader name (substring)
    sam_key: str = ""  # secret: the reader's SAM key (hex); env ADM_DEVICES__CARD_READER__SAM_KEY
    sam_key_file: str = ""
    csca_file: str = ""  # card_reader: PEM bundle of the country signing CAs it trusts (passive authentication)
    encoder: str = ""  # card_printer: PC/SC reader name (substring) of its contactless encoder station; "" = none
    source: str = ""  # camera: index, file pattern or MJPEG URL
    decoder: str = "zxing"  # camera: zxing | zbar | zbar-plain (bench/bench_barcode.py says why zxing)
    port: str = ""  # receipt: serial device or host:port
    baudrate: int = 115200
    usb_vendor: int = 0
    usb_product: int = 0


def _device(**kw: Any) -> Any:
    return field(default_factory=lambda: DeviceSection(**kw))


@dataclass
class DevicesSection:
    card_reader: DeviceSection = _device(required=False)
    camera: DeviceSection = _device(required=False)
    card_printer: DeviceSection = _device(profile="evolis-primacy2", queue="card")
    document_printer: DeviceSection = _device(profile="office-laser-a4", queue="a4")
    receipt_printer: DeviceSection = _device(profile="thermal-80mm", required=False)
    poll_interval_s: float = 2.0
    call_timeout_s: float = 1.5  # a status probe past this reads "unknown" (not answering); above the drivers' own 1 s


@dataclass
class DocumentsSection:
    """How A4 documents are checked before printing (kiosk/printing/signatures.py)."""

    tte_trust_anchors: str = ""  # PEM file of the TTE root CAs (BSrE); empty: every A4 document is refused
    tte_check_timeout_s: float = 5.0  # a signature check past this is a refusal
    tte_worker_idle_s: float = 60.0  # the validator process (pyHanko, ~18 MB) stops after this long without work


@dataclass
class SimSection:
    mode: str = "off"  # off | inprocess | system
    state_dir: str = "var/sim"  # the simulated central's database and the system peers' work files
    output_dir: str = "var/sim/output"  # what the simulated printers "print"
    seed: int = 2024
    central_port: int = 0  # 0: any free loopback port
    realistic_timing: bool = False  # printers take their profile's [timing] (else: no time at all)
    timing_scale: float = 1.0  # multiplies every simulated printer time (tests and benchmarks: 0.05)
    link_shaper: bool = False  # the simulated central behind a shaped link (hardware_sim/link_shaper.py)
    link_bandwidth_bps: float = 0.0  # bytes/s each way; 0: unlimited (a village link: 125000, 1 Mbit/s)
    link_rtt_s: float = 0.0  # round trip the link adds (a village link: 0.3)


@dataclass
class PrintingSection:
    parallel: bool = True  # one lane per printer at once; false: every document in turn, as before


@dataclass
class UiSection:
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""  # Flask session key; generated per start when empty


@dataclass
class StatusSection:
    """The remote-status listener (status API and /metrics) for central staff and Prometheus.

    Separate from the citizen UI, which stays on loopback; ``port = 0`` leaves it off. Bind
    ``host`` to the management VPN's address, never to a network citizens can reach.
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0: no status listener
    heartbeat_interval_s: float = 60.0  # 0: no heartbeat to central
    usage_window_days: int = 7  # recent use that "days left" estimates are based on
    tls_cert_file: str = ""  # with tls_key_file: HTTPS only (PEM; the chain after the kiosk's certificate)
    tls_key_file: str = ""
    tls_client_ca_file: str = ""  # set: only clients with a certificate signed by this CA get past the handshake


@dataclass
class AccessibilitySection:
    """Spoken guidance: the headset socket whose jack turns speech on (drivers/audio.py)."""

    headset_jack: str = "alsa"  # alsa: the sound card's jack detection through amixer | none: only the speech key
    alsa_card: str = "0"
    alsa_control: str = ""  # empty: the card's first headphone or headset jack control


@dataclass
class Config:
    kiosk: KioskSection = field(default_factory=KioskSection)
    central: CentralSection = field(default_factory=CentralSection)
    pins: PinSection = field(default_factory=PinSection)
    session: SessionSection = field(default_factory=SessionSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    documents: DocumentsSection = field(default_factory=DocumentsSection)
    sim: SimSection = field(default_factory=SimSection)
    printing: PrintingSection = field(default_factory=PrintingSection)
    ui: UiSection = field(default_factory=UiSection)
    status: StatusSection = field(default_factory=StatusSection)
    accessibility: AccessibilitySection = field(default_factory=AccessibilitySection)
    source: str = ""  # where it was loaded from, for doctor

    @property
    def data_dir(self) -> Path:
        return Path(self.kiosk.data_dir)

    def device_configs(self) -> dict[str, DeviceSection]:
        return {f.name: getattr(self.devices, f.name) for f in dataclasses.fields(self.devices)
                if f.type in ("DeviceSection", DeviceSection)}

    def redacted(self) -> dict[str, Any]:
        """The settings with every secret blanked, for doctor and diagnostics bundles."""
        def walk(obj: Any) -> Any:
            if dataclasses.is_dataclass(obj):
                return {f.name: ("***" if _is_secret(f.name) and getattr(obj, f.name) else walk(getattr(obj, f.name)))
                        for f in dataclasses.fields(obj)}
            return obj
        return walk(self)


def _is_secret(name: str) -> bool:
    return name in ("kiosk_key", "sam_key", "secret_key")


def load(path: str | os.PathLike[str] | None = None, env: typing.Mapping[str, str] | None = None,
         overrides: dict[str, Any] | None = None) -> Config:
    """Builds the settings; raises ``ConfigError`` listing every problem at once."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError([f"config file not found: {path}"]) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
    for key, value in env.items():
        if key.startswith("ADM_") and "__" in key:
            parts = key[4:].lower().split("__")
            node = data
            for p in parts[:-1]:
                node = node.setdefault(p, {})
                if not isinstance(node, dict):
                    break
            else:
                node[parts[-1]] = value
    for dotted, value in (overrides or {}).items():
        node = data
        *head, last = dotted.split(".")
        for p in head:
            node = node.setdefault(p, {})
        node[last] = value
    problems: list[str] = []
    cfg = _build(Config(), data, "", problems)
    if problems:
        raise ConfigError(problems)
    cfg.source = str(path or "")
    _check(cfg, problems)
    if problems:
        raise ConfigError(problems)
    return cfg


def _build(base: Any, data: Any, prefix: str, problems: list[str]) -> Any:
    """``base`` (the defaults) with the keys ``data`` sets: a table merges over its defaults, never replaces them."""
    cls = type(base)
    if not isinstance(data, dict):
        problems.append(f"{prefix.rstrip('.') or 'config'}: expected a table, got {data!r}")
        return base
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if not (cls is Config and f.name == "source")}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            problems.append(f"unknown key '{name}'{hint}")
            continue
        typ = hints[key]
        if dataclasses.is_dataclass(typ):
            kwargs[key] = _build(getattr(base, key), value, name + ".", problems)
        else:
            try:
                kwargs[key] = _coerce(typ, value)
            except (TypeError, ValueError, OverflowError):  # OverflowError: `retries = inf` in TOML
                problems.append(f"'{name}': expected {_type_name(typ)}, got {value!r}")
    return dataclasses.replace(base, **kwargs)


def _type_name(typ: Any) -> str:
    return getattr(typ, "__name__", str(typ))


def _coerce(typ: Any, value: Any) -> Any:
    if isinstance(typ, types.UnionType):
        typ = next(t for t in typing.get_args(typ) if t is not type(None))
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ValueError(value)
    if typ is int:
        if isinstance(value, bool):
            raise TypeError(value)
        return int(value, 0) if isinstance(value, str) else int(value)
    if typ is float:
        if isinstance(value, bool):
            raise TypeError(value)
        return float(value)
    if typ is str:
        if not isinstance(value, str | int | float):
            raise TypeError(value)
        return str(value)
    return value


def _check(cfg: Config, problems: list[str]) -> None:
    if cfg.kiosk.language not in ("id", "en"):
        problems.append("'kiosk.language': expected 'id' or 'en'")
    try:
        zoneinfo.ZoneInfo(cfg.kiosk.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(f"'kiosk.timezone': expected an IANA time zone such as Asia/Jakarta, Asia/Makassar or "
                        f"Asia/Jayapura, got {cfg.kiosk.timezone!r}")
    if cfg.sim.mode not in ("off", "inprocess", "system"):
        problems.append("'sim.mode': expected off, inprocess or system")
    _check_devices(cfg, problems)
    if not 0 < cfg.devices.call_timeout_s <= 10 or cfg.devices.poll_interval_s <= 0:
        problems.append("'devices.call_timeout_s' must be between 0 and 10 s and 'devices.poll_interval_s' positive")
    _check_location(cfg, problems)
    if cfg.kiosk.retention_days < 1:
        problems.append("'kiosk.retention_days' must be at least 1")
    if cfg.devices.camera.decoder not in ("zxing", "zbar", "zbar-plain"):
        problems.append(f"'devices.camera.decoder': expected zxing, zbar or zbar-plain, got {cfg.devices.camera.decoder!r}")
    if not 1 <= cfg.central.parallel_fetch <= 8 or not 1 <= cfg.central.fetch_bound_s <= 300:
        problems.append("'central.parallel_fetch' must be 1 to 8 and 'central.fetch_bound_s' 1 to 300 s")
    if cfg.session.warn_before_s >= cfg.session.idle_timeout_s:
        problems.append("'session.warn_before_s' must be shorter than 'session.idle_timeout_s'")
    for sec in ("pins", "session"):
        for f in dataclasses.fields(getattr(cfg, sec)):
            if getattr(getattr(cfg, sec), f.name) <= 0:
                problems.append(f"'{sec}.{f.name}' must be positive")
    if not 1 <= cfg.ui.port <= 65535:
        problems.append(f"'ui.port' must be between 1 and 65535, got {cfg.ui.port}")
    for dotted, port in (("status.port", cfg.status.port), ("sim.central_port", cfg.sim.central_port)):
        if not 0 <= port <= 65535:
            problems.append(f"'{dotted}' must be between 0 (off or any free port) and 65535, got {port}")
    if cfg.status.heartbeat_interval_s < 0 or cfg.status.usage_window_days < 1:
        problems.append("'status.heartbeat_interval_s' must be >= 0 and 'status.usage_window_days' >= 1")
    st = cfg.status
    if bool(st.tls_cert_file) != bool(st.tls_key_file):
        problems.append("'status.tls_cert_file' and 'status.tls_key_file' go together: set both or neither")
    if st.tls_client_ca_file and not st.tls_cert_file:
        problems.append("'status.tls_client_ca_file' needs 'status.tls_cert_file' and 'status.tls_key_file' (HTTPS)")
    if not 0 < cfg.sim.timing_scale <= 10:
        problems.append(f"'sim.timing_scale' must be above 0 and at most 10, got {cfg.sim.timing_scale}")
    if cfg.accessibility.headset_jack not in ("alsa", "none"):
        problems.append(f"'accessibility.headset_jack': expected alsa or none, got {cfg.accessibility.headset_jack!r}")
    if cfg.sim.mode == "off" and not cfg.central.url:
        problems.append("'central.url' is required outside simulation")
    if not 0 < cfg.documents.tte_check_timeout_s <= 60:
        problems.append("'documents.tte_check_timeout_s' must be between 0 and 60 s")
    if not 0 < cfg.documents.tte_worker_idle_s <= 86400:
        problems.append("'documents.tte_worker_idle_s' must be above 0 and at most a day")


def _check_location(cfg: Config, problems: list[str]) -> None:
    """Coordinates come as a pair within range; opening hours per weekday, each range a valid day's time."""
    k = cfg.kiosk
    if (k.latitude is None) != (k.longitude is None):
        problems.append("'kiosk.latitude' and 'kiosk.longitude' are set together (or neither)")
    elif k.latitude is not None and k.longitude is not None and not (-90 <= k.latitude <= 90
                                                                    and -180 <= k.longitude <= 180):
        problems.append(f"'kiosk.latitude'/'kiosk.longitude': ({k.latitude}, {k.longitude}) is not a place on Earth")
    if not isinstance(k.opening_hours, dict):
        problems.append("'kiosk.opening_hours': expected a table of weekdays, e.g. mon = \"08:00-16:00\"")
        return
    try:
        OpeningHours.parse(k.opening_hours)
    except ValueError as exc:
        problems.extend(str(exc).splitlines())


# the real transports of each device; ``sim`` is the in-process simulator, for simulation only
REAL_TRANSPORTS = {
    "card_reader": ("pcsc",),
    "camera": ("opencv",),
    "card_printer": ("cups",),
    "document_printer": ("cups",),
    "receipt_printer": ("serial", "network", "usb"),
}
PROFILE_KIND = {"card_printer": "card", "document_printer": "document", "receipt_printer": "receipt"}


def _check_devices(cfg: Config, problems: list[str]) -> None:
    """Outside simulation every enabled device names a real transport: a simulator never stands in for one."""
    for name, dev in cfg.device_configs().items():
        real = REAL_TRANSPORTS[name]
        key = f"'devices.{name}.transport'"
        if dev.transport not in (*real, "sim", ""):
            problems.append(f"{key}: expected one of {', '.join(real)}, got {dev.transport!r}")
        elif cfg.sim.mode == "off" and dev.enabled and dev.transport not in real:
            what = "'sim' is the simulator, for --sim only" if dev.transport == "sim" else "none is set"
            problems.append(f"{key}: a real transport ({' or '.join(real)}) is required outside simulation; {what} "
                            f"(or set 'devices.{name}.enabled = false')")
        if name in PROFILE_KIND and dev.enabled:
            _check_profile(name, dev, problems)
        if name in ("card_printer", "document_printer") and dev.enabled and not dev.queue and cfg.sim.mode != "system":
            problems.append(f"'devices.{name}.queue': the CUPS queue name is required")


def _check_profile(name: str, dev: DeviceSection, problems: list[str]) -> None:
    if not dev.profile:
        problems.append(f"'devices.{name}.profile': a printer profile is required (printer_profiles/*.toml)")
        return
    try:
        profile = printer_profiles.load(dev.profile)
    except printer_profiles.ProfileError as exc:
        problems.append(f"'devices.{name}.profile': {exc}")
        return
    if profile.kind != PROFILE_KIND[name]:
        problems.append(f"'devices.{name}.profile': {dev.profile!r} is a {profile.kind} printer, "
                        f"expected a {PROFILE_KIND[name]} printer")


def check_secrets(cfg: Config) -> None:
    """Secret files must be readable and the SAM key hex; raises ``ConfigError`` (never repeating a secret).

    Called by what starts a kiosk (``run``, ``doctor``), not by every load: ``adm-kiosk token``
    and ``technician`` need only the journal, and may run where the secrets are not readable.
    """
    problems: list[str] = []
    values = {}
    for dotted, value, file in (("central.kiosk_key", cfg.central.kiosk_key, cfg.central.kiosk_key_file),
                                ("devices.card_reader.sam_key", cfg.devices.card_reader.sam_key,
                                 cfg.devices.card_reader.sam_key_file)):
        try:
            values[dotted] = secret(value, file)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"'{dotted}_file': cannot read {file!r}: {getattr(exc, 'strerror', None) or exc}")
    try:
        bytes.fromhex(values.get("devices.card_reader.sam_key", ""))
    except ValueError:
        problems.append("'devices.card_reader.sam_key': expected the SAM key as hex digits (value not shown)")
    try:
        status_tls_context(cfg.status)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)


def status_tls_context(st: StatusSection) -> ssl.SSLContext | None:
    """The status listener's TLS context (TLS 1.2 at least), None when TLS is off; ``ConfigError`` when a file
    is missing or unreadable, not PEM, or the key does not belong to the certificate."""
    if not st.tls_cert_file:
        return None
    problems = [f"'status.{name}': no such file {path!r}" for name, path in (
        ("tls_cert_file", st.tls_cert_file), ("tls_key_file", st.tls_key_file),
        ("tls_client_ca_file", st.tls_client_ca_file)) if path and not Path(path).is_file()]
    if problems:
        raise ConfigError(problems)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(st.tls_cert_file, st.tls_key_file, password=lambda: b"")
    except ssl.SSLError as exc:
        why = ("the key does not belong to the certificate" if "KEY_VALUES_MISMATCH" in str(exc)
               else f"not a PEM certificate and its unencrypted private key ({exc.reason or exc})")
        raise ConfigError([f"'status.tls_cert_file' / 'status.tls_key_file': {why}"]) from exc
    except OSError as exc:
        raise ConfigError([f"'status.tls_cert_file' / 'status.tls_key_file': cannot read: {exc.strerror or exc}"]) from exc
    if st.tls_client_ca_file:
        try:
            ctx.load_verify_locations(cafile=st.tls_client_ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError([f"'status.tls_client_ca_file': not a PEM CA certificate "
                               f"({getattr(exc, 'reason', None) or exc})"]) from exc
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def secret(value: str, file: str) -> str:
    """A secret from its file when one is named (systemd credentials, a 0600 file), else the value."""
    if file:
        return Path(file).read_text().strip()
    return value
