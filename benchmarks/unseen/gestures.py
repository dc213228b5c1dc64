"""Set B, "gestures": textured hand-like glyphs whose class is a motion or deformation pattern.

Far from faces on purpose: an articulated glyph (a palm and five jointed fingers) rendered
with numpy from signed distances to its parts, each part filled with a texture that moves
with it (stripes, checks, dots, waves) and outlined, over cluttered, scrolling backgrounds.
Frames are 80 x 64 (not square), 40 to 56 frames long, at 25 frames per second.

A class is what the glyph does during its active period: ``wave`` (the whole hand swings
back and forth), ``spread`` (fingers fan out), ``grasp`` (all fingers curl into a fist),
``point`` (every finger but the index curls), ``pinch`` (thumb and index close and open,
repeatedly), ``tap`` (fingers curl one after another in a travelling wave). Pose at rest,
finger twitches, drift, rotation, scale, camera scrolling, lighting and sensor noise do not
depend on the class. Classes are balanced, as in gesture sets recorded to a script.

Hard kinds, all correctly labelled: ``subtle`` (30-50 % amplitude), ``brief`` (one short
burst), ``blend`` (30-45 % of another gesture mixed in), ``occluded`` (a card or bar over the
fingers for most of the video), ``distractor`` (a shaking camera and a fast-moving hand).
"""

from __future__ import annotations

import numpy as np

from unseen.common import SetSpec, envelope, smooth_noise

CLASSES = ("wave", "spread", "grasp", "point", "pinch", "tap")
SPEC = SetSpec(
    name="gestures",
    classes=CLASSES,
    pairs=(("grasp", "point"), ("pinch", "tap"), ("wave", "spread")),
    hard_kinds=("subtle", "brief", "blend", "occluded", "distractor"),
)
W, H, FPS = 80, 64, 25
MIN_T, MAX_T = 40, 56
# fingers: thumb, index, middle, ring, little: base angle (rad from up), length, width (palm units)
_BASE = np.array([-1.25, -0.42, -0.13, 0.16, 0.44])
_LEN = np.array([0.85, 1.05, 1.15, 1.05, 0.8])
_WID = np.array([0.2, 0.17, 0.17, 0.16, 0.14])


def render(row: dict) -> np.ndarray:
    """The (T, 64, 80, 3) uint8 frames of one truth row; T from 40 to 56."""
    rng = np.random.default_rng(row["seed"])
    T = int(rng.integers(MIN_T, MAX_T + 1))
    kind = row["hard_kind"]
    pose = _pose_course(rng, row["true_label"], kind, T)
    if kind == "blend":
        other = rng.choice([c for c in CLASSES if c != row["true_label"]])
        w = rng.uniform(0.3, 0.45)
        extra = _pose_course(rng, other, "", T, rest=pose["rest"])
        pose = {k: (v if k == "rest" else (1 - w) * v + w * extra[k]) for k, v in pose.items()}
    look = _look(rng)
    move = _movement(rng, T, shaky=kind == "distractor")
    bg = _background(rng, T, move)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32) + 0.5
    out = np.empty((T, H, W, 3), np.float32)
    for t in range(T):
        img = bg[t].copy()
        ang, s, cx, cy = move["rot"][t] + pose["rot"][t], move["scale"][t], move["x"][t], move["y"][t]
        c, si = np.cos(ang), np.sin(ang)
        # pixel -> hand coordinates (palm units, y up along the hand)
        u = (c * (xx - cx) + si * (yy - cy)) / s
        v = -(-si * (xx - cx) + c * (yy - cy)) / s
        tex = _texture(look, u, v)
        _layer(img, _ellipse_sd(u, v + 0.1, 0.78, 0.85) * s, tex, look)
        for f in _finger_order(pose, t):
            for a, b, r in _finger_segments(f, pose, t):
                _layer(img, _capsule_sd(u, v, a, b, r) * s, tex, look)
        if kind == "occluded" and move["occ_on"][t]:
            _occlude(img, xx, yy, move, t, cx, cy, s, ang)
        out[t] = img
    out *= move["gain"][:, None, None, None]
    out += rng.normal(0, look["sigma"], out.shape)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- the gesture


