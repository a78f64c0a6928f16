"""Passive authentication with a real PKI: every refusal of a card whose security object does not hold.

The cards are signed by hierarchies made for the run (hardware_sim/chip_pki.py); the reader
trusts only its own CSCA. Each refusal is seen as a citizen sees it (the message at the
reader) and as the technician and central see it (an audit row, in the events API).
"""

from __future__ import annotations

from typing import Any

import pytest

from drivers.card_reader import TAG_SECURITY, CardReader
from drivers.passive_auth import NOT_GENUINE, PassiveAuthFailed, TrustAnchors, verify_sod
from hardware_sim import citizens
from hardware_sim.chip_pki import ChipPki
from hardware_sim.ektp_card import _tlv, chip_image, demo_fingerprints, issued_card
from hardware_sim.pcsc_inprocess import SimPcsc
from kiosk.cli.simulation import SimulatedKiosk
from tests.screen import Screen
from ui import create_app

KEY = bytes(range(16))
CITIZEN = citizens.DEMO[0][0]
PKI = ChipPki.create()
ANCHORS = TrustAnchors.from_pem(PKI.csca_pem())


def read(card: Any, anchors: TrustAnchors = ANCHORS) -> Any:
    sim = SimPcsc()
    sim.slot.insert(card)
    return CardReader("card_reader", sim, KEY, anchors=anchors).read()


def card(pki: ChipPki = PKI) -> Any:
    return issued_card(CITIZEN, citizens.photo_jpeg(CITIZEN), citizens.signature_png(CITIZEN), KEY, pki)


def with_sod(c: Any, sod: bytes) -> Any:
    c.files[0x1D] = _tlv(TAG_SECURITY, sod)
    return c


def resigned_over(files: dict[int, bytes], pki: ChipPki) -> bytes:
    return pki.sign_sod({k: v for k, v in files.items() if k != 0x1D})


def test_a_genuine_card_passes_and_names_its_signer() -> None:
    c = card()
    assert read(c).identity["nik"] == CITIZEN.nik
    sod = c.files[0x1D][4:]  # 77 82 hh ll
    assert "DS 01" in verify_sod(sod, ANCHORS).signer


def _bad_signature(c: Any, pki: ChipPki) -> None:
    sod = bytearray(c.files[0x1D])
    sod[-3] ^= 0x55  # inside the ECDSA signature, the last field of the SignerInfo
    c.files[0x1D] = bytes(sod)


def _foreign_csca(c: Any, pki: ChipPki) -> None:
    with_sod(c, resigned_over(c.files, ChipPki.foreign()))


def _expired_ds(c: Any, pki: ChipPki) -> None:
    with_sod(c, resigned_over(c.files, pki.expired_signer()))


def _tampered_digest(c: Any, pki: ChipPki) -> None:
    """The photo swapped for another citizen's (signed for that card): this card's SOD lists the old digest."""
    other = citizens.DEMO[1][0]
    c.files[0x02] = chip_image(other, citizens.photo_jpeg(other), b"x", demo_fingerprints(other.nik), pki)[0x02]


@pytest.mark.parametrize(("forge", "code"), [(_bad_signature, "sod-signature-bad"), (_foreign_csca, "ds-untrusted"),
                                             (_expired_ds, "ds-expired"), (_tampered_digest, "digest-mismatch")])
def test_each_forgery_is_refused_with_its_code(forge: Any, code: str) -> None:
    c = card()
    forge(c, PKI)
    with pytest.raises(PassiveAuthFailed) as info:
        read(c)
    assert info.value.code == code and info.value.citizen_message == NOT_GENUINE
    assert CITIZEN.nik not in str(info.value)


def test_a_card_of_a_foreign_hierarchy_fails_even_with_the_issuer_key() -> None:
    """The chip answers the challenge (it holds K), but its DS is not under our CSCA."""
    with pytest.raises(PassiveAuthFailed) as info:
        read(card(ChipPki.foreign()))
    assert info.value.code == "ds-untrusted"


def test_garbage_in_the_security_object_is_malformed_not_a_crash() -> None:
    for junk in (b"", b"\x30\x03\x02\x01\x01", bytes(200)):
        with pytest.raises(PassiveAuthFailed) as info:
            verify_sod(junk, ANCHORS)
        assert info.value.code == "sod-malformed"


def test_a_reader_without_trust_anchors_says_so() -> None:
    sim = SimPcsc()
    reader = CardReader("card_reader", sim, KEY)
    assert reader.status().code == "csca-missing"


def test_the_hierarchy_is_made_once_outside_the_repository(tmp_path: Any) -> None:
    first = ChipPki.load_or_create(tmp_path / "pki")
    again = ChipPki.load_or_create(tmp_path / "pki")
    assert first.csca == again.csca and first.ds == again.ds
    for key in ("ds.key", "csca.key"):
        assert (tmp_path / "pki" / key).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("forge", [_bad_signature, _foreign_csca, _expired_ds, _tampered_digest])
def test_a_tap_of_a_forged_card_is_refused_on_screen_and_audited(kiosk: SimulatedKiosk, forge: Any) -> None:
    c = issued_card(CITIZEN, citizens.photo_jpeg(CITIZEN), citizens.signature_png(CITIZEN), kiosk.sim.sam_key,
                    kiosk.sim.pki)
    forge(c, kiosk.sim.pki)
    kiosk.sim.pcsc.slot.insert(c)
    screen = Screen(create_app(kiosk).test_client())
    screen.get("/")
    r = screen.post_json("/card/read")
    assert r.status_code == 409
    assert "KTP-el" in r.json["error"]  # the citizen is told the card is not genuine, in their language
    events = kiosk.events.page(0, 100, "device")["events"]
    assert [e["detail"]["code"] for e in events if e["event"] == "card-read-failed"] == [r.json["code"]]
    assert kiosk.sessions.active() == []  # nobody identified
