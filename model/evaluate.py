"""`evaluate`: UAR and WAR of the trained model on a split (the clean test split by default)."""

from __future__ import annotations

import numpy as np
import torch

from curation.errors import ManifestError
from curation.data.manifest import read_manifest
from curation.audit.metrics import uar_war
from curation.runs import RunDir
from model import data
from model.config import ScoreConfig
from model.embed import network_inputs
from model.given_encoder import learned_splits
from model.inference import load_model, predict, resolve_device


def evaluate(run_dir, split: str = "test", *, checkpoint: str = "best", device: str = "auto",
             clips: int | None = None) -> dict:
    """Video-level predictions (video head over ``clips`` uniform clips, default the score
    stage's count) against the split's labels (``true_label`` when the manifest has ground
    truth, else ``label``). Returns uar, war, n, per-class recall, which labels were used, and
    ``held_out``: False when the run's frame encoder learned this split's given labels (the
    default audit encoder learns every split's), so the number is not a measurement."""
    run = RunDir(run_dir)
    manifest = read_manifest(run.path)
    rows = np.flatnonzero(manifest.df["split"].to_numpy() == split)
    if len(rows) == 0:
        raise ManifestError(f"the manifest of {run.path} has no {split!r} videos to evaluate on")
    torch.manual_seed(0)
    dev = resolve_device(device)
    net, tcfg, ck = load_model(run.checkpoints / f"{checkpoint}.pt", manifest.classes, dev)
    store = network_inputs(run.path, manifest, tcfg)
    data.check_lengths(store, rows, tcfg.frames, pad=tcfg.pad_short)
    n_u = clips or ScoreConfig().uniform_clips
    _, logits = predict(net, store, rows, tcfg, dev, n_uniform=n_u)
    column = "true_label" if manifest.has_ground_truth else "label"
    classes = np.asarray(manifest.classes)
    y_true = manifest.df[column].to_numpy()[rows].astype(str)
    y_pred = classes[logits.argmax(1)]
    uar, war = uar_war(y_true, y_pred, classes=list(classes))
    recall = {c: float(np.mean(y_pred[y_true == c] == c)) for c in classes if np.any(y_true == c)}
    encoder_learned = split in encoder_splits(run, tcfg)
    return {"split": split, "uar": uar, "war": war, "n": int(len(rows)), "labels": column,
            "held_out": not encoder_learned,
            "per_class_recall": recall, "checkpoint": checkpoint, "epoch": int(ck["state"]["epoch"])}


def encoder_splits(run: RunDir, tcfg) -> tuple[str, ...]:
    """Whose given labels the frame encoder under the run's network learned: the embeddings'
    encoder on the frozen path, the --init file when fine-tuned, none when trained from scratch."""
    from pathlib import Path

    if tcfg.frozen:
        _, meta = run.read_embeddings()
        return learned_splits(run.path / "encoder.json", sha256=str(meta["encoder_sha256"]))
    return learned_splits(Path(tcfg.init).with_suffix(".json")) if tcfg.init else ()

