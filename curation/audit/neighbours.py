"""Neighbour vote: a label-error baseline on frozen embeddings that trains nothing (in the
style of deep k-NN and SimiFeat). A video whose nearest videos in embedding space mostly
carry another label is suspect; no classifier is fitted, so nothing can memorise the label
it judges.

Neighbours are searched among the videos of the OTHER folds only, the folds of the
out-of-fold heads (curation.audit.crossfit): a video never votes for itself, and a near
duplicate kept in its fold (the same subject, the same clip cut twice) cannot vouch for its
label. See docs/ARCHITECTURE.md, "Method".

Shapes: N videos, D feature size, C classes, k neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curation.audit import crossfit
from curation.errors import CurationError

# Why 10 neighbours: the vote share moves in steps of 1/k, so k must be large enough that "no
# neighbour shares the label" and "most do" lie far apart: with a quarter of the labels wrong
# at random, half or more of 10 neighbours of a clean video still carry its label 98% of the
# time (binomial), against 90% for 3 of 5. And k must stay small beside the rarest class, so the
# neighbours stay in its region: DFER sets hold on the order of a hundred videos of their
# rarest class, less a fold, and a few dozen neighbours would reach into other classes.
DEFAULT_K = 10


@dataclass(frozen=True)
class Vote:
    """The neighbour vote on N videos."""

    score: np.ndarray       # (N,) 1 - vote share of the given label; higher = more likely mislabelled
    suggested: np.ndarray   # (N,) the class with most votes (the given label when it ties)
    votes: np.ndarray       # (N, C) vote share per class; rows sum to 1 (feeds cleanlab's filters)
    neighbours: np.ndarray  # (N, k) row indices of the neighbours, most similar first


def neighbour_vote(features, labels, fold, *, num_classes: int, k: int = DEFAULT_K, weighted: bool = False,
                   block: int = 1024) -> Vote:
    """Each video's ``k`` most cosine-similar videos among the other folds vote with their
    given labels. ``weighted``: a vote counts its similarity (clipped at 0) instead of 1.
    ``fold`` (N,) as from crossfit.fold_assignment; ``block``: queries per similarity block
    (bounds memory). Ties among equally similar candidates break by row order."""
    x, labels, fold = _check(features, labels, fold, num_classes=num_classes, k=k)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    nbr = np.empty((n, k), dtype=np.int64)
    sim = np.empty((n, k))
    for f in np.unique(fold):
        held, pool = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        xp = x[pool]
        for s in range(0, len(held), block):
            q = held[s: s + block]
            s_all = x[q] @ xp.T                                           # (b, P)
            order = np.argsort(-s_all, axis=1, kind="stable")[:, :k]      # stable: ties by row order
            nbr[q] = pool[order]
            sim[q] = np.take_along_axis(s_all, order, 1)
    w = np.clip(sim, 0.0, None) if weighted else np.ones_like(sim)
    w[w.sum(1) == 0] = 1.0  # every neighbour dissimilar: count them plainly
    votes = np.zeros((n, num_classes))
    np.add.at(votes, (np.repeat(np.arange(n), k), labels[nbr].ravel()), w.ravel())
    votes /= votes.sum(1, keepdims=True)
    own = votes[np.arange(n), labels]
    suggested = np.where(own >= votes.max(1), labels, votes.argmax(1))
    return Vote(1.0 - own, suggested.astype(np.int64), votes, nbr)


def fewest_candidates(fold) -> int:
    """The smallest number of videos outside one fold: the largest usable k."""
    return len(fold) - int(np.unique(np.asarray(fold), return_counts=True)[1].max())


def _check(features, labels, fold, *, num_classes: int, k: int):
    """Validate at the door; every error names the argument at fault."""
    x = np.asarray(features, dtype=np.float64)
    labels, fold = np.asarray(labels), np.asarray(fold)
    if x.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {x.shape}")
    if len(x) == 0:
        raise ValueError("features holds no videos")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be 1-D integer class indices, got shape {labels.shape}, dtype {labels.dtype}")
    if len(labels) != len(x):
        raise ValueError(f"labels has {len(labels):,} rows but features has {len(x):,}")
    if fold.ndim != 1 or len(fold) != len(x):
        raise ValueError(f"fold has shape {fold.shape} but features has {len(x):,} rows")
    if num_classes < 1 or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}, "
                         f"got {labels.min()}..{labels.max()}")
    bad = np.flatnonzero(~np.isfinite(x).all(1))
    if len(bad):
        raise ValueError(f"features has non-finite entries in {len(bad)} row(s), first row {bad[0]}")
    flat = np.flatnonzero(~(np.abs(x) > 0).any(1))
    if len(flat):
        raise ValueError(f"features row {flat[0]} is all zeros: cosine similarity needs a direction")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    folds, counts = np.unique(fold, return_counts=True)
    if len(folds) < 2:
        raise ValueError(f"fold holds one fold only ({folds[0]}): every candidate would share the "
                         "video's own fold; use 2 or more folds")
    fewest = fewest_candidates(fold)
    if k > fewest:
        worst = folds[int(counts.argmax())]
        raise ValueError(f"k={k} is larger than the {fewest} candidate video(s) outside fold {worst}; "
                         f"use k <= {fewest} or fewer folds")
    return x, labels.astype(np.int64), fold


def video_features(frame_embeddings, offsets, clip_starts, *, frames: int, stride: int, block: int = 256) -> np.ndarray:
    """(N, 2D) one vector per video: the mean over its scored clips of crossfit.clip_features
    (each clip's mean embedding and its movement), which is what the out-of-fold heads see,
    so the vote and the heads differ only in how they decide. Standardised per dimension
    over the videos (no labels used), so the look every face shares does not dominate the
    cosine. ``block`` videos are gathered at a time."""
    starts = np.asarray(clip_starts, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    parts = [crossfit.clip_features(frame_embeddings, offsets[s: s + block], starts[s: s + block], frames=frames,
                                    stride=stride).mean(1) for s in range(0, len(starts), block)]
    x = np.concatenate(parts).astype(np.float64) if parts else np.zeros((0, 2 * np.shape(frame_embeddings)[1]))
    sd = x.std(0)
    return (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)


# ---------------------------------------------------------------- run level


@dataclass
class VotePool:
    """One run's vote inputs, rows in scores.parquet order: every video votes; ``rows`` are
    the audited ones (one split)."""

    features: np.ndarray    # (N, 2D) video_features
    labels: np.ndarray      # (N,) given labels, class indices
    fold: np.ndarray        # (N,) the out-of-fold heads' folds
    rows: np.ndarray        # (n,) positions of the audited videos
    kind: str               # what the features are, for tables

    @property
    def fewest_candidates(self) -> int:
        return fewest_candidates(self.fold)


def run_pool(run, manifest, scores, *, rows, clips: int) -> tuple[VotePool | None, str]:
    """The vote pool of a run (a RunDir; ``scores`` as RunDir.read_scores gives them, with
    ``clips`` clips per video in clip_probs.npy), or None and why there is none: no
    embedding cache, a cache of other videos, no usable clip layout. Callers skip the
    baseline then; it never stops the others. Folds: those of `score --out-of-fold` when the
    run was scored so (config.json), else crossfit's defaults."""
    if not run.embeddings.exists():
        return None, f"{run.embeddings} does not exist (make it with `dfer-curate embed {run.path}`)"
    try:
        emb, meta = run.read_embeddings()
    except CurationError as exc:
        return None, str(exc)
    ids = scores["video_id"].astype(str).tolist()
    pos = {v: i for i, v in enumerate(meta["video_ids"])}
    if len(pos) != len(ids) or any(v not in pos for v in ids):
        return None, f"{run.embeddings} was made for other videos; run `dfer-curate embed {run.path}` again"
    starts = run.read_clip_starts(len(ids), clips)
    if starts is None:
        return None, (f"{run.clip_starts} is missing or does not fit clip_probs.npy; "
                      f"re-run `dfer-curate score {run.path}`")
    conf = run.load_config()
    layout = conf.get("score") if "frames" in (conf.get("score") or {}) else conf.get("train") or {}
    t, stride = layout.get("frames"), layout.get("stride")
    if not (isinstance(t, int) and isinstance(stride, int) and t >= 1 and stride >= 1):
        return None, f"{run.config} records no clip length (frames, stride); re-run `dfer-curate score {run.path}`"
    at = np.array([pos[v] for v in ids], dtype=np.int64)
    offsets, lengths = np.asarray(meta["offsets"])[at], np.asarray(meta["lengths"])[at]
    if (starts < 0).any() or (starts + (t - 1) * stride >= lengths[:, None]).any():
        return None, f"{run.clip_starts} has clips reaching past their video's embedded frames; re-run score"
    saved = (conf.get("score") or {}).get("crossfit")
    cfg = crossfit.CrossfitConfig(**{k: saved[k] for k in ("folds", "seed") if k in saved}) if isinstance(
        saved, dict) else crossfit.CrossfitConfig()
    mpos = {v: i for i, v in enumerate(manifest.df["video_id"].astype(str))}
    fold = crossfit.manifest_folds(manifest, cfg)[[mpos[v] for v in ids]]
    labels = np.asarray(manifest.label_index(scores["label"]), dtype=np.int64)
    kind = (f"frame embeddings (encoder {meta['encoder_sha256'][:12]}), mean of {clips} clips; neighbours in the "
            f"other {cfg.folds - 1} of {cfg.folds} folds")
    feats = video_features(emb, offsets, starts, frames=t, stride=stride)
    return VotePool(feats, labels, fold, np.asarray(rows, dtype=np.int64), kind), ""
