"""Seeded camera scenes: a phone screen or a printed document with a code, on a desk.

What a kiosk camera really sees is never a clean code: the phone is tilted, the paper curls
away, the lens is slightly out of focus, a ceiling light glints on the glass, the sensor is
noisy and the stream is JPEG. ``render(spec)`` composes those effects from a ``SceneSpec``;
``random_spec(bucket, rng)`` draws one for a difficulty bucket, so the tests and the
benchmark share one corpus generator and a seed reproduces every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache

import cv2
import numpy as np
import segno

FRAME_SIZE = (1280, 720)
BASE_MODULE_PX = 10  # the code is drawn at this many pixels per module, then warped to size

BUCKETS = ("easy", "perspective", "blur", "glare", "noise-jpeg", "low-contrast", "small-modules", "dark-mode",
           "utf8", "code128", "empty")
HARD_BUCKETS = tuple(b for b in BUCKETS if b not in ("easy", "empty"))


@dataclass(frozen=True)
class SceneSpec:
    """Everything that decides one frame. ``payload=None`` is a frame with no code."""

    surface: str = "phone"  # phone | document | desk
    payload: str | None = None
    symbology: str = "qr"  # qr | code128
    module_px: float = 6.0  # output pixels per module (code128: per narrowest bar)
    centre: tuple[float, float] = (0.5, 0.5)  # of the code, as a fraction of the frame
    rotation_deg: float = 0.0
    tilt: float = 0.0  # perspective: how far corners move, as a fraction of the object's size
    blur_sigma: float = 0.0
    motion_px: int = 0
    glare: float = 0.0  # 0..1: brightness of a specular spot on the code
    noise_sigma: float = 2.0
    contrast: float = 1.0  # 1 = full; 0.3 = washed out
    brightness: float = 1.0
    jpeg_quality: int = 90  # 0 = no JPEG round trip
    dark_mode: bool = False  # a phone in dark mode: light modules on a dark screen
    seed: int = 0


def code_matrix(payload: str, symbology: str = "qr") -> np.ndarray:
    """The code as a uint8 image at ``BASE_MODULE_PX`` per module with its quiet zone (0 = dark)."""
    if symbology == "qr":
        qr = segno.make_qr(payload, error="m", encoding="utf-8")
        bits = np.array(list(qr.matrix_iter(scale=1, border=4)), np.uint8)
        img = np.where(bits > 0, 0, 255).astype(np.uint8)
        return cv2.resize(img, None, fx=BASE_MODULE_PX, fy=BASE_MODULE_PX, interpolation=cv2.INTER_NEAREST)
    if symbology == "code128":
        import zxingcpp
        bc = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.Code128)
        img = np.array(bc.to_image(scale=1, add_quiet_zones=True, add_hrt=False), np.uint8)
        img = cv2.resize(img, None, fx=BASE_MODULE_PX, fy=1, interpolation=cv2.INTER_NEAREST)
        return cv2.resize(img, (img.shape[1], max(40 * BASE_MODULE_PX, img.shape[1] // 4)),
                          interpolation=cv2.INTER_NEAREST)
    raise ValueError(f"unknown symbology {symbology!r}")


@cache
def _grid() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:FRAME_SIZE[1], 0:FRAME_SIZE[0]].astype(np.float32)
    return yy, xx


def _desk(rng: np.random.Generator) -> np.ndarray:
    """A wood-ish desk: a colour, a lighting gradient, grain lines and sensor-level texture."""
    w, h = FRAME_SIZE
    base = rng.uniform(70, 160, 3).astype(np.float32)
    yy, xx = _grid()
    light = 0.8 + 0.3 * (xx / w) * np.float32(rng.uniform(0.3, 1.0)) + 0.1 * (yy / h)
    grain = 10 * np.sin(yy / np.float32(rng.uniform(3, 9)) + 4 * np.sin(xx / np.float32(rng.uniform(40, 120))))
    return cv2.merge([light * b + grain for b in base])


def _text_lines(img: np.ndarray, rng: np.random.Generator, box: tuple[int, int, int, int], ink: int,
                line_h: int = 26) -> None:
    """Grey bars where lines of text would be: structure a detector must not mistake for a code."""
    x0, y0, x1, y1 = box
    y = y0
    while y + line_h <= y1:
        x = x0
        while x < x1 - 40:
            wlen = int(rng.integers(30, 140))
            cv2.rectangle(img, (x, y), (min(x + wlen, x1), y + line_h // 2), ink, -1)
            x += wlen + int(rng.integers(12, 24))
        y += line_h


def _object(spec: SceneSpec, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The phone screen or document (grayscale, at base scale) and where the code sits on it."""
    code = code_matrix(spec.payload, spec.symbology) if spec.payload is not None else None
    ch, cw = code.shape if code is not None else (330, 330)
    if spec.surface == "phone":
        w, h = int(cw * 1.25), int(max(cw * 2.0, ch * 2.2))
        bg, ink = (24, 200) if spec.dark_mode else (250, 60)
        obj = np.full((h, w), bg, np.uint8)
        cv2.rectangle(obj, (0, 0), (w - 1, int(h * 0.08)), 40 if spec.dark_mode else 225, -1)  # status bar
        _text_lines(obj, rng, (int(w * 0.08), int(h * 0.12), int(w * 0.92), int(h * 0.24)), ink, 30)
        y, x = int(h * 0.3), (w - cw) // 2
        if code is not None:
            obj[y:y + ch, x:x + cw] = (255 - code) if spec.dark_mode else code
        _text_lines(obj, rng, (int(w * 0.08), y + ch + 20, int(w * 0.92), h - 20), ink, 30)
        obj = cv2.copyMakeBorder(obj, 40, 60, 25, 25, cv2.BORDER_CONSTANT, value=15)  # the bezel
        return obj, (x + 25, y + 40, cw, ch)
    if spec.surface in ("document", "desk"):
        w, h = int(max(cw * 3.2, 900)), int(max(ch * 2.6, 900))
        obj = np.full((h, w), 245, np.uint8)
        _text_lines(obj, rng, (60, 60, w - 60, h - ch - 80), 70)
        x, y = w - cw - 40, h - ch - 40
        _text_lines(obj, rng, (60, y, x - 40, h - 40), 90, 22)
        if code is not None:
            obj[y:y + ch, x:x + cw] = code
        return obj, (x, y, cw, ch)
    raise ValueError(f"unknown surface {spec.surface!r}")


