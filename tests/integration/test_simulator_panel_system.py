"""``--sim=system`` end to end: a kiosk on real pcscd, cupsd, a pty and an MJPEG camera, driven through
the simulator panel as a person would (insert an e-KTP, show a QR code, jam a printer), then a citizen prints."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hardware_sim.cupsd import missing as cups_missing
from hardware_sim.panel import SimulatorPanel
from hardware_sim.pcscd import unavailable
from kiosk.cli.simulation import SimulatedKiosk

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
_reason = unavailable() or ", ".join(cups_missing())
if _reason:
    pytest.skip(f"system peers unavailable: {_reason}", allow_module_level=True)


def until(check: Callable[[], bool], timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_panel_drives_the_system_peers_and_a_citizen_prints(make_kiosk: Callable[..., SimulatedKiosk], tmp_path: Path) -> None:
    k = make_kiosk(tmp_path, **{"sim.mode": "system"})
    assert set(k.system_sim.peers) == {"pcsc", "cups", "escpos", "camera"}
    assert all(k.devices.configs[n].transport != "sim" for n in k.devices.by_name)
    panel = SimulatorPanel(k)
    assert panel.available and "card-jam" in panel.faults() and "reader-unplugged" not in panel.faults()

    # an e-KTP on the real reader, through pcscd
    masked = panel.insert_card(0)
    assert until(lambda: k.devices.get("card_reader").card_present())
    assert panel.card_on_reader() == masked
    assert k.devices.get("card_reader").read().identity["nik"].endswith(masked[-4:])
    panel.pull_card()
    assert until(lambda: not k.devices.get("card_reader").card_present())

    # a WhatsApp QR to the MJPEG camera identifies the citizen
    issued = k.issue_demo_pins()[1]
    panel.show_qr(k.central_server.sim.whatsapp_qr(issued))
    found = k.scanner.identify(wait_s=10)
    panel.hide_qr()
    assert found.status == "identified" and found.nik == issued.nik

    # a jam on the real (ippeveprinter) card printer is seen through cupsd, and cleared
    panel.inject("card-jam")
    assert until(lambda: k.monitor.fresh("card_printer").code == "media-jam")
    panel.fix("card_printer")
    assert until(lambda: k.monitor.fresh("card_printer").ready)

    # the receipt printer on the pty answers DLE EOT with paper out
    panel.inject("receipt-paper-out")
    assert k.monitor.fresh("receipt_printer").code == "media-empty"
    panel.fix("receipt_printer")
    assert k.monitor.fresh("receipt_printer").ready

    # and a citizen prints through all of them
    s = k.sessions.start(issued.nik, "qr")
    assert k.sessions.submit_pin(s.id, issued.pin).ok
    k.sessions.start_printing(s.id, [d.id for d in s.documents])
    k.sessions.wait_printed(s.id, 120)
    assert s.outcome is not None and not s.outcome.failed, s.progress
    assert s.receipt_error == ""
