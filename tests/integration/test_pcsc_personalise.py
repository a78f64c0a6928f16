"""Personalisation of a blank KTP-el chip through the real pcscd, at vpcd's second reader slot.

The card printer's encoder station is vpcd's reader ``00 01``: the virtual card process
holds a hopper of blank chips there (hardware_sim/blanks.py). The production encoder driver
writes central's chip image, locks it and verifies the read-back; the card then leaves the
station for the print head, the next blank comes in, and the printed card read on the
kiosk's own reader (``00 00``) passes chip and passive authentication. Run under
``flock /tmp/adm-pcscd.lock``: one pcscd per machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from drivers.card_encoder import CardEncoder, EncodeFailed
from drivers.card_reader import CardReader, PyscardSystem
from drivers.passive_auth import TrustAnchors
from hardware_sim import citizens
from hardware_sim.chip_pki import ChipPki
from hardware_sim.ektp_card import chip_image, demo_fingerprints
from hardware_sim.pcscd import VirtualReaderRig, unavailable
from hardware_sim.vpcd import realistic_photo

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
KEY = os.urandom(16)
CITIZEN = citizens.DEMO[1][0]
_reason = unavailable()
if _reason:
    pytest.skip(f"real PC/SC unavailable: {_reason}", allow_module_level=True)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualReaderRig]:
    r = VirtualReaderRig(tmp_path_factory.mktemp("pcsc"), KEY).start()
    try:
        yield r
    finally:
        r.stop()


def station(rig: VirtualReaderRig) -> dict:
    assert rig.control is not None
    return rig.control.encoder("status")


def wait_for_blank(rig: VirtualReaderRig, encoder: CardEncoder, serial: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if encoder.blank_serial() == serial:
                return
        except Exception:  # noqa: BLE001 - the next blank is still coming in (vpcd reconnects)
            pass
        time.sleep(0.1)
    raise AssertionError(f"blank {serial} never reached the encoder: {station(rig)}; {rig.pcscd.log_tail()}")


def test_a_blank_is_personalised_through_pcscd_and_reads_as_genuine(rig: VirtualReaderRig) -> None:
    pki = ChipPki.load_or_create(rig.work / "chip-pki")
    anchors = TrustAnchors.from_pem(pki.csca_pem())
    system = PyscardSystem()
    encoder = CardEncoder("card_encoder", system, KEY, rig.encoder_reader, anchors)
    wait_for_blank(rig, encoder, "KTP-SIM-000001")
    files = chip_image(CITIZEN, realistic_photo(CITIZEN), citizens.signature_png(CITIZEN),
                       demo_fingerprints(CITIZEN.nik), pki)
    done = encoder.personalise(files, "KTP-SIM-000001")
    assert done.serial == "KTP-SIM-000001" and done.write_apdus <= 12
    wait_for_blank(rig, encoder, "KTP-SIM-000002")  # verified, the card moved on to the print head
    assert station(rig)["hopper"] == 79
    assert rig.control is not None
    rig.control.tap_printed()  # the card that came out, put on the kiosk's reader
    reader = CardReader("card_reader", system, KEY, rig.reader, anchors=anchors)
    assert reader.wait_for_card(10), rig.pcscd.log_tail()
    data = reader.read()
    assert data.identity["nik"] == CITIZEN.nik and data.identity["name"] == CITIZEN.name


def test_a_write_failing_halfway_is_refused_and_the_blank_stays_at_the_station(rig: VirtualReaderRig) -> None:
    pki = ChipPki.load_or_create(rig.work / "chip-pki")
    encoder = CardEncoder("card_encoder", PyscardSystem(), KEY, rig.encoder_reader, TrustAnchors.from_pem(pki.csca_pem()))
    serial = station(rig)["serial"]
    wait_for_blank(rig, encoder, serial)
    assert rig.control is not None
    rig.control.encoder("faults", write_fails_after=2)
    files = chip_image(CITIZEN, citizens.photo_jpeg(CITIZEN), citizens.signature_png(CITIZEN),
                       demo_fingerprints(CITIZEN.nik), pki)
    with pytest.raises(EncodeFailed) as info:
        encoder.personalise(files, serial)
    assert info.value.code == "encode-failed" and "6581" in info.value.detail
    state = station(rig)
    assert state["serial"] == serial and not state["locked"]  # never locked: it goes to the reject bin, not out
    assert encoder.reject()  # the station's eject pseudo-APDU through pcscd
    assert station(rig)["rejected"][-1] == serial
    assert station(rig)["serial"] != serial
