"""One video's spec: who is in it, its expression over time, and the nuisances.

Everything besides the expression (identity, head motion, lighting, blinks, talking,
sensor noise) is drawn independently of the class, so a model must read the expression.
Each video has its own generator, ``default_rng([seed, 1, index])``, so a video does not
depend on the others and can be rendered in any order or process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curation.data.synth.config import ACTIONS, PROTOTYPES, SynthConfig, prototype_key


@dataclass
class Identity:
    """Who is in the video: face geometry, colours, hair and background. Carries no class."""

    fw: float            # face half-width in pixels
    aspect: float        # face half-height / half-width
    center: tuple[float, float]  # face centre in the image (x, y) pixels
    roll: float          # resting head roll, radians
    skin: np.ndarray     # (3,) 0..255
    hair: np.ndarray
    hair_top: float      # hairline height (canonical, negative = up)
    hair_volume: float
    lips: np.ndarray
    iris: np.ndarray
    eye_x: float
    eye_y: float
    eye_w: float
    eye_h: float
    brow_gap: float
    brow_thick: float
    brow_arch: float
    nose_y: float
    mouth_y: float
    mouth_w: float
    lip_thick: float
    rest_corner: float   # resting mouth-corner height (some faces look sad at rest)
    rest_brow: float     # resting brow height offset
    background: np.ndarray  # (H, W, 3) float32, static camera


@dataclass
class VideoSpec:
    """Everything needed to render one video; ``render_video`` is a pure function of it."""

    identity: Identity
    actions: np.ndarray      # (T, A) expression actions (class signal)
    idle: np.ndarray         # (T, A) small class-free facial movement
    track: np.ndarray        # (T,) expression time course in [0, 1]
    apex: tuple[int, int]    # first and last frame of the apex (track == 1)
    head: np.ndarray         # (T, 4) dx, dy (pixels), log-scale, roll (radians)
    blink: np.ndarray        # (T,) 0 open .. 1 closed
    talk: np.ndarray         # (T,) extra mouth opening from speech
    gaze: tuple[float, float]
    gain: np.ndarray         # (T,) global brightness
    light_dir: np.ndarray    # (T,) gradient direction, radians
    light_strength: float
    noise_sigma: float
    noise_seed: int
    occluder: dict | None = None  # {"region", "style", "start", "end", "colour"}
    size: int = 64


_SKIN_DARK = np.array([70, 45, 32], np.float32)
_SKIN_LIGHT = np.array([245, 210, 185], np.float32)
_HAIR = np.array([[25, 20, 18], [70, 45, 30], [120, 80, 45], [200, 170, 110],
                  [150, 60, 30], [160, 160, 160], [40, 30, 60]], np.float32)
_IRIS = np.array([[50, 30, 20], [90, 60, 30], [60, 90, 130], [70, 100, 60]], np.float32)


def _smooth_track(rng, T, amp, fps, *, max_hz=0.6):
    """A smooth random signal in about [-amp, amp]: two random low-frequency sinusoids."""
    t = np.arange(T, dtype=np.float32) / fps
    f = rng.uniform(0.1, max_hz, 2)
    ph = rng.uniform(0, 2 * np.pi, 2)
    w = rng.uniform(0.3, 1.0, 2)
    s = (w[:, None] * np.sin(2 * np.pi * f[:, None] * t[None] + ph[:, None])).sum(0)
    return (amp * s / w.sum()).astype(np.float32)


def _background(rng, size):
    """A static textured background: gradient, stripes, blobs or checks, two colours."""
    c1, c2 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    kind = rng.integers(0, 4)
    if kind == 0:
        a = rng.uniform(0, 2 * np.pi)
        m = 0.5 + 0.5 * np.clip((x - 0.5) * np.cos(a) + (y - 0.5) * np.sin(a), -1, 1)
    elif kind == 1:
        a, f = rng.uniform(0, np.pi), rng.uniform(3, 10)
        m = 0.5 + 0.5 * np.sin(2 * np.pi * f * (x * np.cos(a) + y * np.sin(a)))
    elif kind == 2:
        m = np.zeros_like(x)
        for _ in range(3):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.35)
            m += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        m = np.clip(m, 0, 1)
    else:
        f = rng.integers(3, 8)
        m = ((np.floor(x * f) + np.floor(y * f)) % 2) * 0.8 + 0.1
    return (c1 + (c2 - c1) * m[..., None]).astype(np.float32)


def sample_identity(rng: np.random.Generator, size: int) -> Identity:
    tone = rng.uniform(0, 1)
    skin = _SKIN_DARK + (_SKIN_LIGHT - _SKIN_DARK) * tone + rng.normal(0, 6, 3)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.8, 1.2) + rng.normal(0, 8, 3)
    lips = skin * np.array([0.85, 0.55, 0.55]) + rng.normal(0, 6, 3) + np.array([25, 0, 5])
    return Identity(
        fw=size * rng.uniform(0.31, 0.37), aspect=rng.uniform(1.15, 1.4),
        center=(size * (0.5 + rng.uniform(-0.03, 0.03)), size * (0.54 + rng.uniform(-0.03, 0.03))),
        roll=rng.uniform(-0.08, 0.08), skin=np.clip(skin, 0, 255).astype(np.float32),
        hair=np.clip(hair, 0, 255).astype(np.float32), hair_top=rng.uniform(-0.95, -0.7),
        hair_volume=rng.uniform(1.05, 1.3), lips=np.clip(lips, 0, 255).astype(np.float32),
        iris=_IRIS[rng.integers(len(_IRIS))], eye_x=rng.uniform(0.34, 0.46),
        eye_y=rng.uniform(-0.26, -0.14), eye_w=rng.uniform(0.17, 0.22),
        eye_h=rng.uniform(0.075, 0.1), brow_gap=rng.uniform(0.18, 0.26),
        brow_thick=rng.uniform(0.04, 0.065), brow_arch=rng.uniform(0.02, 0.07),
        nose_y=rng.uniform(0.2, 0.3), mouth_y=rng.uniform(0.5, 0.62),
        mouth_w=rng.uniform(0.3, 0.4), lip_thick=rng.uniform(0.05, 0.08),
        rest_corner=rng.uniform(-0.03, 0.03), rest_brow=rng.uniform(-0.03, 0.03),
        background=_background(rng, size),
    )


def _time_course(rng, T, kind):
    """Expression intensity over frames in [0, 1], and the apex (first, last) frame.

    Ordinary videos: random onset, ramp up, a long apex, ramp down (maybe cut by the end).
    Brief: an apex of 4-8 frames (per 48) at a random place, neutral everywhere else."""
    s = T / 48.0
    if kind == "brief":
        L = max(2, int(round(rng.uniform(4, 8.99) * s)))
        a = int(rng.integers(0, T - L + 1))
        tr = np.zeros(T, np.float32)
        tr[a:a + L] = 1.0
        return tr, (a, a + L - 1)
    t0 = rng.uniform(0.0, 0.3) * T
    up = rng.uniform(3, 9) * s
    L = rng.uniform(0.35, 0.6) * T
    down = rng.uniform(3, 9) * s
    t = np.arange(T, dtype=np.float32)
    a, b = t0 + up, t0 + up + L
    tr = np.clip(np.minimum((t - t0) / up, 1 - (t - b) / down), 0, 1)
    tr = tr * tr * (3 - 2 * tr)  # smoothstep ramps
    a_i = int(np.ceil(a))
    b_i = min(int(np.floor(b)), T - 1)
    tr[a_i:b_i + 1] = 1.0
    return tr.astype(np.float32), (a_i, b_i)


def sample_video_spec(truth_class: str, hard_kind: str, classes, cfg: SynthConfig,
                      rng: np.random.Generator) -> VideoSpec:
    """Draw one video's identity, expression and nuisances. ``truth_class`` is the TRUE
    class (the rendered expression); the given (maybe noisy) label never reaches here."""
    T, size, fps = cfg.num_frames, cfg.size, cfg.fps
    ident = sample_identity(rng, size)
    A = len(ACTIONS)
    key = prototype_key(truth_class)
    proto = PROTOTYPES[key]
    track, apex = _time_course(rng, T, hard_kind)
    if hard_kind == "subtle":
        intensity = rng.uniform(0.15, 0.35)
    else:
        intensity = rng.uniform(0.55, 1.0)
    vec = proto.copy()
    if hard_kind == "blend":
        others = [prototype_key(c) for c in classes if prototype_key(c) not in (key, "neutral")]
        other = others[rng.integers(len(others))] if others else key
        w = rng.uniform(0.3, 0.45) if key != "neutral" else rng.uniform(0.15, 0.25)
        vec = (1 - w) * proto + w * PROTOTYPES[other]
    vec = vec * np.clip(rng.normal(1.0, 0.15, A), 0.6, 1.4).astype(np.float32)
    actions = track[:, None] * (intensity * vec)[None, :]

    # Class-free facial movement: slow drift in two random actions.
    idle = np.zeros((T, A), np.float32)
    for j in rng.choice(A, size=2, replace=False):
        idle[:, j] = np.abs(_smooth_track(rng, T, rng.uniform(0.0, 0.12), fps))

    distract = hard_kind == "distractor"
    move = 0.07 if distract else 0.015
    head = np.stack([
        _smooth_track(rng, T, move * size, fps, max_hz=1.0 if distract else 0.6),
        _smooth_track(rng, T, move * size, fps, max_hz=1.0 if distract else 0.6),
        _smooth_track(rng, T, 0.08 if distract else 0.025, fps),
        ident.roll + _smooth_track(rng, T, 0.22 if distract else 0.05, fps),
    ], axis=1)

    blink = np.zeros(T, np.float32)
    n_blinks = rng.poisson(0.35 * T / fps)
    for c in rng.integers(0, T, n_blinks):
        for d, v in ((-1, 0.5), (0, 1.0), (1, 0.5)):
            if 0 <= c + d < T:
                blink[c + d] = max(blink[c + d], v)

    talk = np.zeros(T, np.float32)
    if distract or rng.uniform() < 0.3:
        amp = rng.uniform(0.1, 0.2) if distract else rng.uniform(0.05, 0.12)
        hz = rng.uniform(3, 5)
        t = np.arange(T) / fps
        lo = int(rng.integers(0, T // 3)) if not distract else 0
        hi = int(rng.integers(2 * T // 3, T + 1)) if not distract else T
        syl = np.maximum(0, np.sin(2 * np.pi * hz * t + rng.uniform(0, 6.3)))
        syl *= rng.uniform(0.5, 1.0, T) ** 0.5
        talk[lo:hi] = (amp * syl[lo:hi]).astype(np.float32)

    gain = rng.uniform(0.85, 1.12) + rng.normal(0, rng.uniform(0, 0.02), T)
    light_dir = np.full(T, rng.uniform(0, 2 * np.pi))
    strength = rng.uniform(0.0, 0.3)
    if distract:
        gain = gain + np.linspace(0, rng.choice([-1, 1]) * rng.uniform(0.25, 0.4), T)
        light_dir = light_dir + np.linspace(0, rng.uniform(1.0, 3.0), T)
        strength = rng.uniform(0.25, 0.45)

    occ = None
    if hard_kind == "occluded":
        region = "mouth" if rng.uniform() < 0.5 else "eyes"
        styles = ["bar", "hand", "mask"] if region == "mouth" else ["bar", "hand"]
        style = styles[rng.integers(len(styles))]
        start = int(rng.integers(0, max(1, int(0.15 * T)) + 1))
        end = int(rng.integers(int(np.ceil(0.85 * T)), T + 1))
        colour = {"bar": rng.uniform(10, 80, 3), "mask": rng.uniform(180, 250, 3),
                  "hand": ident.skin * rng.uniform(0.9, 1.1)}[style]
        occ = {"region": region, "style": style, "start": start, "end": end,
               "colour": np.clip(colour, 0, 255).astype(np.float32)}

    return VideoSpec(
        identity=ident, actions=actions.astype(np.float32), idle=idle, track=track,
        apex=apex, head=head.astype(np.float32), blink=blink, talk=talk,
        gaze=(rng.uniform(-0.04, 0.04), rng.uniform(-0.02, 0.02)),
        gain=gain.astype(np.float32), light_dir=light_dir.astype(np.float32),
        light_strength=float(strength), noise_sigma=float(rng.uniform(1.0, 4.0)),
        noise_seed=int(rng.integers(0, 2**31 - 1)), occluder=occ, size=size,
    )



def video_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of video ``index`` of the set drawn with ``seed``."""
    return np.random.default_rng([seed, 1, index])


def video_spec_for(row, cfg: SynthConfig, index: int) -> VideoSpec:
    """The spec of manifest row ``index`` (reproducible from the seed alone)."""
    return sample_video_spec(row["true_label"], row["hard_kind"], cfg.classes, cfg,
                             video_rng(cfg.seed, index))
