"""Out-of-fold audit of every split from cached frame embeddings (docs/ARCHITECTURE.md,
"Method"): K linear clip heads, each scoring the videos its training folds left out, so
train, val and test videos rank on one scale and no score comes from a model that fitted
the label it judges. No torch here: the embeddings are numpy arrays.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from curation.audit import agreement as agr
from curation.audit import crossfit
from curation.errors import RunError
from curation.fileio import write_npy, write_parquet
from curation.runs import RunDir
from curation.schema import SCORES_COLUMNS, SCORES_OPTIONAL, conform
from model import data

log = logging.getLogger(__name__)


@dataclass
class OofConfig:
    uniform_clips: int = 8  # clips per video at segment centres
    key_clips: int = 4  # extra clips on the most salient windows (where the expression is)
    frames: int = 4  # frames per clip
    stride: int = 3  # frame step inside a clip
    crossfit: crossfit.CrossfitConfig = field(default_factory=crossfit.CrossfitConfig)
    triage: agr.TriageConfig = field(default_factory=agr.TriageConfig)

    def to_dict(self) -> dict:
        return asdict(self)


def clip_layout(store: data.FrameStore, cfg: OofConfig, rows=None) -> np.ndarray:
    """(N, M) start frame of every scored clip (of ``rows`` only, when given): segment
    centres, then the salient windows."""
    out = []
    for i in (range(len(store.video_ids)) if rows is None else rows):
        length = int(store.lengths[i])
        _, span = data.clip_span(length, cfg.frames, cfg.stride)
        sal = store.saliency[store.offsets[i]: store.offsets[i] + length]
        out.append(data.clip_starts(length, cfg.uniform_clips, span, train=False, saliency=sal,
                                    key_clips=cfg.key_clips))
    return np.stack(out) if out else np.zeros((0, cfg.uniform_clips + cfg.key_clips), np.int64)


def out_of_fold_clip_probs(embeddings: data.FrameStore, manifest, cfg: OofConfig, *, progress: bool = False):
    """(clip_probs (N, M, C), clip_starts (N, M), fold (N,)) for every manifest video."""
    starts = clip_layout(embeddings, cfg)
    feats = crossfit.clip_features(embeddings.frames, embeddings.offsets, starts, frames=cfg.frames,
                                   stride=cfg.stride)
    labels = np.asarray(manifest.label_index(manifest.df["label"]), dtype=np.int64)
    fold = crossfit.manifest_folds(manifest, cfg.crossfit)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.crossfit.folds, desc="fold heads", unit="fold", leave=False)
    probs = crossfit.out_of_fold_probs(feats, labels, fold, num_classes=len(manifest.classes), config=cfg.crossfit,
                                       progress=(lambda k: bar.update()) if bar else None)
    if bar:
        bar.close()
    return probs, starts, fold


def fold_head_rates(embeddings: data.FrameStore, labels, rows, *, num_classes: int, config: OofConfig | None = None,
                    chunk: int = 2000) -> np.ndarray | None:
    """(C,) noise rate per given class from cleanlab's confident joint of out-of-fold
    probabilities: K linear heads on ``rows``' video features (the mean of their scored
    clips' features), each predicting the videos its folds left out. In-sample
    probabilities of a network that fitted the labels drive the rates toward zero and the
    flag count with them (docs/ARCHITECTURE.md, "Method"). Videos are gathered ``chunk`` at
    a time, so memory stays flat at any dataset size. None when there are fewer than two
    videos per fold or a single class."""
    cfg = config or OofConfig()
    rows = np.asarray(rows, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(rows) != len(labels):
        raise ValueError(f"rows ({len(rows)}) and labels ({len(labels)}) must align")
    if len(np.unique(labels)) < 2 or len(labels) < 2 * cfg.crossfit.folds:
        return None  # too few videos to hold any out
    from sklearn.exceptions import ConvergenceWarning

    feats = []
    for lo in range(0, len(rows), chunk):
        part = rows[lo: lo + chunk]
        starts = clip_layout(embeddings, cfg, part)
        offsets = np.asarray(embeddings.offsets)[part]
        feats.append(crossfit.clip_features(embeddings.frames, offsets, starts, frames=cfg.frames,
                                            stride=cfg.stride).mean(1))
    x = np.concatenate(feats)[:, None, :]  # (n, 1, 2D): one "clip" per video
    fold = crossfit.fold_assignment(labels, folds=cfg.crossfit.folds, seed=cfg.crossfit.seed)
    with warnings.catch_warnings():  # 300 or 1000 lbfgs steps gave the same rates on the bench's sets
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        probs = crossfit.out_of_fold_probs(x, labels, fold, num_classes=num_classes, config=cfg.crossfit)[:, 0]
    return agr.confident_noise_rates(probs, labels, num_classes=num_classes)


def training_rates(store: data.FrameStore, labels, rows, cfg, *, num_classes: int) -> np.ndarray | None:
    """The noise rates triage flags by, fixed before training (None: the trainer estimates
    them in-sample at the plateau). A ``--frozen`` run (TrainConfig ``cfg``) with
    ``flag_rates="out-of-fold"`` takes them from K-fold heads on the training videos'
    embeddings, so training-time triage and `score` (which reads them from the evidence)
    flag the same count."""
    if not (cfg.frozen and cfg.flag_rates == "out-of-fold"):
        return None
    rates = fold_head_rates(store, labels, rows, num_classes=num_classes)
    if rates is None:
        log.warning("%d training videos are too few for K-fold noise rates; estimating them in-sample", len(rows))
    return rates


def scores_table(manifest, clip_probs: np.ndarray, cfg: OofConfig) -> pd.DataFrame:
    """The scores table of every video, audited together (one scale, one set of noise rates)."""
    df = manifest.df
    labels = np.asarray(manifest.label_index(df["label"]), dtype=np.int64)
    res = agr.audit_out_of_fold(clip_probs, labels, config=cfg.triage)
    return agr.scores_frame(df, manifest.classes, res, score_source="out-of-fold")


def score_out_of_fold(run_dir, embeddings: data.FrameStore, config: OofConfig | None = None, *,
                      progress: bool = True) -> pd.DataFrame:
    """Score every video of RUN out of fold from ``embeddings`` (a FrameStore whose frames
    are (F, D) per-frame embeddings); writes scores.parquet, clip_probs.npy, clip_starts.npy."""
    cfg = config or OofConfig()
    run = RunDir(run_dir)
    manifest = run.read_manifest()
    if list(embeddings.video_ids) != manifest.df["video_id"].astype(str).tolist():
        raise RunError(f"the embeddings of {run.path} were made for other videos than its manifest; "
                       f"run `dfer-curate embed {run.path}` again")
    clip_probs, starts, _ = out_of_fold_clip_probs(embeddings, manifest, cfg, progress=progress)
    return write_out_of_fold(run, manifest, clip_probs, starts, cfg, source={"source": "out-of-fold", **cfg.to_dict()})


def write_out_of_fold(run: RunDir, manifest, clip_probs: np.ndarray, starts: np.ndarray, cfg: OofConfig, *,
                      source: dict) -> pd.DataFrame:
    """Audit out-of-fold clip probabilities of every video and write scores.parquet,
    clip_probs.npy, clip_starts.npy and the score config ``source``. A video head's logits left
    by an earlier in-sample `score` are removed: baselines would read them as this run's
    probabilities."""
    out = conform(scores_table(manifest, clip_probs, cfg), SCORES_COLUMNS, table="scores", optional=SCORES_OPTIONAL)
    write_parquet(run.scores, out)
    write_npy(run.clip_probs, clip_probs.astype(np.float32))
    write_npy(run.clip_starts, starts.astype(np.int64))
    run.video_logits.unlink(missing_ok=True)
    run.save_config("score", source)
    return out
