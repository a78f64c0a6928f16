"""Builds the kiosk's drivers from config and printer profiles through a transport registry.

``real_transports()`` is the registry of the real ones, each importing its hardware
library only when a device uses it (an image without pyscard still starts a kiosk
without a reader). Simulated transports are added by the composition root, never here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import printer_profiles
from drivers.base import Device, DeviceError
from kiosk.config import REAL_TRANSPORTS, Config, DeviceSection, secret
from kiosk.devices.registry import DeviceSpec, TransportRegistry

log = logging.getLogger(__name__)
DEVICE_NAMES = ("card_reader", "camera", "card_printer", "document_printer", "receipt_printer")


@dataclass
class Devices:
    by_name: dict[str, Device] = field(default_factory=dict)
    profiles: dict[str, printer_profiles.PrinterProfile] = field(default_factory=dict)
    configs: dict[str, DeviceSection] = field(default_factory=dict)
    encoder: Any = None  # the card printer's encoder station (drivers/card_encoder.py), when it has one

    def get(self, name: str) -> Any:
        return self.by_name.get(name)

    def close(self) -> None:
        """Closes each driver that holds a connection open (the receipt printer's serial port), now: python-escpos
        would close it in ``__del__``, at a garbage collection, when the port may be gone (and it logs there)."""
        for name, device in self.by_name.items():
            close = getattr(device, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception:  # noqa: BLE001 - a device that cannot close must not stop the others
                log.warning("device %s did not close cleanly", name, exc_info=True)


def build_devices(cfg: Config, registry: TransportRegistry, sam_key: bytes) -> Devices:
    """One driver per enabled device, over the transport its config names."""
    devices = Devices(configs=cfg.device_configs())
    for name, dc in devices.configs.items():
        if dc.profile:
            devices.profiles[name] = printer_profiles.load(dc.profile)
        if dc.enabled:
            devices.by_name[name] = registry.build(DeviceSpec(name, dc, devices.profiles.get(name), sam_key))
    printer = cfg.devices.card_printer
    if printer.enabled and printer.encoder:  # a PC/SC reader inside the card printer, trusting the reader's CSCAs
        encoder = replace(printer, reader=printer.encoder, csca_file=cfg.devices.card_reader.csca_file,
                          transport="sim" if printer.transport == "sim" else "pcsc")
        devices.encoder = registry.build(DeviceSpec("card_encoder", encoder, None, sam_key))
    return devices


def _card_reader(spec: DeviceSpec) -> Device:
    from drivers.card_reader import CardReader, PyscardSystem
    return CardReader(spec.name, PyscardSystem(), spec.sam_key, spec.config.reader, anchors=trust_anchors(spec.config))


def trust_anchors(dc: DeviceSection) -> Any:
    """The reader's CSCA trust anchors, or None when none are configured (the reader then says ``csca-missing``)."""
    if not dc.csca_file:
        return None
    from drivers.passive_auth import TrustAnchors
    try:
        return TrustAnchors.from_pem_file(dc.csca_file)
    except DeviceError as exc:  # the reader's status then says csca-missing; the log says why
        log.error("%s", exc)
        return None


def _card_encoder(spec: DeviceSpec) -> Device:
    from drivers.card_encoder import CardEncoder
    from drivers.card_reader import PyscardSystem
    return CardEncoder(spec.name, PyscardSystem(), spec.sam_key, spec.config.reader, trust_anchors(spec.config))


def _cups_printer(spec: DeviceSpec) -> Device:
    from drivers.printers import CupsPrinter, pycups_connect
    return CupsPrinter(spec.name, spec.config.queue, pycups_connect(spec.config.port), _profile(spec).cups_options)


def _receipt_printer(spec: DeviceSpec) -> Device:
    from drivers.receipt import ReceiptPrinter, connection_printer
    dc, esc = spec.config, _profile(spec).escpos
    printer = connection_printer(dc.transport, dc.port, dc.baudrate, dc.usb_vendor, dc.usb_product,
                                 str(esc.get("capabilities", "default")))
    return ReceiptPrinter(spec.name, printer, int(esc.get("columns", 48)), bool(esc.get("near_end_sensor", True)))


def _camera(spec: DeviceSpec) -> Device:
    from drivers.camera import Camera, opencv_source
    from drivers.decoders import make_decoder
    return Camera(spec.name, opencv_source(spec.config.source or "0"), make_decoder(spec.config.decoder))


def _profile(spec: DeviceSpec) -> printer_profiles.PrinterProfile:
    """Config validation makes every printer name a profile; this guards a registry used without it."""
    if spec.profile is None:
        raise ValueError(f"devices.{spec.name}: a printer needs a profile")
    return spec.profile


def real_transports() -> TransportRegistry:
    registry = TransportRegistry()
    registry.register("card_reader", "pcsc", _card_reader)
    registry.register("card_encoder", "pcsc", _card_encoder)
    registry.register("card_printer", "cups", _cups_printer)
    registry.register("document_printer", "cups", _cups_printer)
    for transport in REAL_TRANSPORTS["receipt_printer"]:
        registry.register("receipt_printer", transport, _receipt_printer)
    registry.register("camera", "opencv", _camera)
    return registry


def load_sam_key(cfg: Config) -> bytes:
    """The card reader's SAM key (config validation has checked it is hex and its file readable)."""
    dc = cfg.devices.card_reader
    value = secret(dc.sam_key, dc.sam_key_file)
    return bytes.fromhex(value) if value else b""