def _placement(spec: SceneSpec, scale: float, code_box: tuple[int, int, int, int], obj_shape: tuple[int, int],
               rng: np.random.Generator) -> np.ndarray:
    """A homography from object pixels to frame pixels: scale, rotation, tilt, code at ``centre``."""
    x, y, cw, ch = code_box
    oh, ow = obj_shape
    corners = np.float32([[0, 0], [ow, 0], [ow, oh], [0, oh]])
    cx, cy = x + cw / 2, y + ch / 2
    a = math.radians(spec.rotation_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
    fw, fh = FRAME_SIZE
    target = np.float32([spec.centre[0] * fw, spec.centre[1] * fh])
    dst = (corners - [cx, cy]) * scale @ rot.T + target
    size = max(cw, ch) * scale
    dst += rng.uniform(-1, 1, (4, 2)).astype(np.float32) * spec.tilt * size
    return cv2.getPerspectiveTransform(corners, dst.astype(np.float32))


def render(spec: SceneSpec) -> np.ndarray:
    """A 1280x720 BGR frame of ``spec``."""
    rng = np.random.default_rng(spec.seed)
    frame = _desk(rng)
    if spec.surface != "desk" or spec.payload is not None:
        obj, box = _object(spec, rng)
        scale = spec.module_px / BASE_MODULE_PX
        if scale < 0.5:  # shrink with area averaging first: warping alone would alias small modules
            pre = scale * 1.6
            obj = cv2.resize(obj, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA)
            box = (round(box[0] * pre), round(box[1] * pre), round(box[2] * pre), round(box[3] * pre))
            scale /= pre
        hmat = _placement(spec, scale, box, obj.shape, rng)
        warped = cv2.warpPerspective(obj, hmat, FRAME_SIZE, flags=cv2.INTER_LINEAR, borderValue=0)
        mask = cv2.warpPerspective(np.full(obj.shape, 255, np.uint8), hmat, FRAME_SIZE, flags=cv2.INTER_LINEAR)
        alpha = (mask.astype(np.float32) / 255)[..., None]
        tint = rng.uniform(0.92, 1.05, 3).astype(np.float32)
        frame = frame * (1 - alpha) + warped.astype(np.float32)[..., None] * tint * alpha
        if spec.glare > 0:
            x, y, cw, ch = box
            pt = np.float32([[[x + cw * rng.uniform(0.2, 0.8), y + ch * rng.uniform(0.2, 0.8)]]])
            gx, gy = cv2.perspectiveTransform(pt, hmat)[0, 0]
            radius = max(cw, ch) * scale * rng.uniform(0.15, 0.3)
            yy, xx = _grid()
            spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * radius ** 2))
            frame += (spec.glare * 255 * spot)[..., None]
    mean = frame.mean()
    frame = (mean + (frame - mean) * spec.contrast) * spec.brightness
    if spec.blur_sigma > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), spec.blur_sigma)
    if spec.motion_px > 1:
        k = np.zeros((spec.motion_px, spec.motion_px), np.float32)
        k[spec.motion_px // 2, :] = 1.0 / spec.motion_px
        k = cv2.warpAffine(k, cv2.getRotationMatrix2D((spec.motion_px / 2 - 0.5,) * 2, rng.uniform(0, 180), 1.0),
                           k.shape)
        frame = cv2.filter2D(frame, -1, k / max(k.sum(), 1e-6))
    if spec.noise_sigma > 0:
        frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(spec.noise_sigma)
    out = np.clip(frame, 0, 255).astype(np.uint8)
    if spec.jpeg_quality:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg_quality])
        out = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    return out


