"""The transport registry: which code builds a device of a class over a named transport.

``(device class, transport) -> factory``. The core's builder (``kiosk.devices.transports``)
registers the real transports (pcsc, cups, serial/network/usb, opencv); the composition
root asks ``hardware_sim`` to register its ``sim`` ones, as OctoPrint's virtual printer
plugs into its serial layer. The core never names a simulator: a transport nobody
registered is a clear error at build time, not a silent fallback to a simulation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drivers.base import AdmError, Device
from kiosk.config import DeviceSection
from printer_profiles import PrinterProfile


@dataclass(frozen=True)
class DeviceSpec:
    """What a factory gets: the device's name and config, its printer profile, the reader's SAM key."""

    name: str
    config: DeviceSection
    profile: PrinterProfile | None
    sam_key: bytes


Factory = Callable[[DeviceSpec], Device]


class UnknownTransport(AdmError, LookupError):
    code = "unknown-transport"
    def __init__(self, device: str, transport: str, known: list[str]) -> None:
        super().__init__(f"devices.{device}: no transport {transport!r} is registered "
                         f"(registered: {', '.join(known) or 'none'})")
        self.device = device
        self.transport = transport


class TransportRegistry:
    def __init__(self) -> None:
        self._factories: dict[tuple[str, str], Factory] = {}

    def register(self, device: str, transport: str, factory: Factory) -> None:
        """Registers (or replaces) the factory for one device class over one transport."""
        self._factories[(device, transport)] = factory

    def transports(self, device: str) -> list[str]:
        return sorted(t for d, t in self._factories if d == device)

    def build(self, spec: DeviceSpec) -> Device:
        transport = spec.config.transport
        factory = self._factories.get((spec.name, transport))
        if factory is None:
            raise UnknownTransport(spec.name, transport, self.transports(spec.name))
        return factory(spec)
