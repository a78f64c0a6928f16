"""Both decoder backends on generated camera frames: every scene kind, UTF-8, and empty frames.

What a citizen would notice: a code held to the camera is read, a frame without a code is
never "read", and a payload is never returned as different text than was encoded.
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.decoders import BACKENDS, make_decoder
from hardware_sim import scenes

# Small per-bucket samples keep this fast; bench/bench_barcode.py runs the full corpus.
CORPUS = scenes.corpus(per_bucket=4, seed=11)
FRAMES = [(bucket, spec, scenes.render(spec)) for bucket, spec in CORPUS]


@pytest.fixture(scope="module", params=BACKENDS)
def decoder(request: pytest.FixtureRequest):
    return make_decoder(request.param)


def test_no_false_positives_and_no_wrong_payloads(decoder) -> None:
    for bucket, spec, frame in FRAMES:
        texts = [c.text for c in decoder.decode(frame)]
        if spec.payload is None:
            assert texts == [], f"{decoder.name} read a code in an empty {spec.surface} frame: {texts}"
        else:
            assert set(texts) <= {spec.payload}, f"{decoder.name} returned a wrong payload in {bucket}"


def test_zxing_reads_every_kind_of_scene() -> None:
    decoder = make_decoder("zxing")
    missed = [bucket for bucket, spec, frame in FRAMES
              if spec.payload is not None and spec.payload not in [c.text for c in decoder.decode(frame)]]
    # blur and code128 are the hardest buckets; allow one miss in the sample, never a whole kind
    assert len(missed) <= 2, missed
    assert all(missed.count(b) < 4 for b in set(missed))


@pytest.mark.parametrize("payload", ["Müller Straße 5", "Ñandú €50.000", "日本語テキスト", "café ★ naïve",
                                     "ADMWA1|R0123456789AB|abcdefghijklmnopqrstuvwx"])
def test_utf8_payloads_come_back_exactly(decoder, payload: str) -> None:
    frame = scenes.render(scenes.SceneSpec(surface="phone", payload=payload, module_px=6, seed=3))
    assert [c.text for c in decoder.decode(frame)] == [payload]


def test_dark_mode_phone_screen(decoder) -> None:
    frame = scenes.render(scenes.SceneSpec(surface="phone", payload="ADMWA1|R0123456789AB|abcdefghijklmnopqrstuvwx",
                                           dark_mode=True, module_px=6, seed=5))
    assert [c.text for c in decoder.decode(frame)] == ["ADMWA1|R0123456789AB|abcdefghijklmnopqrstuvwx"]


def test_code128_is_marked_linear() -> None:
    frame = scenes.render(scenes.SceneSpec(surface="document", symbology="code128", payload="3201012402240011",
                                           module_px=3, seed=1))
    codes = make_decoder("zxing").decode(frame)
    assert [(c.format, c.text, c.linear) for c in codes] == [("Code128", "3201012402240011", True)]


def test_blank_and_noise_frames_read_nothing(decoder) -> None:
    rng = np.random.default_rng(1)
    for frame in (np.zeros((720, 1280, 3), np.uint8), np.full((720, 1280), 255, np.uint8),
                  rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)):
        assert decoder.decode(frame) == []


def test_invalid_utf8_is_dropped_not_misread(decoder) -> None:
    import segno
    qr = segno.make_qr(b"\xff\xfe caf\xe9", error="m")  # Latin-1 bytes: not UTF-8
    bits = np.array(list(qr.matrix_iter(scale=8, border=4)), np.uint8)
    img = np.where(bits > 0, 0, 255).astype(np.uint8)
    frame = np.full((720, 1280), 200, np.uint8)
    frame[100:100 + img.shape[0], 100:100 + img.shape[1]] = img
    assert decoder.decode(frame) == []


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown barcode backend"):
        make_decoder("quagga")
