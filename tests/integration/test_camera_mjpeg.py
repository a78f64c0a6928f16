"""The production camera driver on an HTTP MJPEG stream through cv2.VideoCapture (FFmpeg):
frame-to-result latency, and reconnection when the stream goes away and comes back."""

from __future__ import annotations

import statistics
import time

import pytest

from drivers.base import DeviceState
from drivers.camera import Camera, opencv_source
from hardware_sim.camera import MjpegServer, SimFrameSource

pytestmark = pytest.mark.integration
PAYLOADS = [f"ADMWA1|R{i:012X}|abcdefghijklmnopqrstuv{i:02d}" for i in range(5)]


def test_http_stream_is_multipart_with_content_length() -> None:
    import httpx
    server = MjpegServer(SimFrameSource(), fps=10).start()
    try:
        with httpx.stream("GET", server.url, timeout=5) as resp:
            assert resp.headers["content-type"].startswith("multipart/x-mixed-replace; boundary=")
            head = b""
            for chunk in resp.iter_bytes():
                head += chunk
                if head.count(b"Content-Length") >= 2:
                    break
        part = head.split(b"\r\n\r\n", 1)[0].decode()
        assert "Content-Type: image/jpeg" in part and "Content-Length: " in part
    finally:
        server.stop()


def test_frame_to_result_latency_through_mjpeg() -> None:
    frames = SimFrameSource()
    server = MjpegServer(frames, fps=30).start()
    cam = Camera("camera", opencv_source(server.url))
    try:
        assert cam.status().state is DeviceState.ONLINE
        latencies = []
        for payload in PAYLOADS:
            frames.clear()
            time.sleep(0.15)
            frames.show(payload)
            shown = frames.shown_at
            after = 0
            while True:
                scan = cam.scan(after=after, timeout_s=1.0)
                after = scan.frame_id
                if payload in [c.text for c in scan.codes]:
                    latencies.append(time.monotonic() - shown)
                    break
                assert time.monotonic() - shown < 3, "the code never came through the stream"
        median = statistics.median(latencies)
        print(f"frame-to-result latency: median {median * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
        assert median < 0.5, latencies  # "well under a second"
    finally:
        cam.stop()
        server.stop()


def test_stream_that_goes_away_reconnects() -> None:
    frames = SimFrameSource()
    server = MjpegServer(frames, fps=30).start()
    port = int(server.url.split(":")[2].split("/")[0])
    cam = Camera("camera", opencv_source(server.url), stale_after_s=0.5, max_backoff_s=1.0)
    try:
        assert cam.status().state is DeviceState.ONLINE
        server.stop()
        end = time.monotonic() + 8
        while cam.status().state is DeviceState.ONLINE:
            assert time.monotonic() < end
            time.sleep(0.1)
        assert cam.status().code == "camera-lost"
        server = MjpegServer(frames, port=port, fps=30).start()
        frames.show(PAYLOADS[0])
        end = time.monotonic() + 10
        while PAYLOADS[0] not in [c.text for c in cam.scan(timeout_s=0.5).codes]:
            assert time.monotonic() < end, "did not reconnect"
        assert cam.status().state is DeviceState.ONLINE
    finally:
        cam.stop()
        server.stop()
