"""What ``dfer-curate synth`` renders: the configuration, its checks, and the expression
prototypes the classes map to (see docs/ARCHITECTURE.md, "Evaluation").

Each class is a prototype vector of facial actions (FACS-like: brows, lids, cheeks, nose,
lips, jaw); a class name is valid when it maps to a prototype.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from curation.errors import ConfigError
from curation.schema import DFEW_CLASSES, HARD_KINDS, SPLITS

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
ACTION_INDEX = {name: i for i, name in enumerate(ACTIONS)}

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
             "disgusted": "disgust", "fearful": "fear", "afraid": "fear"}
CONFUSION_PAIRS = (("fear", "surprise"), ("disgust", "angry"), ("sad", "neutral"))


@dataclass
class SynthConfig:
    """What `dfer-curate synth` renders. Defaults give ~1,400 training videos, enough for
    a plain model to learn the classes under 20% noise."""

    n: int = 2000                 # total videos over all splits
    val: float = 0.15             # share of videos in the val split (clean labels)
    test: float = 0.15            # share of videos in the test split (clean labels)
    size: int = 64                # frame height = width, pixels
    num_frames: int = 48          # frames per video
    fps: int = 16                 # frame rate written to the mp4
    classes: tuple[str, ...] = DFEW_CLASSES  # class names, each with a prototype
    hard_rate: float = 0.2        # share of videos (every split) that are hard
    hard_kinds: tuple[str, ...] = HARD_KINDS  # kinds drawn uniformly for hard videos
    noise_rate: float = 0.2       # share of the noise splits' videos given a wrong label
    noise_splits: tuple[str, ...] = ("train",)  # splits whose labels carry noise (DFER test labels are noisy too)
    structured_share: float = 0.5  # share of the noisy ones flipped inside a confusion pair
    seed: int = 0
    frames: bool = False          # write jpg frame folders instead of mp4
    workers: int = 1              # render processes (output does not depend on it)


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
    noise_splits = tuple(cfg.noise_splits)
    if not noise_splits or any(s not in SPLITS for s in noise_splits) or len(set(noise_splits)) < len(noise_splits):
        raise ConfigError(f"synth: noise_splits={list(noise_splits)} must name distinct splits among {list(SPLITS)}")
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
    return dataclasses.replace(cfg, classes=classes, hard_kinds=kinds, noise_splits=noise_splits)

