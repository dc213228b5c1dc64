"""The ground truth table of a synthetic set: split, true label, hardness, given label.

Hard videos keep their correct label but are hard for a reason a clip model meets:
``subtle`` (low apex intensity), ``brief`` (an apex of a few frames, neutral elsewhere),
``blend`` (a second emotion mixed in), ``occluded`` (mouth or eyes covered most of the
time), ``distractor`` (strong head motion, talking, a lighting change). Noisy videos
(in ``noise_splits``, the train split by default) carry a wrong label: structured flips inside confusion pairs
(fear/surprise, disgust/angry, sad/neutral) and uniform flips.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from curation.data.synth.config import (
    CONFUSION_PAIRS, SynthConfig, prototype_key, split_sizes, validate_config,
)
from curation.schema import SPLITS

log = logging.getLogger(__name__)


def sample_truth(cfg: SynthConfig) -> pd.DataFrame:
    """Per-video truth: split, true label, hardness, noisy label. Pure; same seed, same table.

    Classes are balanced inside each split; exactly round(hard_rate * split size) hard videos
    per split; exactly round(noise_rate * size of the noise splits) noisy videos (train only by
    default), chosen independently
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
    pool = np.flatnonzero(np.isin(split, list(cfg.noise_splits)))
    n_noisy = int(round(cfg.noise_rate * len(pool)))
    noisy = rng.choice(pool, size=n_noisy, replace=False)
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

