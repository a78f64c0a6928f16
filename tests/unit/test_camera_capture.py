"""The capture thread: newest frame only, reconnect with backoff, status in the device vocabulary."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from drivers.base import DeviceState, MissingLibraryError
from drivers.camera import Camera
from hardware_sim.camera import SimFrameSource


def wait_for(cond: Any, timeout_s: float = 5.0) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


class CountingSource:
    """Frames numbered 1, 2, 3...: each frame's pixel value says which it was."""

    def __init__(self) -> None:
        self.n = 0
        self.opened = True

    def read(self) -> tuple[bool, Any]:
        time.sleep(0.004)  # a 250 fps camera
        if not self.opened:
            return False, None
        self.n += 1
        return True, np.full((4, 4), self.n % 256, np.uint8)

    def isOpened(self) -> bool:  # noqa: N802
        return self.opened

    def release(self) -> None:
        pass


def test_a_slow_reader_gets_the_newest_frame_not_a_backlog() -> None:
    src = CountingSource()
    cam = Camera("camera", lambda: src)
    try:
        fid, _, first = cam.latest(timeout_s=2)
        time.sleep(0.3)  # a slow decode: ~60 frames arrive meanwhile
        fid2, at, frame = cam.latest(after=fid, timeout_s=2)
        assert fid2 - fid > 20
        assert int(frame[0, 0]) == src.n % 256 or abs(int(frame[0, 0]) - src.n % 256) <= 2
        assert time.monotonic() - at < 0.05
    finally:
        cam.stop()


def test_camera_that_goes_away_is_reported_and_reconnected() -> None:
    src = SimFrameSource(size=(320, 240))
    opens = []

    def open_source() -> SimFrameSource:
        opens.append(time.monotonic())
        return src

    cam = Camera("camera", open_source, stale_after_s=0.3, max_backoff_s=0.5)
    try:
        assert cam.status().state is DeviceState.ONLINE
        src.unplug()
        wait_for(lambda: cam.status().state is DeviceState.OFFLINE)
        assert cam.status().code == "camera-lost"
        time.sleep(1.2)
        assert 2 <= len(opens) <= 6, "reopened with backoff, not in a tight loop"
        src.plug()
        wait_for(lambda: cam.status().state is DeviceState.ONLINE)
        wait_for(lambda: cam.failures == 0)  # the supervisor recorded the recovery
    finally:
        cam.stop()


def test_a_camera_that_never_opens_is_no_device() -> None:
    src = SimFrameSource(size=(320, 240))
    src.unplug()
    cam = Camera("camera", lambda: src)
    try:
        st = cam.status()
        assert (st.state, st.code) == (DeviceState.NO_DEVICE, "no-camera")
        assert cam.scan().frame_id == 0
    finally:
        cam.stop()


def test_missing_opencv_names_the_package() -> None:
    def open_source() -> Any:
        raise MissingLibraryError("cv2", "opencv-python-headless")

    cam = Camera("camera", open_source)
    try:
        st = cam.status()
        assert st.state is DeviceState.HARDWARE_ERROR and st.code == "library-missing"
        assert "opencv-python-headless" in st.detail
    finally:
        cam.stop()


def test_idle_camera_releases_and_wakes_on_use() -> None:
    src = CountingSource()
    cam = Camera("camera", lambda: src, idle_stop_s=0.2, burst_s=0.1)
    try:
        cam.latest(timeout_s=1)
        time.sleep(0.6)
        n = src.n
        time.sleep(0.3)
        assert src.n == n, "no frames are grabbed while nobody looks"
        assert cam.status().state is DeviceState.ONLINE
        assert src.n > n
    finally:
        cam.stop()


def test_file_source_loops(tmp_path) -> None:
    import cv2

    from drivers.camera import is_file_source, opencv_source
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), np.full((48, 64, 3), 60 * i, np.uint8))
    pattern = str(tmp_path / "%04d.png")
    assert is_file_source(pattern) and not is_file_source("0") and not is_file_source("http://x/stream.mjpg")
    cam = Camera("camera", opencv_source(pattern, file_fps=100))
    try:
        wait_for(lambda: cam.latest()[0] > 10)
        assert cam.status().state is DeviceState.ONLINE
    finally:
        cam.stop()
