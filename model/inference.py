"""Inference shared by training, scoring and evaluation: the device, clip positions,
eval-mode predictions and checkpoint loading (see docs/ARCHITECTURE.md, "Method")."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from curation.errors import ConfigError, RunError
from model import data
from model.config import TrainConfig
from model.network import build_network


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but CUDA is not available here; use --device cpu")
    if name == "cuda":
        return torch.device(f"cuda:{local_rank}")
    if name != "cpu" and not name.startswith("cuda:"):
        raise ConfigError(f"device must be cpu, cuda, cuda:N or auto, not {name!r}")
    return torch.device(name)


def batch_starts(store, rows, cfg: TrainConfig, rng, *, train: bool, n_uniform: int, n_key: int = 0):
    starts = []
    for r in rows:
        length = int(store.lengths[r])
        _, span = data.clip_span(length, cfg.frames, cfg.stride)
        sal = None
        if cfg.resample and (n_key or train):
            sal = store.saliency[store.offsets[r]: store.offsets[r] + length]
        starts.append(data.clip_starts(length, n_uniform, span, train=train, rng=rng, saliency=sal,
                                       key_mix=cfg.key_mix, key_clips=n_key))
    return starts


@torch.no_grad()
def predict(net, store, rows, cfg: TrainConfig, device, *, n_uniform: int, n_key: int = 0,
            batch_size: int = 32, progress: bool = False, desc: str = "score",
            starts_out: list | None = None):
    """Eval-mode clip probabilities (n, n_uniform + n_key, C) and video logits (n, C).
    The video head sees the uniform clips in time order; key clips add clip votes.
    ``starts_out``, if given, receives each video's clip start frames (same clip order)."""
    from tqdm import tqdm

    net.eval()
    probs, logits = [], []
    rows = np.asarray(rows)
    for i in tqdm(range(0, len(rows), batch_size), desc=desc, disable=not progress, leave=False):
        chunk = rows[i: i + batch_size]
        starts = batch_starts(store, chunk, cfg, None, train=False, n_uniform=n_uniform, n_key=n_key)
        if starts_out is not None:
            starts_out.extend(np.asarray(s, np.int64) for s in starts)
        x = data.make_batch(store, chunk, starts, cfg.frames, cfg.stride, neutral_ref=cfg.neutral_ref)
        v, c = net(torch.from_numpy(x).to(device), video_clips=n_uniform)
        probs.append(torch.softmax(c.float(), -1).cpu().numpy())
        logits.append(v.float().cpu().numpy())
    if not probs:
        c = net.clip_head.out_features
        return np.zeros((0, n_uniform + n_key, c)), np.zeros((0, c))
    return np.concatenate(probs), np.concatenate(logits)


# ---------------------------------------------------------------- checkpoints

def load_checkpoint(path, *, classes=None, config: TrainConfig | None = None) -> dict:
    """Read a checkpoint and check it fits these classes and this network shape."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"checkpoint {path} does not exist: run `dfer-curate train {path.parent.parent}` first")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ConfigError(f"checkpoint {path} cannot be read ({exc}); train again") from exc
    if not isinstance(ck, dict) or ck.get("format") != 1:
        raise ConfigError(f"checkpoint {path} is not a dfer-curate checkpoint; train again")
    if classes is not None and list(ck["classes"]) != list(classes):
        raise ConfigError(
            f"checkpoint {path} was trained on classes {ck['classes']} but the manifest has {list(classes)}; "
            f"train again (without --resume) for these classes"
        )
    if config is not None:
        old = TrainConfig.from_dict(ck["config"]).model_fields()
        new = config.model_fields()
        diff = {k: (old[k], new[k]) for k in old if old[k] != new[k]}
        if diff:
            raise ConfigError(
                f"checkpoint {path} has another network configuration {diff} (checkpoint, now); "
                f"use the same settings or train without --resume"
            )
    return ck


def load_weights(net, ck: dict, path) -> None:
    """Put a checkpoint's weights into ``net``; a checkpoint of an older network layout
    (same configuration, other layers) gets a clear error instead of torch's key dump."""
    try:
        net.load_state_dict(ck["model"])
    except RuntimeError as exc:
        raise ConfigError(f"checkpoint {path} was written by another version of the network and does not fit "
                          f"this one; train again (without --resume)") from exc


def load_model(path, classes, device):
    """The network of a checkpoint in eval mode on ``device``, its TrainConfig and the
    checkpoint dict."""
    ck = load_checkpoint(path, classes=classes)
    cfg = TrainConfig.from_dict(ck["config"])
    net = build_network(len(classes), dataclasses.replace(cfg, encoder_weights=None, init=None)).to(device)
    load_weights(net, ck, path)
    net.eval()
    return net, cfg, ck
