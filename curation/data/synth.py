"""Synthetic DFER videos with known truth (DESIGN.md section 4).

Procedural faces are drawn from facial action parameters (FACS-like: brows, lids, cheeks,
nose, lips, jaw) that follow an onset-apex-offset time course. Each class is a prototype
vector of actions; everything else (identity, head motion, lighting, blinks, talking,
sensor noise) varies independently of the class, so a model must read the expression.

Hard videos keep their correct label but are hard for a reason a clip model meets:
``subtle`` (low apex intensity), ``brief`` (an apex of a few frames, neutral elsewhere),
``blend`` (a second emotion mixed in), ``occluded`` (mouth or eyes covered most of the
time), ``distractor`` (strong head motion, talking, a lighting change). Noisy videos
(train split only) carry a wrong label: structured flips inside confusion pairs
(fear/surprise, disgust/angry, sad/neutral) and uniform flips.

Rendering is pure numpy: every frame of a video is drawn in one vectorized pass over
(T, H, W) canonical face coordinates, each feature only inside its bounding box.
Randomness: truth from ``default_rng(seed)``; each video from ``default_rng([seed, 1, i])``,
so a video does not depend on the others and can be rendered in any order or process.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from curation.errors import ConfigError
from curation.schema import DFEW_CLASSES, HARD_KINDS, SPLITS

log = logging.getLogger(__name__)

# Facial actions (value 0 = rest, 1 = full), with the FACS action unit each stands for.
ACTIONS = (
    "brow_raise",    # AU1+2 whole brow up, more arched
    "brow_inner",    # AU1 inner ends up (oblique brows)
    "brow_lower",    # AU4 brows down and drawn together
    "lid_open",      # AU5 upper lid raised, eyes wide
    "lid_tight",     # AU7 lids tightened, narrowed
    "cheek",         # AU6 cheeks raised, lower lid pushed up, nasolabial fold
    "nose_wrinkle",  # AU9 wrinkles on the nose bridge, nostrils up
    "upper_lip",     # AU10 upper lip raised
    "jaw",           # AU26/27 jaw drop, mouth open
    "corner_up",     # AU12 lip corners pulled up
    "corner_down",   # AU15 lip corners pulled down
    "lip_stretch",   # AU20 lips stretched sideways
    "lip_press",     # AU24 lips pressed together (thin)
)
_A = {name: i for i, name in enumerate(ACTIONS)}

# Class prototypes (FACS descriptions of the basic emotions, EMFACS-like).
_PROTO = {
    "happy": dict(cheek=0.9, corner_up=1.0, lid_tight=0.2, jaw=0.15),
    "sad": dict(brow_inner=1.0, brow_lower=0.35, corner_down=0.9),
    "neutral": dict(),
    "angry": dict(brow_lower=1.0, lid_tight=0.7, lid_open=0.3, lip_press=0.9),
    "surprise": dict(brow_raise=1.0, brow_inner=0.4, lid_open=1.0, jaw=0.9),
    "disgust": dict(nose_wrinkle=1.0, upper_lip=0.9, brow_lower=0.5, corner_down=0.35,
                    lid_tight=0.3, cheek=0.3),
    "fear": dict(brow_raise=0.6, brow_inner=0.9, brow_lower=0.45, lid_open=0.9,
                 lip_stretch=0.9, jaw=0.45),
}
PROTOTYPES: dict[str, np.ndarray] = {
    k: np.array([v.get(a, 0.0) for a in ACTIONS], dtype=np.float32) for k, v in _PROTO.items()
}
# Other spellings (MAFW and others) of the same emotions.
_SYNONYMS = {"happiness": "happy", "sadness": "sad", "anger": "angry", "surprised": "surprise",
             "disgusted": "disgust", "fearful": "fear", "afraid": "fear", "angry": "angry"}
CONFUSION_PAIRS = (("fear", "surprise"), ("disgust", "angry"), ("sad", "neutral"))


@dataclass
class SynthConfig:
    """What `dfer-curate synth` renders. Defaults give ~1,400 training videos, enough for
    the plain model of the DESIGN probe to learn the classes under 20% noise."""

    n: int = 2000                 # total videos over all splits
    val: float = 0.15             # share of videos in the val split (clean labels)
    test: float = 0.15            # share of videos in the test split (clean labels)
    size: int = 64                # frame height = width, pixels
    num_frames: int = 48          # frames per video
    fps: int = 16                 # frame rate written to the mp4
    classes: tuple[str, ...] = DFEW_CLASSES  # class names, each with a prototype
    hard_rate: float = 0.2        # share of videos (every split) that are hard
    hard_kinds: tuple[str, ...] = HARD_KINDS  # kinds drawn uniformly for hard videos
    noise_rate: float = 0.2       # share of train videos given a wrong label
    structured_share: float = 0.5  # share of the noisy ones flipped inside a confusion pair
    seed: int = 0
    frames: bool = False          # write jpg frame folders instead of mp4
    workers: int = 1              # render processes (output does not depend on it)


# --------------------------------------------------------------------------- validation

def prototype_key(name: str) -> str | None:
    """The prototype a class name maps to (case-insensitive, common synonyms), or None."""
    k = name.strip().lower()
    k = _SYNONYMS.get(k, k)
    return k if k in PROTOTYPES else None


def split_sizes(n: int, val: float, test: float) -> dict[str, int]:
    n_val, n_test = int(round(n * val)), int(round(n * test))
    return {"train": n - n_val - n_test, "val": n_val, "test": n_test}


def validate_config(cfg: SynthConfig) -> SynthConfig:
    """Check every parameter; raise ConfigError saying which and what to use instead."""
    def rate(name, x):
        if not (isinstance(x, (int, float)) and 0.0 <= x <= 1.0):
            raise ConfigError(f"synth: {name}={x!r} must be a rate between 0 and 1")

    classes = tuple(cfg.classes)
    if len(classes) < 2:
        raise ConfigError(f"synth: classes={list(classes)} needs at least 2 classes")
    unknown = [c for c in classes if prototype_key(c) is None]
    if unknown:
        raise ConfigError(
            f"synth: class(es) {unknown} have no expression prototype; "
            f"use names among {list(DFEW_CLASSES)} (case-insensitive)")
    keys = [prototype_key(c) for c in classes]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"synth: classes {list(classes)} name the same emotion twice")
    for name in ("hard_rate", "noise_rate", "structured_share", "val", "test"):
        rate(name, getattr(cfg, name))
    if cfg.val + cfg.test >= 1.0:
        raise ConfigError(f"synth: val={cfg.val} + test={cfg.test} leave no training videos; "
                          "keep their sum below 1")
    kinds = tuple(cfg.hard_kinds)
    bad = [k for k in kinds if k not in HARD_KINDS]
    if bad:
        raise ConfigError(f"synth: unknown hard kind(s) {bad}; choose among {list(HARD_KINDS)}")
    if cfg.hard_rate > 0 and not kinds:
        raise ConfigError("synth: hard_rate > 0 but no hard kinds given; pass --hard-kinds")
    if not (isinstance(cfg.size, int) and 16 <= cfg.size <= 512):
        raise ConfigError(f"synth: size={cfg.size!r} must be an integer from 16 to 512 pixels")
    if not (isinstance(cfg.num_frames, int) and 8 <= cfg.num_frames <= 1000):
        raise ConfigError(f"synth: num_frames={cfg.num_frames!r} must be an integer from 8 to 1000")
    if not (isinstance(cfg.fps, int) and 1 <= cfg.fps <= 120):
        raise ConfigError(f"synth: fps={cfg.fps!r} must be an integer from 1 to 120")
    if not (isinstance(cfg.workers, int) and cfg.workers >= 1):
        raise ConfigError(f"synth: workers={cfg.workers!r} must be a positive integer")
    sizes = split_sizes(int(cfg.n), cfg.val, cfg.test)
    C = len(classes)
    for split, m in sizes.items():
        need = 2 * C if split == "train" else C
        if (split == "train" or getattr(cfg, split) > 0) and m < need:
            frac = 1 - cfg.val - cfg.test if split == "train" else getattr(cfg, split)
            raise ConfigError(
                f"synth: n={cfg.n} gives the {split} split {m} videos, fewer than the {need} "
                f"needed for {C} classes; use --n {int(np.ceil(need / max(frac, 1e-9)))} or more")
    return dataclasses.replace(cfg, classes=classes, hard_kinds=kinds)


# --------------------------------------------------------------------------- truth

def sample_truth(cfg: SynthConfig) -> pd.DataFrame:
    """Per-video truth: split, true label, hardness, noisy label. Pure; same seed, same table.

    Classes are balanced inside each split; exactly round(hard_rate * split size) hard videos
    per split; exactly round(noise_rate * train size) noisy train videos, chosen independently
    of hardness, of which round(structured_share * noisy) flip inside a confusion pair (as
    many as the classes allow) and the rest to a uniformly drawn other class."""
    cfg = validate_config(cfg)
    rng = np.random.default_rng(cfg.seed)
    classes = list(cfg.classes)
    C = len(classes)
    sizes = split_sizes(cfg.n, cfg.val, cfg.test)
    split = np.concatenate([np.full(sizes[s], s, dtype=object) for s in SPLITS])
    true = np.concatenate([rng.permutation(np.arange(sizes[s]) % C) for s in SPLITS])
    order = rng.permutation(cfg.n)  # video ids are not ordered by split
    split, true = split[order], true[order]

    is_hard = np.zeros(cfg.n, dtype=bool)
    for s in SPLITS:
        idx = np.flatnonzero(split == s)
        k = int(round(cfg.hard_rate * len(idx)))
        is_hard[rng.choice(idx, size=k, replace=False)] = True
    kinds = np.array(cfg.hard_kinds if cfg.hard_kinds else ("",), dtype=object)
    hard_kind = np.where(is_hard, kinds[rng.integers(0, len(kinds), cfg.n)], "")

    label = true.copy()
    noise_kind = np.full(cfg.n, "", dtype=object)
    train = np.flatnonzero(split == "train")
    n_noisy = int(round(cfg.noise_rate * len(train)))
    noisy = rng.choice(train, size=n_noisy, replace=False)
    keys = [prototype_key(c) for c in classes]
    partner = np.full(C, -1)
    for a, b in CONFUSION_PAIRS:
        if a in keys and b in keys:
            partner[keys.index(a)], partner[keys.index(b)] = keys.index(b), keys.index(a)
    eligible = noisy[partner[true[noisy]] >= 0]
    n_struct = int(round(cfg.structured_share * n_noisy))
    if n_struct > len(eligible):
        log.warning("only %d noisy videos have a class with a confusion partner; "
                    "%d structured flips were asked", len(eligible), n_struct)
        n_struct = len(eligible)
    structured = rng.choice(eligible, size=n_struct, replace=False)
    label[structured] = partner[true[structured]]
    noise_kind[structured] = "structured"
    uniform = np.setdiff1d(noisy, structured)
    label[uniform] = (true[uniform] + rng.integers(1, C, len(uniform))) % C
    noise_kind[uniform] = "uniform"

    ids = [f"syn{i:05d}" for i in range(cfg.n)]
    ext = "" if cfg.frames else ".mp4"
    return pd.DataFrame({
        "video_id": ids,
        "path": [i + ext for i in ids],
        "label": [classes[c] for c in label],
        "split": split.astype(str),
        "fold": pd.array([pd.NA] * cfg.n, dtype="Int64"),
        "num_frames": np.full(cfg.n, cfg.num_frames, dtype=np.int64),
        "source": "synth",
        "true_label": [classes[c] for c in true],
        "is_noisy": label != true,
        "is_hard": is_hard,
        "hard_kind": hard_kind.astype(str),
        "noise_kind": pd.array(noise_kind.astype(str), dtype="string"),
    })


# --------------------------------------------------------------------------- video specs

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


# --------------------------------------------------------------------------- rendering

class _Canvas:
    """(3, T, H, W) float image plus per-pixel canonical face coordinates (u, v).

    Canonical units: face half-width = 1, origin at the face centre, v points down.
    ``paint`` composites one feature inside the pixel bounding box of its canonical box."""

    def __init__(self, spec: VideoSpec):
        ident, T, H = spec.identity, spec.actions.shape[0], spec.size
        self.T, self.H = T, H
        self.img = np.empty((3, T, H, H), np.float32)
        self.img[:] = np.moveaxis(ident.background, -1, 0)[:, None]
        self.S = (ident.fw * np.exp(spec.head[:, 2])).astype(np.float32)  # (T,) px per unit
        self.cx = (ident.center[0] + spec.head[:, 0]).astype(np.float32)
        self.cy = (ident.center[1] + spec.head[:, 1]).astype(np.float32)
        self.cos = np.cos(spec.head[:, 3]).astype(np.float32)
        self.sin = np.sin(spec.head[:, 3]).astype(np.float32)
        g = np.arange(H, dtype=np.float32) + 0.5
        dx = g[None, None, :] - self.cx[:, None, None]
        dy = g[None, :, None] - self.cy[:, None, None]
        S = self.S[:, None, None]
        c, s = self.cos[:, None, None], self.sin[:, None, None]
        self.u = (c * dx + s * dy) / S
        self.v = (-s * dx + c * dy) / S
        self.px = (1.0 / self.S)[:, None, None]  # canonical units per pixel

    def box(self, u0, u1, v0, v1):
        """Pixel slices covering canonical box [u0,u1] x [v0,v1] in every frame."""
        cu = np.array([u0, u1, u0, u1], np.float32)[None]
        cv = np.array([v0, v0, v1, v1], np.float32)[None]
        S, c, s = self.S[:, None], self.cos[:, None], self.sin[:, None]
        x = self.cx[:, None] + S * (c * cu - s * cv)
        y = self.cy[:, None] + S * (s * cu + c * cv)
        x0, x1 = max(int(np.floor(x.min())) - 1, 0), min(int(np.ceil(x.max())) + 2, self.H)
        y0, y1 = max(int(np.floor(y.min())) - 1, 0), min(int(np.ceil(y.max())) + 2, self.H)
        if x0 >= x1 or y0 >= y1:
            return None
        return (slice(y0, y1), slice(x0, x1))

    def uv(self, sl):
        return self.u[:, sl[0], sl[1]], self.v[:, sl[0], sl[1]]

    def paint(self, sl, alpha, colour):
        """Composite ``colour`` ((3,) or (3, T|1, h|1, w|1)) with ``alpha`` (T, h, w)."""
        region = self.img[:, :, sl[0], sl[1]]  # a view: updated in place
        col = np.asarray(colour, np.float32)
        if col.ndim == 1:
            col = col[:, None, None, None]
        delta = col - region
        delta *= alpha
        region += delta


def _edge(d, px):
    """Anti-aliased coverage from a signed distance (canonical units, > 0 inside)."""
    return np.clip(d / px + 0.5, 0.0, 1.0)


def _col(a, key):
    return a[:, _A[key]][:, None, None]  # (T, 1, 1)


def render_video(spec: VideoSpec, *, neutral: bool = False, occluder: bool = True,
                 noise: bool = True) -> np.ndarray:
    """Render a spec to (T, H, W, 3) uint8 frames in one vectorized pass.

    ``neutral=True`` renders the same video with the expression removed (same identity,
    motion, blinks, talking, lighting, noise) — the reference tests compare against."""
    ident = spec.identity
    act = spec.idle + (0.0 if neutral else spec.actions)
    act = np.clip(act, 0.0, 1.3)
    cv = _Canvas(spec)
    px = cv.px
    fh = ident.aspect
    skin = ident.skin

    # hair behind the head
    hv = ident.hair_volume
    hair_tex = 1.0 + 0.12 * np.sin(38 * cv.u + 9 * cv.v)  # stripes that move with the head
    sl = cv.box(-hv - 0.1, hv + 0.1, -fh * 1.1 - 0.3, 0.6)
    if sl:
        u, v = cv.uv(sl)
        r = np.sqrt((u / hv) ** 2 + ((v + 0.35) / (fh * 0.95)) ** 2)
        tex = hair_tex[:, sl[0], sl[1]]
        cv.paint(sl, _edge((1 - r) * hv * 0.8, px) * (v < 0.5), ident.hair[:, None, None, None] * tex[None])

    # face (jaw drop lowers the chin)
    jaw = np.clip(_col(act, "jaw") + 0.6 * spec.talk[:, None, None], 0, 1.5)
    sl = cv.box(-1.1, 1.1, -fh - 0.1, fh * 1.2 + 0.1)
    u, v = cv.uv(sl)
    hb = np.where(v > 0, fh * (1 + 0.1 * jaw), fh)
    r2 = u * u + (v / hb) ** 2
    shade = 1.0 - 0.18 * r2
    a_face = _edge((1 - np.sqrt(r2)) * 0.9, px)
    cv.paint(sl, a_face, skin[:, None, None, None] * shade[None])
    # hairline / fringe over the forehead
    wave = 0.05 * np.sin(7 * u)
    cv.paint(sl, _edge((1 - np.sqrt(r2)) * 0.9 + 0.06, px) * _edge(ident.hair_top + wave - v, px),
             ident.hair[:, None, None, None] * hair_tex[None, :, sl[0], sl[1]])

    ex, ey, ew, eh = ident.eye_x, ident.eye_y, ident.eye_w, ident.eye_h
    cheek = _col(act, "cheek")
    tight = _col(act, "lid_tight")
    lid_open = _col(act, "lid_open")
    b_low = _col(act, "brow_lower")
    blink = spec.blink[:, None, None]

    # cheeks: raised cheek bulges (lighter) and casts a shadow below
    sl = cv.box(-0.9, 0.9, ey, 0.6)
    u, v = cv.uv(sl)
    au = np.abs(u)
    cy = ey + 0.38 - 0.1 * cheek
    rr = np.sqrt(((au - ex - 0.05) / 0.26) ** 2 + ((v - cy) / 0.17) ** 2)
    bulge = np.clip(1 - rr * rr, 0, 1) ** 2 * np.clip(cheek, 0, 1)
    cv.paint(sl, 0.5 * bulge, np.minimum(skin * 1.15 + 10, 255))
    crescent = np.clip(1 - np.abs(rr - 1.1) / 0.2, 0, 1) * np.clip((v - cy) / 0.17, 0, 1)
    cv.paint(sl, 0.45 * crescent * np.clip(cheek, 0, 1), skin * 0.72)

    # eyes: an almond opening between the upper and lower lid
    h_up = eh * np.clip(1 + 0.9 * lid_open - 0.45 * tight - 0.15 * b_low, 0.05, 2.5) * (1 - blink)
    h_lo = eh * np.clip(1 - 0.55 * cheek - 0.45 * tight, 0.1, 1.5) * (1 - blink)
    sl = cv.box(-ex - ew - 0.1, ex + ew + 0.1, ey - 2.5 * eh - 0.1, ey + 1.6 * eh + 0.1)
    u, v = cv.uv(sl)
    du = np.abs(u) - ex
    q = np.clip(1 - (du / ew) ** 2, 0, 1)
    sq = np.sqrt(q)
    top = ey - h_up * sq
    bot = ey + h_lo * sq
    inside_x = _edge(ew - np.abs(du), px)
    a_eye = np.minimum(_edge(v - top, px), _edge(bot - v, px)) * inside_x
    cv.paint(sl, a_eye, np.array([238, 236, 230], np.float32))
    # both irises look the same way (gaze), each centred in its own eye
    ir = np.sqrt((u - np.sign(u) * ex - spec.gaze[0]) ** 2 + (v - ey - spec.gaze[1]) ** 2)
    cv.paint(sl, a_eye * _edge(0.55 * eh + 0.012 - ir, px), ident.iris)
    cv.paint(sl, a_eye * _edge(0.25 * eh - ir, px), np.array([15, 12, 12], np.float32))
    # upper lid crease / lashes: a dark line along the upper lid, a fainter lower lid line
    cv.paint(sl, 0.9 * _edge(0.022 + 0.01 * blink - np.abs(v - top + 0.01), px) * inside_x,
             np.array([35, 25, 25], np.float32))
    cv.paint(sl, 0.35 * _edge(0.015 - np.abs(v - bot - 0.008), px) * inside_x, skin * 0.6)

    # brows
    raise_ = _col(act, "brow_raise")
    inner = _col(act, "brow_inner")
    b0 = ey - ident.brow_gap + ident.rest_brow
    x_in = ex - ew * 0.9 - 0.07 * b_low
    x_out = ex + ew * 1.15
    sl = cv.box(-x_out - 0.15, x_out + 0.15, b0 - 0.35, b0 + 0.2)
    u, v = cv.uv(sl)
    au = np.abs(u)
    a = np.clip((au - x_in) / (x_out - x_in), 0, 1)
    arch = ident.brow_arch + 0.06 * raise_ - 0.04 * b_low
    yb = (b0 - 0.15 * raise_ + 0.09 * b_low
          - arch * 4 * a * (1 - a)
          - (0.15 * inner - 0.06 * b_low) * (1 - a) ** 1.5)
    ax = np.maximum(x_in - au, au - x_out)  # distance past the brow ends
    d = ident.brow_thick * (1 - 0.4 * a) - np.sqrt((v - yb) ** 2 + np.maximum(ax, 0) ** 2)
    cv.paint(sl, 0.92 * _edge(d, px), ident.hair * 0.8)
    # vertical furrows between lowered brows
    fur = np.clip(b_low - 0.3, 0, 1) * _edge(0.02 - np.abs(au - 0.06), px) * _edge(0.1 - np.abs(v - b0 - 0.05), px)
    cv.paint(sl, 0.6 * fur, skin * 0.6)
    # horizontal forehead lines when brows are raised
    fl = np.clip(raise_ + 0.5 * inner - 0.3, 0, 1) * (0.5 + 0.5 * np.cos(2 * np.pi * (v - b0) / 0.07))
    fl = fl * _edge(0.3 - au, px) * _edge(np.minimum(v - (b0 - 0.3), (b0 - 0.12) - v), px)
    cv.paint(sl, 0.45 * fl, skin * 0.72)

    # nose: bridge shadow, nostrils (raised and flared by the wrinkle), bridge wrinkles
    wr = _col(act, "nose_wrinkle")
    ny = ident.nose_y - 0.05 * wr
    sl = cv.box(-0.35, 0.35, ey, ident.nose_y + 0.12)
    u, v = cv.uv(sl)
    au = np.abs(u)
    cv.paint(sl, 0.3 * _edge(0.025 - np.abs(au - 0.11 - 0.1 * (v - ey)), px) * (v > ey + 0.1),
             skin * 0.75)
    nr = np.sqrt(((au - 0.08 - 0.03 * wr) / (0.055 + 0.02 * wr)) ** 2 + ((v - ny) / 0.032) ** 2)
    cv.paint(sl, _edge((1 - nr) * 0.035, px), skin * 0.35)
    wl = np.clip(wr - 0.2, 0, 1) * (0.5 + 0.5 * np.cos(2 * np.pi * (v - ey) / 0.06))
    wl = wl * _edge(0.17 - au, px) * _edge(np.minimum(v - ey + 0.05, ey + 0.22 - v), px)
    cv.paint(sl, 0.6 * wl, skin * 0.6)

    # mouth
    up, down = _col(act, "corner_up"), _col(act, "corner_down")
    stretch, press, ulr = _col(act, "lip_stretch"), _col(act, "lip_press"), _col(act, "upper_lip")
    my = ident.mouth_y + 0.04 * jaw
    mw = ident.mouth_w * (1 + 0.22 * up + 0.35 * stretch - 0.15 * press - 0.08 * jaw)
    cdy = ident.rest_corner - 0.13 * up + 0.12 * down - 0.02 * stretch
    opening = 0.015 + 0.3 * jaw + 0.04 * ulr - 0.015 * press
    lt = ident.lip_thick * (1 - 0.65 * np.clip(press, 0, 1))
    sl = cv.box(-0.65, 0.65, ident.mouth_y - 0.35, ident.mouth_y + 0.7)
    u, v = cv.uv(sl)
    a2 = np.clip((u / mw) ** 2, 0, 1)
    f = 1 - a2
    yu = my - 0.5 * opening * f - 0.08 * ulr * f + cdy * a2
    yl = my + 0.5 * opening * f + cdy * a2
    ins = _edge(mw - np.abs(u), px)
    # nasolabial folds deepen with cheek raise, upper lip raise and smiling
    fold = np.clip(0.7 * cheek + 0.8 * ulr + 0.4 * up, 0, 1)
    au = np.abs(u)
    t = np.clip((v - (ny + 0.02)) / (my - ny + 0.06), 0, 1)
    xf = 0.16 + (mw + 0.04 - 0.16) * t
    cv.paint(sl, 0.55 * fold * _edge(0.02 - np.abs(au - xf), px) * (v > ny) * (v < my + 0.08), skin * 0.62)
    cv.paint(sl, ins * np.minimum(_edge(v - yu, px), _edge(yl - v, px)), np.array([60, 20, 25], np.float32))
    teeth = np.minimum(_edge(v - yu, px), _edge(yu + 0.06 - v, px)) * _edge(yl - v, px) * ins
    cv.paint(sl, 0.9 * teeth * np.clip(opening / 0.06, 0, 1), np.array([235, 232, 220], np.float32))
    fl = np.sqrt(f)
    upper = np.minimum(_edge(v - (yu - lt * fl - 0.01), px), _edge(yu + 0.005 - v, px)) * ins
    lower = np.minimum(_edge(v - yl + 0.005, px), _edge(yl + 1.2 * lt * fl + 0.01 - v, px)) * ins
    cv.paint(sl, np.maximum(upper, lower), ident.lips)
    cv.paint(sl, 0.6 * ins * _edge(0.012 - np.abs(v - 0.5 * (yu + yl)), px) * (opening < 0.05), ident.lips * 0.4)

    # occluder (moves with the head)
    if occluder and spec.occluder is not None:
        o = spec.occluder
        on = np.zeros((cv.T, 1, 1), np.float32)
        on[o["start"]:o["end"]] = 1.0
        if o["region"] == "mouth":
            box = (-0.7, 0.7, ident.mouth_y - 0.25, ident.mouth_y + 0.35)
        else:
            box = (-ex - ew - 0.12, ex + ew + 0.12, ey - 0.22, ey + 0.16)
        sl = cv.box(box[0] - 0.05, box[1] + 0.05, box[2] - 0.05, box[3] + 0.05)
        if sl:
            u, v = cv.uv(sl)
            d = np.minimum(np.minimum(u - box[0], box[1] - u), np.minimum(v - box[2], box[3] - v))
            alpha = _edge(d, px) * on
            col = o["colour"][:, None, None, None]
            if o["style"] == "hand":
                col = col * (1 - 0.25 * (np.cos(2 * np.pi * u / 0.28) > 0.85))[None]
            elif o["style"] == "mask":
                col = col * (1 - 0.08 * (np.abs(np.cos(2 * np.pi * v / 0.12)) > 0.9))[None]
            cv.paint(sl, alpha, col)

    # lighting: global gain (flicker) times a spatial gradient; then sensor noise
    img = cv.img
    g = np.arange(cv.H, dtype=np.float32) / cv.H - 0.5
    ld = spec.light_dir[:, None, None]
    grad = 1 + spec.light_strength * (np.cos(ld) * g[None, None, :] + np.sin(ld) * g[None, :, None])
    img *= (spec.gain[:, None, None] * grad)[None]
    if noise:
        nrng = np.random.default_rng(spec.noise_seed)
        img += nrng.standard_normal(img.shape, dtype=np.float32) * spec.noise_sigma
    np.clip(img, 0, 255, out=img)
    img += 0.5  # round half up on the cast below
    out = np.empty((cv.T, cv.H, cv.H, 3), np.uint8)
    out[...] = np.moveaxis(img, 0, -1)  # one pass: transpose and truncate
    return out


# --------------------------------------------------------------------------- writing

def _video_rng(seed: int, i: int) -> np.random.Generator:
    return np.random.default_rng([seed, 1, i])


def video_spec_for(row, cfg: SynthConfig, index: int) -> VideoSpec:
    """The spec of manifest row ``index`` (reproducible from the seed alone)."""
    return sample_video_spec(row["true_label"], row["hard_kind"], cfg.classes, cfg,
                             _video_rng(cfg.seed, index))


def _write_frames(folder: Path, frames: np.ndarray) -> None:
    """Write a jpg frame folder atomically (a temp folder renamed into place)."""
    from PIL import Image

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for k, img in enumerate(frames):
            Image.fromarray(img).save(tmp / f"{k + 1:05d}.jpg", quality=95)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _render_write(job) -> tuple[int, int]:
    """Sample, render and write one video; return its apex frames. Runs in any process."""
    cfg, index, true_label, hard_kind, path = job
    spec = sample_video_spec(true_label, hard_kind, cfg.classes, cfg, _video_rng(cfg.seed, index))
    frames = render_video(spec)
    if cfg.frames:
        _write_frames(path, frames)
    else:
        from curation.data.video import write_mp4

        write_mp4(path, frames, fps=cfg.fps)
    return spec.apex


# Artifacts made from a dataset: stale (and misleading) once the dataset is re-rendered.
_DERIVED = ("checkpoints", "dynamics", "scores", "clip_probs", "baselines", "report", "previews")
_HUMAN = ("review_db", "exports")  # annotators' work: never deleted here
_OUR_NAME = re.compile(r"^syn\d{5}(\.mp4)?$")


def _prepare_run(run, *, overwrite: bool) -> None:
    """Refuse to leave a run whose results belong to another dataset; clear old synth videos."""
    from curation.errors import RunError

    derived = [getattr(run, a) for a in _DERIVED if getattr(run, a).exists()]
    human = [getattr(run, a) for a in _HUMAN if getattr(run, a).exists()]
    if (derived or human) and not overwrite:
        raise RunError(
            f"{run.path} already holds results of a dataset ({', '.join(p.name for p in derived + human)}); "
            f"they would not match new videos. Use another --out, or --overwrite to delete "
            f"the model results")
    if human:
        raise RunError(
            f"{run.path} holds annotators' work ({', '.join(p.name for p in human)}); move it "
            f"away or use another --out (synth never deletes review decisions or exports)")
    for p in derived:
        log.warning("deleting stale %s", p)
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    videos = run.path / "videos"
    if videos.is_dir():
        for p in videos.iterdir():
            if _OUR_NAME.match(p.name):
                shutil.rmtree(p) if p.is_dir() else p.unlink()
    videos.mkdir(parents=True, exist_ok=True)


def generate(run_dir, config: SynthConfig | None = None, *, progress: bool = True,
             overwrite: bool = False):
    """Render a synthetic dataset into ``run_dir``: videos/, manifest.parquet (with ground
    truth and apex frames), classes.json, and the config under 'synth' in config.json.

    Manifest columns beyond the schema: ``noise_kind`` ('structured', 'uniform' or '') and
    ``apex_start``/``apex_end``, the first and last frame at full expression (for Neutral
    the time course scales an empty prototype, so nothing shows there).

    Returns the written Manifest. Same config (seed included) -> byte-identical manifest,
    whatever ``workers`` is (each video has its own seeded generator). A run dir that
    already has model results is refused unless ``overwrite`` (which deletes them)."""
    from tqdm import tqdm

    from curation.data.manifest import Manifest, write_manifest
    from curation.runs import RunDir

    cfg = validate_config(config or SynthConfig())
    run = RunDir(run_dir)
    _prepare_run(run, overwrite=overwrite)
    videos = run.path / "videos"
    df = sample_truth(cfg)
    jobs = [(cfg, i, t, k, videos / p) for i, (t, k, p) in
            enumerate(zip(df["true_label"], df["hard_kind"], df["path"]))]
    t0 = time.perf_counter()
    bar = tqdm(total=len(jobs), desc="synth", unit="video", disable=not progress)
    apex = []
    if cfg.workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(cfg.workers) as pool:
            for a in pool.map(_render_write, jobs, chunksize=8):
                apex.append(a)
                bar.update()
    else:
        for job in jobs:
            apex.append(_render_write(job))
            bar.update()
    bar.close()
    elapsed = time.perf_counter() - t0
    log.info("rendered %d videos in %.1f s (%.1f videos/s)", len(jobs), elapsed,
             len(jobs) / max(elapsed, 1e-9))
    apex = np.asarray(apex, dtype=np.int64).reshape(-1, 2)
    df["apex_start"], df["apex_end"] = apex[:, 0], apex[:, 1]
    manifest = Manifest(df, list(cfg.classes), videos)
    write_manifest(run.path, manifest)
    run.save_config("synth", cfg)
    return manifest