def _pose_course(rng, gesture: str, kind: str, T: int, *, rest=None) -> dict:
    """Per-frame rotation (rad), per-finger curl (T, 5), spread and pinch of one gesture."""
    rest = rest if rest is not None else dict(curl=rng.uniform(0, 0.25, 5), spread=rng.uniform(0.6, 1.0))
    amp = rng.uniform(0.3, 0.5) if kind == "subtle" else rng.uniform(0.8, 1.05)
    if kind == "brief":
        env = envelope(T, rng.uniform(3, T - 12), rng.uniform(1.5, 3), rng.uniform(2, 5), rng.uniform(1.5, 3))
    else:
        env = envelope(T, rng.uniform(0, T * 0.4), rng.uniform(3, 9), rng.uniform(12, 30), rng.uniform(3, 9))
    env = amp * env
    t = np.arange(T)
    period = rng.uniform(8, 14)
    osc = np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    twitch = 0.08 * np.stack([smooth_noise(rng, T) for _ in range(5)], 1)
    curl = np.clip(rest["curl"][None, :] + twitch, 0, 1)
    rot = np.radians(4) * smooth_noise(rng, T)
    spread = np.full(T, rest["spread"])
    pinch = np.zeros(T)
    if gesture == "wave":
        rot = rot + np.radians(30) * env * osc
    elif gesture == "spread":
        spread = spread + 1.1 * env
        curl = curl * (1 - env[:, None])
    elif gesture == "grasp":
        curl = curl + (1.0 - curl) * env[:, None]
    elif gesture == "point":
        mask = np.array([1, 0, 1, 1, 1.0])
        curl = curl + ((1.0 - curl) * mask - curl * (1 - mask)) * env[:, None]
    elif gesture == "pinch":
        pinch = env * (0.55 + 0.45 * osc)
    elif gesture == "tap":
        lag = rng.uniform(0.6, 1.0)
        for f in range(1, 5):
            wave_f = np.maximum(0, np.sin(2 * np.pi * t / period - f * lag)) ** 2
            curl[:, f] = curl[:, f] + (0.85 - curl[:, f]) * env * wave_f
    return dict(rot=rot, curl=np.clip(curl, 0, 1), spread=spread, pinch=pinch, rest=rest)


def _finger_segments(f: int, pose: dict, t: int):
    """The capsules (start, end, radius) of finger f at frame t, in palm units. Curling
    foreshortens each joint and, past a right angle, folds the finger back over the palm."""
    base_ang = _BASE[f] * pose["spread"][t]
    curl = pose["curl"][t, f]
    if f == 0:
        base_ang += 0.9 * pose["pinch"][t]
    elif f == 1:
        base_ang -= 0.15 * pose["pinch"][t]
        curl = max(curl, 0.55 * pose["pinch"][t])
    dirn = np.array([np.sin(base_ang), np.cos(base_ang)])
    start = np.array([0.72 * np.sin(_BASE[f] * 1.1), 0.65 * np.cos(_BASE[f] * 1.1) - 0.1])
    if f == 0:
        start = np.array([-0.62, -0.15])
    segs, n = [], 2 if f == 0 else 3
    bend = 0.0
    for j in range(n):
        bend += curl * np.radians(65 if j else 45)
        step = _LEN[f] / n * np.cos(bend)
        end = start + dirn * step
        segs.append((start, end, _WID[f] * (1 - 0.08 * j)))
        start = end
    return segs


def _finger_order(pose, t):
    """Curled fingers draw last (in front of the palm), so a fist shows its folded fingers."""
    return list(np.argsort(pose["curl"][t], kind="stable"))


def _look(rng) -> dict:
    a = rng.uniform(40, 255, 3)
    b = a * rng.uniform(0.3, 0.8) if rng.random() < 0.5 else rng.uniform(0, 255, 3)
    return dict(a=a, b=b, kind=rng.choice(["stripes", "checks", "dots", "waves", "plain"]),
                freq=rng.uniform(2.5, 6), phase=rng.uniform(0, 2 * np.pi, 2), ang=rng.uniform(0, np.pi),
                ink=rng.uniform(0, 70, 3), outline=rng.uniform(0.7, 1.6), sigma=rng.uniform(1.5, 6))


def _movement(rng, T, *, shaky: bool) -> dict:
    k = 3.0 if shaky else 1.0
    t = np.arange(T)
    occ_share = rng.uniform(0.6, 0.9)
    occ_start = rng.uniform(0, (1 - occ_share) * T)
    return dict(
        x=W / 2 + rng.uniform(-8, 8) + 5 * k * smooth_noise(rng, T) + (rng.normal(0, 1.2, T) if shaky else 0),
        y=H / 2 + 6 + rng.uniform(-4, 6) + 3 * k * smooth_noise(rng, T) + (rng.normal(0, 1.2, T) if shaky else 0),
        scale=rng.uniform(10, 14) * (1 + 0.08 * smooth_noise(rng, T, knots=3)),
        rot=np.radians(rng.uniform(-35, 35)) + np.radians(6 * k) * smooth_noise(rng, T, knots=3),
        pan=np.stack([8 * k * smooth_noise(rng, T, knots=3), 6 * k * smooth_noise(rng, T, knots=3)], 1),
        gain=(1 + 0.07 * smooth_noise(rng, T, knots=4)) * rng.uniform(0.85, 1.1),
        occ_on=(t >= occ_start) & (t < occ_start + occ_share * T), occ_col=rng.uniform(20, 235, 3),
        occ_ang=rng.uniform(-0.5, 0.5), occ_dy=rng.uniform(0.9, 1.4),
    )


