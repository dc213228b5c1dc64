"""Set A, "toons": line-drawn cartoon faces whose class is an expression animated over time.

Drawn with PIL's vector primitives (outlined polygons, polylines, ellipses) on a 3x canvas
and box-filtered down, so it shares no drawing code and few statistics with the project's
own synthetic faces: flat fills with dark outlines, cartoon proportions (dot, ring or oval
eyes; one-line brows; a curve for a mouth), patterned backgrounds, a moving camera (pan,
zoom, roll) on top of the head's own motion.

The rig has eleven controls (mouth curve, opening, width, waviness and skew; brow raise and
tilt; eye opening, pupil size, smiling eyes; nose scrunch). A class is a rig pose reached
along an onset-apex-offset course whose onset, rise, hold and fall are drawn per video;
blinks, talking, head and camera motion, glasses and lighting do not depend on the class.
Class frequencies are uneven, as in in-the-wild expression sets.

Hard kinds, all correctly labelled: ``subtle`` (apex at 25-45 % intensity), ``brief`` (an
apex of a few frames), ``blend`` (30-45 % of another expression mixed in), ``occluded`` (a
hand, scarf, mug or card over the mouth or eyes for most of the video), ``far`` (a small face
in a shaking camera).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from unseen.common import SetSpec, envelope, smooth_noise

RIG = ("curve", "open", "width", "wavy", "skew", "brow_up", "brow_tilt", "eye_open", "pupil_small",
       "smile_eyes", "scrunch")
POSES = {
    "neutral": {},
    "happy": dict(curve=1.0, open=0.3, width=0.15, eye_open=-0.3, smile_eyes=0.9, brow_up=0.15),
    "sad": dict(curve=-0.8, width=-0.1, brow_tilt=1.0, brow_up=0.1, eye_open=-0.35),
    "angry": dict(curve=-0.35, width=-0.2, brow_up=-0.8, brow_tilt=-1.0, eye_open=-0.25, open=0.1),
    "surprised": dict(open=1.0, width=-0.35, brow_up=1.0, eye_open=1.0),
    "disgusted": dict(curve=-0.4, wavy=0.8, skew=0.7, brow_up=-0.45, eye_open=-0.55, scrunch=1.0),
    "scared": dict(open=0.45, width=0.3, wavy=0.5, brow_up=0.7, brow_tilt=0.8, eye_open=0.9, pupil_small=1.0),
}
SPEC = SetSpec(
    name="toons",
    classes=tuple(POSES),
    pairs=(("scared", "surprised"), ("disgusted", "angry"), ("sad", "neutral")),
    hard_kinds=("subtle", "brief", "blend", "occluded", "far"),
    priors=(0.20, 0.26, 0.16, 0.14, 0.11, 0.05, 0.08),  # DFEW-like: happy common, disgust rare
)
SIZE, FRAMES, FPS, SS = 64, 48, 16, 3  # frame size, length, rate, supersampling
_POSE = {k: np.array([v.get(r, 0.0) for r in RIG]) for k, v in POSES.items()}


def render(row: dict) -> np.ndarray:
    """The (FRAMES, SIZE, SIZE, 3) uint8 frames of one truth row (its ``seed`` and classes)."""
    rng = np.random.default_rng(row["seed"])
    T = FRAMES
    look = _identity(rng)
    rig = _rig_course(rng, row, T)
    motion = _motion(rng, T, far=row["hard_kind"] == "far")
    occ = _occluder(rng, T) if row["hard_kind"] == "occluded" else None
    bg = _background(rng)
    gain = 1 + 0.08 * smooth_noise(rng, T, knots=3) + rng.uniform(-0.1, 0.1)
    cast = rng.uniform(0.92, 1.08, 3)
    sigma = rng.uniform(1.0, 5.0)
    out = np.empty((T, SIZE, SIZE, 3), np.uint8)
    for t in range(T):
        img = _camera(bg, motion, t)
        d = ImageDraw.Draw(img)
        xf = _Xf(motion, t)
        _draw_face(d, xf, look, {k: rig[k][t] for k in RIG})
        if occ is not None and occ["on"][t]:
            _draw_occluder(d, xf, occ, t)
        small = np.asarray(img.reduce(SS), np.float32)
        small = small * gain[t] * cast + rng.normal(0, sigma, small.shape)
        out[t] = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------- what a video holds


def _identity(rng) -> dict:
    hue = rng.uniform(0, 1)
    fill = _hsv(hue, rng.uniform(0.15, 0.6), rng.uniform(0.75, 1.0))
    ink = _hsv(rng.uniform(0, 1), rng.uniform(0, 0.6), rng.uniform(0.0, 0.25))
    return dict(
        shape=rng.choice(["ellipse", "egg", "box"]), aspect=rng.uniform(0.82, 1.12), fill=fill, ink=ink,
        line=rng.uniform(1.2, 2.6), eye_style=rng.choice(["dot", "ring", "oval"]),
        eye_dx=rng.uniform(0.3, 0.45), eye_y=rng.uniform(-0.22, -0.05), eye_r=rng.uniform(0.08, 0.14),
        brows=rng.random() < 0.85, brow_len=rng.uniform(0.16, 0.3), brow_gap=rng.uniform(0.12, 0.2),
        nose=rng.choice(["none", "dot", "hook", "tri"]), mouth_y=rng.uniform(0.38, 0.52),
        mouth_w=rng.uniform(0.4, 0.7), teeth=rng.random() < 0.4, ears=rng.random() < 0.5,
        hair=rng.choice(["none", "tuft", "cap", "spikes"]), hair_col=_hsv(rng.uniform(0, 1), rng.uniform(0.3, 0.9),
                                                                           rng.uniform(0.15, 0.8)),
        blush=rng.random() < 0.35, glasses=rng.random() < 0.15, mouth_col=_hsv(rng.uniform(0.9, 1.05) % 1, 0.6, 0.35),
    )


def _rig_course(rng, row, T) -> dict:
    """Per-frame rig values: the class pose along its course, plus blinks and talking."""
    kind = row["hard_kind"]
    pose = _POSE[row["true_label"]].copy()
    if kind == "blend":
        other = rng.choice([c for c in POSES if c not in (row["true_label"], "neutral")])
        w = rng.uniform(0.3, 0.45)
        pose = (1 - w) * pose + w * _POSE[other]
    amp = rng.uniform(0.25, 0.45) if kind == "subtle" else rng.uniform(0.75, 1.05)
    if kind == "brief":
        env = envelope(T, rng.uniform(4, T - 12), rng.uniform(1.5, 3), rng.uniform(1, 4), rng.uniform(1.5, 3))
    else:
        env = envelope(T, rng.uniform(1, 20), rng.uniform(3, 10), rng.uniform(8, 26), rng.uniform(3, 10))
    rig = {k: amp * env * pose[i] for i, k in enumerate(RIG)}
    for _ in range(rng.integers(0, 4)):  # blinks
        t0 = rng.uniform(0, T)
        rig["eye_open"] = rig["eye_open"] - 1.6 * np.exp(-0.5 * ((np.arange(T) - t0) / 0.8) ** 2)
    if rng.random() < 0.3:  # talking: the mouth opens and closes whatever the class
        on = envelope(T, rng.uniform(0, 30), 2, rng.uniform(6, 20), 2)
        rig["open"] = rig["open"] + on * rng.uniform(0.15, 0.35) * (0.5 + 0.5 * np.sin(np.arange(T) * rng.uniform(0.8, 1.4)))
    return rig


def _motion(rng, T, *, far: bool) -> dict:
    shake = 3.0 if far else 1.0
    return dict(
        cx=SIZE / 2 + rng.uniform(-4, 4) + 3 * shake * smooth_noise(rng, T),
        cy=SIZE / 2 + rng.uniform(-3, 3) + 2 * shake * smooth_noise(rng, T),
        r=(rng.uniform(0.45, 0.6) if far else 1.0) * rng.uniform(0.3, 0.38) * SIZE * (1 + 0.06 * smooth_noise(rng, T)),
        tilt=np.radians(rng.uniform(-8, 8) + 7 * smooth_noise(rng, T)),
        turn=0.12 * smooth_noise(rng, T, knots=3),
        pan=np.stack([6 * smooth_noise(rng, T, knots=3), 6 * smooth_noise(rng, T, knots=3)], 1),
        zoom=1 + 0.1 * smooth_noise(rng, T, knots=3), roll=np.radians(4 * smooth_noise(rng, T, knots=3)),
    )


def _occluder(rng, T) -> dict:
    share = rng.uniform(0.6, 0.9)
    start = rng.uniform(0, (1 - share) * T)
    t = np.arange(T)
    return dict(on=(t >= start) & (t < start + share * T), kind=rng.choice(["hand", "scarf", "mug", "card"]),
                where=rng.choice(["mouth", "eyes"], p=[0.65, 0.35]),
                dx=0.12 * smooth_noise(rng, T), col=_hsv(rng.uniform(0, 1), rng.uniform(0.2, 0.8), rng.uniform(0.4, 0.95)))


def _background(rng) -> Image.Image:
    """A patterned backdrop twice the canvas, which the camera moves over."""
    n = 2 * SIZE * SS
    a, b = _hsv(rng.uniform(0, 1), rng.uniform(0.1, 0.7), rng.uniform(0.3, 1)), _hsv(rng.uniform(0, 1), rng.uniform(0.1, 0.7), rng.uniform(0.3, 1))
    img = Image.new("RGB", (n, n), a)
    d = ImageDraw.Draw(img)
    kind = rng.choice(["plain", "stripes", "dots", "checker", "gradient", "shapes"])
    step = int(rng.uniform(0.1, 0.3) * n)
    if kind == "stripes":
        for x in range(-n, 2 * n, step):
            d.polygon([(x, 0), (x + step // 2, 0), (x + step // 2 + n // 3, n), (x + n // 3, n)], fill=b)
    elif kind == "dots":
        for x in range(0, n, step):
            for y in range(0, n, step):
                d.ellipse([x, y, x + step // 3, y + step // 3], fill=b)
    elif kind == "checker":
        for i, x in enumerate(range(0, n, step)):
            for j, y in enumerate(range(0, n, step)):
                if (i + j) % 2:
                    d.rectangle([x, y, x + step, y + step], fill=b)
    elif kind == "gradient":
        g = np.linspace(0, 1, n)[:, None, None]
        img = Image.fromarray((np.array(a) * (1 - g) + np.array(b) * g).repeat(n, 1).astype(np.uint8))
    elif kind == "shapes":
        for _ in range(rng.integers(4, 12)):
            x, y, s = rng.uniform(0, n), rng.uniform(0, n), rng.uniform(0.05, 0.2) * n
            d.rectangle([x, y, x + s, y + s * rng.uniform(0.5, 2)], fill=_hsv(rng.uniform(0, 1), 0.5, rng.uniform(0.3, 1)))
    return img


# ---------------------------------------------------------------- drawing


class _Xf:
    """Face coordinates (units of the face radius, y down) to canvas pixels at frame t."""

    def __init__(self, m: dict, t: int):
        self.c = np.array([m["cx"][t], m["cy"][t]]) * SS
        self.r = m["r"][t] * SS
        c, s = np.cos(m["tilt"][t]), np.sin(m["tilt"][t])
        self.rot = np.array([[c, -s], [s, c]])
        self.turn = m["turn"][t]

    def __call__(self, pts, *, depth: float = 1.0) -> list[tuple[float, float]]:
        p = np.atleast_2d(np.asarray(pts, float)).copy()
        p[:, 0] += self.turn * depth
        q = self.c + self.r * p @ self.rot.T
        return [tuple(v) for v in q]

    def w(self, width: float) -> int:
        return max(1, int(round(width * SS)))


def _camera(bg: Image.Image, m: dict, t: int) -> Image.Image:
    n = SIZE * SS
    z, a = m["zoom"][t], m["roll"][t]
    c, s = np.cos(a) / z, np.sin(a) / z
    ox, oy = bg.width / 2 + m["pan"][t, 0] * SS, bg.height / 2 + m["pan"][t, 1] * SS
    # output pixel (x, y) samples the backdrop at A @ (x - n/2, y - n/2) + (ox, oy)
    coeffs = (c, -s, ox - c * n / 2 + s * n / 2, s, c, oy - s * n / 2 - c * n / 2)
    return bg.transform((n, n), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)


def _head_outline(look) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    x, y = np.cos(a), np.sin(a)
    if look["shape"] == "egg":
        x = x * (1 + 0.12 * y)
    elif look["shape"] == "box":
        x, y = np.sign(x) * np.abs(x) ** 0.55, np.sign(y) * np.abs(y) ** 0.55
    return np.stack([x * look["aspect"], y * 1.05], 1)


def _draw_face(d, xf, look, r) -> None:
    ink, lw = look["ink"], xf.w(look["line"])
    if look["ears"]:
        for sx in (-1, 1):
            d.ellipse(_box(xf([sx * look["aspect"] * 0.98, 0.05])[0], xf.r * 0.22), fill=look["fill"], outline=ink, width=lw)
    d.polygon(xf(_head_outline(look), depth=0.3), fill=look["fill"], outline=ink, width=lw)
    _hair(d, xf, look)
    if look["blush"]:
        for sx in (-1, 1):
            d.ellipse(_box(xf([sx * 0.5, 0.25])[0], xf.r * 0.12), fill=_mix(look["fill"], (240, 110, 120), 0.5))
    for sx in (-1, 1):
        _eye(d, xf, look, r, sx)
        if look["brows"]:
            y = look["eye_y"] - look["eye_r"] - look["brow_gap"] - 0.12 * r["brow_up"]
            inner = [sx * (look["eye_dx"] - look["brow_len"] / 2), y - 0.1 * r["brow_tilt"]]
            outer = [sx * (look["eye_dx"] + look["brow_len"] / 2), y + 0.03 * r["brow_tilt"]]
            d.line(xf([inner, outer]), fill=ink, width=xf.w(look["line"] * 1.3))
    _nose(d, xf, look, r)
    _mouth(d, xf, look, r)
    if look["glasses"]:
        for sx in (-1, 1):
            d.ellipse(_box(xf([sx * look["eye_dx"], look["eye_y"]])[0], xf.r * (look["eye_r"] + 0.1)), outline=ink, width=lw)
        d.line(xf([[-look["eye_dx"] + look["eye_r"] + 0.1, look["eye_y"]], [look["eye_dx"] - look["eye_r"] - 0.1, look["eye_y"]]]),
               fill=ink, width=lw)


def _hair(d, xf, look) -> None:
    col, ink = look["hair_col"], look["ink"]
    if look["hair"] == "cap":
        a = np.linspace(np.pi * 1.05, np.pi * 1.95, 16)
        pts = np.stack([np.cos(a) * look["aspect"] * 1.02, np.sin(a) * 1.07], 1)
        pts = np.vstack([pts, [[0.6 * look["aspect"], -0.6], [-0.6 * look["aspect"], -0.6]]])
        d.polygon(xf(pts, depth=0.3), fill=col, outline=ink, width=xf.w(look["line"]))
    elif look["hair"] in ("tuft", "spikes"):
        k = 3 if look["hair"] == "tuft" else 6
        for i in range(k):
            x = (i - (k - 1) / 2) * 0.18
            d.line(xf([[x, -1.0], [x * 1.4, -1.3 - 0.1 * (i % 2)]], depth=0.3), fill=ink, width=xf.w(look["line"]))


def _eye(d, xf, look, r, sx) -> None:
    ink = look["ink"]
    c = np.array([sx * look["eye_dx"], look["eye_y"]])
    er = look["eye_r"] * (1 + 0.35 * max(r["eye_open"], 0))
    h = er * np.clip(1 + 0.6 * min(r["eye_open"], 0), 0.0, 1.0)
    if r["smile_eyes"] > 0.45 or h < 0.25 * er:  # closed or smiling: an arc
        a = np.linspace(np.pi * 1.1, np.pi * 1.9, 9) if r["smile_eyes"] > 0.45 else np.linspace(0.1, np.pi - 0.1, 9)
        pts = c + np.stack([np.cos(a) * er, np.sin(a) * er * 0.6], 1)
        d.line(xf(pts), fill=ink, width=xf.w(look["line"] * 1.2))
        return
    a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    oval = c + np.stack([np.cos(a) * er, np.sin(a) * h * (1.4 if look["eye_style"] == "oval" else 1)], 1)
    if look["eye_style"] == "ring":
        d.polygon(xf(oval), fill=(250, 250, 250), outline=ink, width=xf.w(look["line"] * 0.8))
        pr = er * 0.5 * (1 - 0.55 * r["pupil_small"])
        d.ellipse(_box(xf(c)[0], xf.r * min(pr, h)), fill=ink)
    else:
        d.polygon(xf(oval), fill=ink)
        if look["eye_style"] == "oval" and r["pupil_small"] < 0.5:
            d.ellipse(_box(xf(c + [er * 0.3, -h * 0.4])[0], xf.r * er * 0.25), fill=(255, 255, 255))


def _nose(d, xf, look, r) -> None:
    ink, lw = look["ink"], xf.w(look["line"])
    kind = look["nose"]
    if kind == "dot":
        d.ellipse(_box(xf([0, 0.12])[0], xf.r * 0.05), fill=ink)
    elif kind == "hook":
        d.line(xf([[0.02, -0.05], [-0.06, 0.2], [0.06, 0.22]]), fill=ink, width=lw)
    elif kind == "tri":
        d.polygon(xf([[0, 0.0], [-0.08, 0.2], [0.08, 0.2]]), outline=ink, width=lw)
    if r["scrunch"] > 0.2:
        k = min(r["scrunch"], 1.0)
        for sx in (-1, 1):
            d.line(xf([[sx * 0.07, -0.05], [sx * (0.07 + 0.1 * k), -0.1 - 0.06 * k]]), fill=ink, width=lw)
        d.line(xf([[-0.05, -0.02 - 0.05 * k], [0.05, -0.02 - 0.05 * k]]), fill=ink, width=lw)


def _mouth(d, xf, look, r) -> None:
    ink = look["ink"]
    w = look["mouth_w"] * (1 + 0.5 * r["width"])
    u = np.linspace(-1, 1, 21)
    x = u * w / 2
    y = (look["mouth_y"] - r["curve"] * 0.15 * (u ** 2 - 0.35) + r["wavy"] * 0.04 * np.sin(3 * np.pi * u)
         + r["skew"] * 0.06 * u)
    top = np.stack([x, y], 1)
    if r["open"] > 0.08:
        drop = r["open"] * 0.38 * np.sqrt(np.clip(1 - u ** 2, 0, 1))
        bot = np.stack([x, y + drop], 1)[::-1]
        d.polygon(xf(np.vstack([top, bot])), fill=look["mouth_col"], outline=ink, width=xf.w(look["line"]))
        if look["teeth"] and r["open"] > 0.2:
            band = np.stack([x[4:-4], y[4:-4] + 0.06 * r["open"]], 1)
            d.polygon(xf(np.vstack([top[4:-4], band[::-1]])), fill=(245, 245, 240))
    else:
        d.line(xf(top), fill=ink, width=xf.w(look["line"] * 1.1), joint="curve")


def _draw_occluder(d, xf, occ, t) -> None:
    y = 0.45 if occ["where"] == "mouth" else -0.12
    cx = occ["dx"][t]
    col, ink = occ["col"], (30, 30, 30)
    if occ["kind"] == "hand":
        d.ellipse(_box(xf([cx, y + 0.1])[0], xf.r * 0.38), fill=col, outline=ink, width=xf.w(1))
        for i in range(4):
            fx = cx - 0.27 + 0.18 * i
            d.line(xf([[fx, y + 0.05], [fx, y - 0.45]]), fill=col, width=int(xf.r * 0.16))
    elif occ["kind"] == "scarf":
        d.polygon(xf([[-1.2, y - 0.22], [1.2, y - 0.28], [1.2, y + 0.3], [-1.2, y + 0.32]]), fill=col, outline=ink, width=xf.w(1))
    elif occ["kind"] == "mug":
        d.rectangle(_rect(xf, cx - 0.28, y - 0.3, cx + 0.28, y + 0.45), fill=col, outline=ink, width=xf.w(1))
        d.ellipse(_box(xf([cx + 0.36, y])[0], xf.r * 0.14), outline=col, width=xf.w(2))
    else:
        d.polygon(xf([[cx - 0.8, y - 0.25], [cx + 0.8, y - 0.25], [cx + 0.8, y + 0.3], [cx - 0.8, y + 0.3]]), fill=col)


# ---------------------------------------------------------------- small helpers


def _box(c, r) -> list[float]:
    return [c[0] - r, c[1] - r, c[0] + r, c[1] + r]


def _rect(xf, x0, y0, x1, y1) -> list[float]:
    p = np.array(xf([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
    return [p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()]


def _hsv(h, s, v) -> tuple[int, int, int]:
    import colorsys

    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _mix(a, b, w) -> tuple[int, int, int]:
    return tuple(int(round((1 - w) * x + w * y)) for x, y in zip(a, b))
