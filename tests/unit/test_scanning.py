"""The citizen flows by camera in the default simulation: WhatsApp QR -> PIN -> documents, and
"cek keaslian dokumen" (valid / superseded / unknown)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from kiosk.citizen import scanning
from kiosk.citizen.session import Step
from kiosk.services import Kiosk


def poll(fn: Callable[[], Any], want: set[str], message: str | None = None, timeout_s: float = 5.0) -> Any:
    """Polls like the UI does until the result's status is one of ``want`` (with ``message``, if given):
    the frames before the new code reached the camera still answer for the previous one."""
    end = time.monotonic() + timeout_s
    while True:
        result = fn()
        if (result.status in want and message in (None, result.message)) or time.monotonic() > end:
            return result


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    k = make_kiosk()
    k.issue_demo_pins()
    return k


def test_identify_by_whatsapp_qr_then_pin_then_documents(kiosk: Kiosk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    issued = kiosk.demo_pins[0]
    sim = kiosk.central_server.sim
    assert kiosk.scanner.identify().status == "none"
    kiosk.sim.show_qr(sim.whatsapp_qr(issued))
    ident = poll(lambda: kiosk.scanner.identify(wait_s=0.5), {"identified"})
    assert ident.status == "identified" and ident.nik == issued.nik
    session = kiosk.sessions.start(ident.nik, "qr")
    assert session.step is Step.IDENTIFIED  # the QR identifies; the PIN still decides
    assert kiosk.sessions.submit_pin(session.id, issued.pin).ok
    assert {d.kind for d in kiosk.sessions.get(session.id).documents} == set(issued.documents)
    assert issued.nik not in caplog.text and issued.pin not in caplog.text and issued.qr_token not in caplog.text


def test_a_photo_of_the_qr_without_the_pin_prints_nothing(kiosk: Kiosk) -> None:
    issued = kiosk.demo_pins[0]
    kiosk.sim.show_qr(kiosk.central_server.sim.whatsapp_qr(issued))
    ident = poll(lambda: kiosk.scanner.identify(wait_s=0.5), {"identified"})
    session = kiosk.sessions.start(ident.nik, "qr")
    wrong = "000000" if issued.pin != "000000" else "111111"
    result = kiosk.sessions.submit_pin(session.id, wrong)
    assert not result.ok and kiosk.sessions.get(session.id).documents == []


def test_stale_or_forged_whatsapp_qr_is_refused(kiosk: Kiosk) -> None:
    issued = kiosk.demo_pins[0]
    sim = kiosk.central_server.sim
    forged = sim.whatsapp_qr(issued)[:-4] + ("AAAA" if not sim.whatsapp_qr(issued).endswith("AAAA") else "BBBB")
    kiosk.sim.show_qr(forged)
    assert poll(lambda: kiosk.scanner.identify(wait_s=0.5), {"invalid"}, scanning.MSG_QR_UNKNOWN).status == "invalid"
    newer = sim.issue_pin(issued.nik, issued.documents)  # the old request is superseded
    kiosk.sim.show_qr(sim.whatsapp_qr(issued))
    assert poll(lambda: kiosk.scanner.identify(wait_s=0.5), {"invalid"}, scanning.MSG_QR_UNKNOWN).status == "invalid"
    kiosk.sim.show_qr(sim.whatsapp_qr(newer))
    assert poll(lambda: kiosk.scanner.identify(wait_s=0.5), {"identified"}).nik == issued.nik


def test_foreign_codes_say_what_to_show_instead(kiosk: Kiosk) -> None:
    sim = kiosk.central_server.sim
    issued = next(p for p in kiosk.demo_pins if sim.document_qrs(p.request_id))
    kiosk.sim.show_qr("https://example.com/not-ours")
    assert poll(lambda: kiosk.scanner.identify(wait_s=0.5), {"invalid"}, scanning.MSG_NOT_OURS).status == "invalid"
    kiosk.sim.show_qr(next(iter(sim.document_qrs(issued.request_id).values())))
    assert poll(lambda: kiosk.scanner.identify(wait_s=0.5), {"invalid"}, scanning.MSG_USE_WHATSAPP_QR).status == "invalid"
    kiosk.sim.show_qr(sim.whatsapp_qr(issued))
    assert poll(lambda: kiosk.scanner.check_document(wait_s=0.5), {"invalid"}, scanning.MSG_USE_DOCUMENT_QR).status == "invalid"


def test_document_authenticity_valid_superseded_unknown(kiosk: Kiosk) -> None:
    sim = kiosk.central_server.sim
    issued = next(p for p in kiosk.demo_pins if sim.document_qrs(p.request_id))
    kind, payload = next(iter(sim.document_qrs(issued.request_id).items()))
    kiosk.sim.camera.show(payload, surface="document", module_px=4.0, tilt=0.08)
    check = poll(lambda: kiosk.scanner.check_document(wait_s=0.5), {"valid"})
    assert (check.status, check.kind) == ("valid", kind)
    assert check.number and check.issue_date and check.office
    assert issued.nik not in repr(check)  # no more personal data than the document shows
    sim.supersede_document(payload.split("|")[3])
    kiosk.sim.camera.show(payload, surface="document", module_px=4.5)
    assert poll(lambda: kiosk.scanner.check_document(wait_s=0.5), {"superseded"}).status == "superseded"
    forged = payload[:-1] + ("0" if payload[-1] != "0" else "1")  # well-formed, wrong tag
    kiosk.sim.camera.show(forged, surface="document", module_px=4.5)
    check = poll(lambda: kiosk.scanner.check_document(wait_s=0.5), {"unknown"})
    assert check.status == "unknown" and check.number == ""


def test_central_down_is_unavailable_not_invalid(kiosk: Kiosk) -> None:
    issued = kiosk.demo_pins[0]
    kiosk.sim.show_qr(kiosk.central_server.sim.whatsapp_qr(issued))
    kiosk.central_server.sim.faults.down = True
    kiosk.central.retries = 0
    result = poll(lambda: kiosk.scanner.identify(wait_s=0.5), {"unavailable"})
    assert result.message == scanning.MSG_OFFLINE


def test_no_camera_is_unavailable(make_kiosk: Callable[..., Kiosk]) -> None:
    k = make_kiosk(**{"devices.camera.enabled": False})
    assert k.scanner.identify().status == "unavailable"
    assert k.scanner.check_document().message == scanning.MSG_NO_CAMERA


class FakeCamera:
    """Frames scripted as lists of codes: what the camera saw, frame by frame."""

    def __init__(self, frames: list[list[Any]]) -> None:
        self.frames = frames
        self.i = 0

    def scan(self, after: int = 0, timeout_s: float = 0.0) -> Any:
        from drivers.camera import Scan
        if self.i < len(self.frames):
            self.i += 1
        return Scan(self.i, time.monotonic(), self.frames[self.i - 1])


def test_a_1d_code_needs_two_matching_reads(kiosk: Kiosk) -> None:
    from drivers.decoders import Barcode
    sim = kiosk.central_server.sim
    payload = sim.whatsapp_qr(kiosk.demo_pins[0])
    one = Barcode("Code128", payload)
    scanner = scanning.Scanner(FakeCamera([[one], [Barcode("Code128", payload[:-1] + "Z")], [one], [one]]),
                               kiosk.central)
    assert [scanner.identify().status for _ in range(4)] == ["none", "none", "none", "identified"]
