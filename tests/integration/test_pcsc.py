"""The production e-KTP driver through the real pcscd, with the virtual card on vpcd.

One pcscd for the module (only one can run per machine); each test leaves the card
inserted with no faults. Skips with the reason when pcscd/vpcd/root are missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import DeviceState
from drivers.card_reader import CardReader, CardRemoved, CardState, CardUnreadable, PyscardSystem, SamRejected
from drivers.passive_auth import PassiveAuthFailed, TrustAnchors
from hardware_sim import citizens
from hardware_sim.pcscd import VirtualReaderRig, unavailable
from kiosk.supervise import SupervisedLoop
from tests.conftest import REAL_DEVICES_TOML

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
ROOT = Path(__file__).resolve().parents[2]
KEY = os.urandom(16)
NIKS = [ident.nik for ident, _ in citizens.DEMO]
_reason = unavailable()
if _reason:
    pytest.skip(f"real PC/SC unavailable: {_reason}", allow_module_level=True)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualReaderRig]:
    r = VirtualReaderRig(tmp_path_factory.mktemp("pcsc"), KEY, insert=NIKS[0]).start()
    try:
        yield r
    finally:
        r.stop()


def anchors(rig: VirtualReaderRig) -> TrustAnchors:
    """The CSCA the card process signs its cards under (made in the rig's work dir on its first start)."""
    return TrustAnchors.from_pem_file(rig.work / "chip-pki" / "csca.pem")


@pytest.fixture
def reader(rig: VirtualReaderRig) -> Iterator[CardReader]:
    """A driver with the first citizen's card on the reader and no faults."""
    assert rig.control is not None
    rig.control.clear_faults()
    r = CardReader("card_reader", PyscardSystem(), KEY, rig.reader, anchors=anchors(rig))
    if rig.control.status()["card"] != NIKS[0]:
        switch_card(rig, r, NIKS[0])
    assert r.wait_for_card(10), rig.pcscd.log_tail()
    yield r
    rig.control.clear_faults()


def switch_card(rig: VirtualReaderRig, r: CardReader, nik: str | None) -> None:
    """Pull, wait until pcscd sees the reader empty, then insert ``nik`` and wait for it."""
    assert rig.control is not None
    rig.control.pull()
    assert r.wait_for_change(CardState.PRESENT, 5) is CardState.EMPTY
    if nik:
        rig.control.insert(nik)
        assert r.wait_for_card(5)


def test_reads_several_citizens_cards_extended_and_short(rig: VirtualReaderRig, reader: CardReader) -> None:
    for nik in NIKS:
        if nik != NIKS[0]:
            switch_card(rig, reader, nik)
        for extended, most in ((True, 8), (False, 120)):
            reader.extended = extended
            data = reader.read()
            assert data.identity["nik"] == nik
            assert 15_000 <= len(data.photo) <= 20_000 and data.photo[:2] == b"\xff\xd8"
            assert data.apdus <= most
    switch_card(rig, reader, NIKS[0])


def test_status_follows_the_card(rig: VirtualReaderRig, reader: CardReader) -> None:
    st = reader.status()
    assert (st.state, st.media) == (DeviceState.ONLINE, "present")
    switch_card(rig, reader, None)
    st = reader.status()
    assert (st.state, st.media) == (DeviceState.ONLINE, "")
    other = CardReader("x", PyscardSystem(), KEY, "No Such Reader", anchors=anchors(rig))
    assert other.status().state is DeviceState.NO_DEVICE
    assert rig.control is not None
    rig.control.insert(NIKS[0])
    assert reader.wait_for_card(5)


def test_card_pulled_mid_read(rig: VirtualReaderRig, reader: CardReader) -> None:
    assert rig.control is not None
    reader.extended = False
    rig.control.faults(pull_after_apdus=10)
    with pytest.raises(CardRemoved):
        reader.read()
    assert reader.wait_for_change(CardState.PRESENT, 5) is CardState.EMPTY
    rig.control.insert(NIKS[1])  # the citizen taps again (here: another card)
    assert reader.wait_for_card(5)
    assert reader.read().identity["nik"] == NIKS[1]


def test_slow_card(rig: VirtualReaderRig, reader: CardReader) -> None:
    assert rig.control is not None
    reader.extended = True
    rig.control.faults(slow_s=0.02)
    started = time.monotonic()
    assert reader.read().identity["nik"] == NIKS[0]
    assert time.monotonic() - started >= 0.14
    reader.read_timeout_s = 0.05
    with pytest.raises(CardUnreadable) as info:
        reader.read()
    assert info.value.code == "card-timeout"


@pytest.mark.parametrize(("switches", "error", "code"), [
    ({"wrong_sw": "6A82"}, CardUnreadable, "bad-status"),
    ({"corrupt_tlv": True}, CardUnreadable, "corrupt-file"),
    ({"tamper": True}, PassiveAuthFailed, "digest-mismatch"),
    ({"wrong_key": True}, SamRejected, "sam-rejected"),
])
def test_fault_switch(rig: VirtualReaderRig, reader: CardReader, switches: dict[str, object], error: type,
                      code: str) -> None:
    assert rig.control is not None
    rig.control.faults(**switches)
    with pytest.raises(error) as info:
        reader.read()
    assert info.value.code == code
    assert NIKS[0] not in str(info.value)
    rig.control.clear_faults()
    assert reader.read().identity["nik"] == NIKS[0]  # the same card reads once the fault is gone


def test_wrong_sam_key_in_the_reader(rig: VirtualReaderRig, reader: CardReader) -> None:
    with pytest.raises(SamRejected):
        CardReader("card_reader", PyscardSystem(), os.urandom(16), rig.reader, anchors=anchors(rig)).read()


def test_pcscd_restart_under_a_running_driver(rig: VirtualReaderRig, reader: CardReader) -> None:
    """The driver and its supervised watcher outlive pcscd: the context is re-established by itself."""
    system = reader.system
    assert isinstance(system, PyscardSystem)
    seen: list[CardState] = []
    last: list[CardState | None] = [CardState.PRESENT]

    def watch() -> None:
        state = reader.wait_for_change(last[0], 0.5)
        if state is not None:
            last[0] = state
            seen.append(state)

    watcher = SupervisedLoop("card-watcher", watch, 0.0)
    watcher.start()
    try:
        assert reader.read().identity["nik"] == NIKS[0]
        rig.pcscd.stop()
        st = reader.status()
        assert (st.state, st.code) == (DeviceState.HARDWARE_ERROR, "pcsc-unavailable")
        rig.pcscd.start()
        assert reader.wait_for_card(10), rig.pcscd.log_tail()
        data = reader.read()
        assert data.identity["nik"] == NIKS[0]
        assert system.reestablished >= 1
        deadline = time.monotonic() + 5
        while CardState.PRESENT not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watcher.alive and seen[-1] is CardState.PRESENT  # the watcher saw the card come back
    finally:
        watcher.stop()


def test_status_during_a_read_is_busy(rig: VirtualReaderRig, reader: CardReader) -> None:
    assert rig.control is not None
    rig.control.faults(slow_s=0.03)
    states: list[DeviceState] = []
    t = threading.Thread(target=reader.read)
    t.start()
    time.sleep(0.1)
    states.append(reader.status().state)
    t.join()
    assert states == [DeviceState.BUSY]


def test_read_card_cli_masks_the_nik(rig: VirtualReaderRig, reader: CardReader, tmp_path: Path) -> None:
    key_file = tmp_path / "sam.key"
    key_file.write_text(KEY.hex())
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[central]\nurl = "https://central.invalid"\n' + REAL_DEVICES_TOML.replace(
        'transport = "pcsc"\n', f'transport = "pcsc"\nreader = "ADM Virtual PCD 00 00"\nsam_key_file = "{key_file}"\n'
                                 f'csca_file = "{rig.work / "chip-pki" / "csca.pem"}"\n'))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADM_")}
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "read-card", "--config", str(cfg), "--json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=30)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["identity"]["nik"] == NIKS[0][:4] + "********" + NIKS[0][12:]
    assert NIKS[0] not in out.stdout + out.stderr
    assert report["apdus"] <= 8