_UTF8_WORDS = ("Müller", "Straße", "Jalan Raya No. 5 — Bogor", "café", "Ñandú", "€ 50.000", "日本語", "Ελλάδα",
               "İstanbul", "Łódź", "naïve", "😀", "Kecamatan Cibinong ★")


def random_payload(rng: np.random.Generator, utf8: bool = False) -> str:
    """A payload like ours (WhatsApp request, document QR) or, with ``utf8``, free UTF-8 text."""
    if utf8:
        words = [str(rng.choice(_UTF8_WORDS)) for _ in range(int(rng.integers(2, 5)))]
        return " ".join(words) + f" #{int(rng.integers(10**5))}"
    hexs = "".join(rng.choice(list("0123456789ABCDEF"), 12))
    if rng.random() < 0.5:
        token = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 24))
        return f"ADMWA1|R{hexs}|{token}"
    tag = "".join(rng.choice(list("0123456789abcdef"), 20))
    return f"ADMDOC1|kk|3201{int(rng.integers(10**11, 10**12))}|D{hexs}|{tag}"


def random_spec(bucket: str, rng: np.random.Generator) -> SceneSpec:
    """One scene from a difficulty bucket (see ``BUCKETS``); ``empty`` frames carry no code."""
    u = rng.uniform
    surface = "phone" if rng.random() < 0.5 else "document"
    spec = SceneSpec(surface=surface, payload=random_payload(rng), module_px=u(4.5, 8), centre=(u(0.35, 0.65),
                     u(0.35, 0.65)), rotation_deg=u(-15, 15), tilt=u(0, 0.06), noise_sigma=u(1, 4),
                     jpeg_quality=int(rng.integers(75, 95)), seed=int(rng.integers(2**31)))
    if bucket == "easy":
        return spec
    if bucket == "perspective":
        return replace(spec, tilt=u(0.2, 0.32), rotation_deg=u(-180, 180), module_px=u(3.2, 5))
    if bucket == "blur":
        if rng.random() < 0.5:
            return replace(spec, blur_sigma=u(1.4, 2.4), module_px=u(4, 6.5))
        return replace(spec, motion_px=int(rng.integers(6, 10)), module_px=u(4, 6.5))
    if bucket == "glare":
        return replace(spec, glare=u(0.6, 1.1), module_px=u(3.5, 6))
    if bucket == "noise-jpeg":
        return replace(spec, noise_sigma=u(15, 28), jpeg_quality=int(rng.integers(12, 30)), module_px=u(3, 5))
    if bucket == "low-contrast":
        return replace(spec, contrast=u(0.1, 0.22), brightness=u(0.5, 1.1), module_px=u(3.5, 6), noise_sigma=u(2, 5))
    if bucket == "small-modules":
        return replace(spec, module_px=u(1.5, 2.4), tilt=u(0, 0.05), noise_sigma=u(1, 4))
    if bucket == "dark-mode":
        return replace(spec, surface="phone", dark_mode=True, module_px=u(3, 6), noise_sigma=u(2, 8), blur_sigma=u(0, 1.5),
                       tilt=u(0, 0.15))
    if bucket == "utf8":
        return replace(spec, payload=random_payload(rng, utf8=True), module_px=u(2.8, 5), tilt=u(0, 0.15),
                       blur_sigma=u(0, 1.5), noise_sigma=u(2, 10))
    if bucket == "code128":
        number = f"3201{int(rng.integers(10**11, 10**12))}"
        return replace(spec, surface="document", symbology="code128", payload=number, module_px=u(1.6, 3),
                       rotation_deg=u(-10, 10), tilt=u(0, 0.06), blur_sigma=u(0, 1.2))
    if bucket == "empty":
        return replace(spec, surface=str(rng.choice(["phone", "document", "desk"])), payload=None,
                       dark_mode=bool(rng.random() < 0.3), noise_sigma=u(1, 12), blur_sigma=u(0, 1.5))
    raise ValueError(f"unknown bucket {bucket!r}")


def corpus(per_bucket: int = 30, seed: int = 2024, buckets: tuple[str, ...] = BUCKETS) -> list[tuple[str, SceneSpec]]:
    """A reproducible list of (bucket, spec): render each with ``render``."""
    rng = np.random.default_rng(seed)
    return [(b, random_spec(b, rng)) for b in buckets for _ in range(per_bucket)]