def _background(rng, T, move) -> np.ndarray:
    """(T, H, W, 3): a gradient with blobs and bars, scrolled by the camera's pan."""
    n_h, n_w = 2 * H, 2 * W
    yy, xx = np.mgrid[0:n_h, 0:n_w].astype(np.float32)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    g = (np.cos(rng.uniform(0, np.pi)) * xx / n_w + np.sin(rng.uniform(0, np.pi)) * yy / n_h)[..., None]
    big = c0 * (1 - g) + c1 * g
    for _ in range(int(rng.integers(3, 15))):
        col = rng.uniform(0, 255, 3)
        cx, cy, r = rng.uniform(0, n_w), rng.uniform(0, n_h), rng.uniform(3, 18)
        if rng.random() < 0.5:
            m = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
        else:
            m = (np.abs(xx - cx) < r * rng.uniform(0.3, 3)) & (np.abs(yy - cy) < r * rng.uniform(0.2, 1.5))
        big[m] = col
    ox = np.clip(np.round(W / 2 + move["pan"][:, 0]).astype(int), 0, n_w - W)
    oy = np.clip(np.round(H / 2 + move["pan"][:, 1]).astype(int), 0, n_h - H)
    return np.stack([big[oy[t]: oy[t] + H, ox[t]: ox[t] + W] for t in range(T)]).astype(np.float32)


# ---------------------------------------------------------------- rendering


def _texture(look, u, v) -> np.ndarray:
    """(H, W, 3) colour of the glyph's surface at hand coordinates (u, v)."""
    f, (p, q) = look["freq"], look["phase"]
    ca, sa = np.cos(look["ang"]), np.sin(look["ang"])
    kind = look["kind"]
    if kind == "stripes":
        m = np.sin(f * (ca * u + sa * v) * 2 + p) > 0
    elif kind == "checks":
        m = (np.sin(f * u + p) * np.sin(f * v + q)) > 0
    elif kind == "dots":
        m = (np.sin(f * 1.5 * u + p) * np.sin(f * 1.5 * v + q)) > 0.5
    elif kind == "waves":
        m = np.sin(f * 2 * v + 1.5 * np.sin(f * u + p) + q) > 0
    else:
        m = np.zeros_like(u, dtype=bool)
    return np.where(m[..., None], look["b"], look["a"]).astype(np.float32)


def _layer(img, sd, tex, look) -> None:
    """Composite one part (signed distance ``sd`` in pixels, negative inside) over ``img``:
    its texture inside, a dark outline ring at the edge, anti-aliased."""
    alpha = np.clip(0.5 - sd, 0, 1)[..., None]
    ring = np.clip(0.5 - (-sd - look["outline"]), 0, 1)[..., None]
    col = tex * (1 - ring) + look["ink"] * ring
    img *= 1 - alpha
    img += alpha * col


def _capsule_sd(u, v, a, b, r) -> np.ndarray:
    ab = b - a
    L2 = float(ab @ ab) + 1e-9
    h = np.clip(((u - a[0]) * ab[0] + (v - a[1]) * ab[1]) / L2, 0, 1)
    return np.hypot(u - a[0] - h * ab[0], v - a[1] - h * ab[1]) - r


def _ellipse_sd(u, v, a, b) -> np.ndarray:
    k = np.hypot(u / a, v / b)
    return (k - 1) * min(a, b)


def _occlude(img, xx, yy, move, t, cx, cy, s, ang) -> None:
    """A card over the fingers: a band across the hand's upper half, in image coordinates."""
    up = np.array([np.sin(ang), -np.cos(ang)])
    c = np.array([cx, cy]) + up * s * move["occ_dy"]
    a = ang + move["occ_ang"]
    du = np.cos(a) * (xx - c[0]) + np.sin(a) * (yy - c[1])
    dv = -np.sin(a) * (xx - c[0]) + np.cos(a) * (yy - c[1])
    m = np.clip(0.5 - (np.maximum(np.abs(du) - 1.6 * s, np.abs(dv) - 0.55 * s)), 0, 1)[..., None]
    img *= 1 - m
    img += m * move["occ_col"]
