"""K-fold training and out-of-fold scoring: every train video is scored by the model that
did not see it (see docs/ARCHITECTURE.md, "Method")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from curation.data.manifest import read_manifest
from curation.errors import ConfigError
from curation.runs import RunDir
from model import score as score_mod
from model.config import ScoreConfig, TrainConfig
from model.inference import batch_starts, load_model, predict, resolve_device
from model.score import clip_counts
from model.train import Dist, fit, load_store, make_plan


def train_folds(run_dir, folds: int = 3, config: TrainConfig | None = None, *, progress: bool = True) -> pd.DataFrame:
    """Train ``folds`` models, each without one fold of the train split, and score every
    train video with the model that did not see it (out-of-fold); val/test videos get the
    mean of the fold models. Writes scores.parquet, clip_probs.npy, video_logits.npy."""
    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    cfg = dataclasses.replace((config or TrainConfig()).validate(), folds=folds)
    run = RunDir(run_dir)
    manifest = read_manifest(run.path)
    base = make_plan(manifest, cfg)
    df = manifest.df
    tr_all = np.flatnonzero(df["split"].to_numpy() == "train")
    if "fold" in df.columns and df["fold"].notna().all() and df.loc[tr_all, "fold"].nunique() == folds:
        fold_of = df["fold"].to_numpy()[tr_all].astype(int)
        fold_of = np.unique(fold_of, return_inverse=True)[1]
    else:
        fold_of = np.random.default_rng(cfg.seed + 31).permutation(len(tr_all)) % folds
    store = load_store(run, manifest, cfg, Dist(), progress)
    models = []
    for f in range(folds):
        plan = make_plan(manifest, cfg, exclude_rows=tr_all[fold_of == f])
        ck_dir = run.checkpoints / f"fold{f}"
        fit(run, manifest, plan, cfg, ck_dir, progress=progress, resume=False, write_dynamics=False, store=store)
        models.append((ck_dir / "best.pt", tr_all[fold_of == f]))
    return score_folds(run, manifest, store, models, base, progress=progress)


def score_folds(run: RunDir, manifest, store, models, plan, *, progress: bool = True,
                config: ScoreConfig | None = None) -> pd.DataFrame:
    """Out-of-fold scores: each fold's train videos by the model trained without them;
    every other video by the mean of the fold models."""
    sc = config or ScoreConfig()
    device = resolve_device(sc.device)
    n = len(manifest.df)
    is_train = manifest.df["split"].to_numpy() == "train"
    clip_probs = video_logits = None
    others = np.flatnonzero(~is_train)
    for path, fold_rows in models:
        net, tcfg, _ = load_model(path, manifest.classes, device)
        n_u, n_k = clip_counts(sc, tcfg)
        if clip_probs is None:
            clip_probs = np.zeros((n, n_u + n_k, len(manifest.classes)), np.float32)
            video_logits = np.zeros((n, len(manifest.classes)), np.float32)
        p, v = predict(net, store, fold_rows, tcfg, device, n_uniform=n_u, n_key=n_k, progress=progress)
        clip_probs[fold_rows], video_logits[fold_rows] = p, v
        p, v = predict(net, store, others, tcfg, device, n_uniform=n_u, n_key=n_k, progress=progress)
        clip_probs[others] += p / len(models)
        video_logits[others] += v / len(models)
    starts = batch_starts(store, np.arange(n), tcfg, None, train=False, n_uniform=n_u, n_key=n_k)
    score_mod.write_clip_layout(run, manifest, store, np.stack(starts))
    run.save_config("score", sc.to_dict())
    return score_mod.write_scores(run, manifest, clip_probs, video_logits, sc, train_source="out-of-fold")
