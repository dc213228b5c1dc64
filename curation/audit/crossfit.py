"""Out-of-fold clip probabilities from cached embeddings (numpy + scikit-learn; no torch).

Every labelled video, in every split, is scored by a head that never saw its label: the
videos are cut into K folds (stratified by given class, grouped by a subject column when
there is one, so near-duplicates share a fold) and a small linear head trained on the other
folds' clips predicts each clip of the held-out fold. Scores from different splits then rank
on one scale. See docs/ARCHITECTURE.md, "Method".

Shapes: N videos, M clips per video, D embedding size, C classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CrossfitConfig:
    folds: int = 5  # K heads; each video is scored by the one whose training folds exclude it
    l2: float = 1.0  # inverse regularisation strength of the logistic head (sklearn's C)
    max_iter: int = 300
    seed: int = 0


GROUP_COLUMNS = ("group", "subject", "identity")  # a manifest column that keeps near-duplicates in one fold


def group_column(df):
    """(N,) the first complete subject/group column of a manifest table as strings, or None."""
    for name in GROUP_COLUMNS:
        if name in df.columns and df[name].notna().all():
            return df[name].astype(str).to_numpy()
    return None


def manifest_folds(manifest, config: CrossfitConfig | None = None) -> np.ndarray:
    """(N,) fold of every manifest video, in manifest order: the one assignment that the
    out-of-fold heads and the neighbour vote share, so both leave out the same videos."""
    cfg = config or CrossfitConfig()
    labels = np.asarray(manifest.label_index(manifest.df["label"]), dtype=np.int64)
    return fold_assignment(labels, folds=cfg.folds, groups=group_column(manifest.df), seed=cfg.seed)


def fold_assignment(labels, *, folds: int, groups=None, seed: int = 0) -> np.ndarray:
    """(N,) fold index in [0, folds): every class spread over the folds; with ``groups``
    (N,) every group kept inside one fold."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = np.asarray(labels)
    n = len(labels)
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    out = np.empty(n, dtype=np.int64)
    if groups is None:
        split = StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), labels)
    else:
        split = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), labels, groups)
    try:
        parts = list(split)
    except ValueError:  # fewer videos than folds: no stratification possible
        return np.random.default_rng(seed).permutation(np.arange(n) % folds)
    for k, (_, test) in enumerate(parts):
        out[test] = k
    return out


def clip_features(frame_embeddings: np.ndarray, offsets, clip_starts, *, frames: int, stride: int) -> np.ndarray:
    """(N, M, 2D) features of each scored clip: the mean embedding of its T frames and its last
    frame minus its first (the movement inside the clip). ``frame_embeddings`` (F, D) holds
    every frame of every video back to back, video i starting at ``offsets[i]``;
    ``clip_starts`` (N, M) are frame indices inside each video."""
    starts = np.asarray(clip_starts, dtype=np.int64)
    idx = np.asarray(offsets, dtype=np.int64)[:, None, None] + starts[:, :, None] + np.arange(frames) * stride
    # gather, then cast: casting first would copy a whole memory-mapped cache into memory
    clips = np.asarray(frame_embeddings)[idx].astype(np.float32)  # (N, M, T, D)
    return np.concatenate([clips.mean(2), clips[:, :, -1] - clips[:, :, 0]], axis=-1)


def out_of_fold_probs(features, labels, fold, *, num_classes: int, config: CrossfitConfig | None = None,
                      progress=None) -> np.ndarray:
    """(N, M, C) out-of-fold clip probabilities. ``features`` (N, M, D) per clip; every clip of
    a training-fold video is a sample with its video's given label."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    cfg = config or CrossfitConfig()
    x = np.asarray(features, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    fold = np.asarray(fold)
    if x.ndim != 3 or len(x) != len(labels) or len(fold) != len(labels):
        raise ValueError(f"features {x.shape}, labels {labels.shape} and fold {fold.shape} must share N rows")
    n, m, d = x.shape
    out = np.zeros((n, m, num_classes), dtype=np.float64)
    for k in np.unique(fold):
        fit, held = fold != k, fold == k
        xs = x[fit].reshape(-1, d)
        ys = np.repeat(labels[fit], m)
        scaler = StandardScaler().fit(xs)
        head = LogisticRegression(C=cfg.l2, max_iter=cfg.max_iter, random_state=cfg.seed)
        head.fit(scaler.transform(xs), ys)
        probs = head.predict_proba(scaler.transform(x[held].reshape(-1, d))).reshape(held.sum(), m, -1)
        full = np.zeros((held.sum(), m, num_classes))
        full[:, :, head.classes_] = probs  # a class absent from the training folds gets 0
        out[held] = full
        if progress is not None:
            progress(int(k))
    return out
