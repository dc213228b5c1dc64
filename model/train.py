"""`train`: fit the dual-stream network on the manifest's train split while recording
cross-clip agreement dynamics, triaging videos into clean/hard/noisy once held-out accuracy
plateaus, and training robustly from then on (see docs/ARCHITECTURE.md, "Method").

Why the dynamics: a network fits noisy labels within some epochs and its final in-sample
predictions then hide the noise. Each epoch we keep the clip probabilities of every training
video from the training pass (made before that step's update) and smooth them over a window
of epochs; triage and scores use that temporal ensemble, not the final model alone.

Distributed: under torchrun (RANK/WORLD_SIZE set) each rank takes a shard of every global
batch (gloo on CPU, nccl on GPU); the result matches one process up to BatchNorm statistics.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from curation.audit import agreement as agr
from curation.errors import ConfigError, ManifestError
from curation.fileio import atomic_path, write_json, write_parquet
from curation.data.manifest import read_manifest
from curation.audit.metrics import weak_model_warning
from curation.runs import TRAIN_LOG, RunDir
from curation.schema import DYNAMICS_COLUMNS, VERDICTS, conform
from model import data, embed, encoders, oof
from model.config import TrainConfig
from model.inference import CHECKPOINT_FORMAT, batch_starts, load_checkpoint, load_weights, predict, resolve_device
from model.network import build_network
from model.safe_load import arrays_from_safe, to_safe

log = logging.getLogger(__name__)

VERDICT_CODE = {v: i for i, v in enumerate(VERDICTS)}
CODE_VERDICT = np.array(VERDICTS)


# ---------------------------------------------------------------- environment

@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_dist(device: str) -> Dist:
    """Join the torchrun process group when its variables are set; else a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or "RANK" not in os.environ:
        return Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _seed_all(seed: int) -> None:
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False


def _allsum(t: torch.Tensor, dist_: Dist) -> torch.Tensor:
    if dist_.world > 1:
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def _barrier(dist_: Dist) -> None:
    if dist_.world > 1:
        import torch.distributed as dist

        dist.barrier()


# ---------------------------------------------------------------- inputs

@dataclass
class Plan:
    """Which manifest rows train, which are held out for early stopping."""

    classes: list[str]
    labels: np.ndarray  # (N,) given label index of every manifest row
    train_rows: np.ndarray
    heldout_rows: np.ndarray
    heldout_kind: str  # 'val' or 'train-holdout'


def make_plan(manifest, cfg: TrainConfig, *, exclude_rows: np.ndarray | None = None) -> Plan:
    """Check the manifest can train and pick the held-out rows (val, else a seeded share)."""
    df = manifest.df
    classes = manifest.classes
    labels = np.asarray(manifest.label_index(df["label"]), dtype=np.int64)
    split = df["split"].to_numpy()
    train_rows = np.flatnonzero(split == "train")
    if exclude_rows is not None:
        train_rows = np.setdiff1d(train_rows, exclude_rows)
    if len(train_rows) == 0:
        raise ManifestError("the manifest's train split is empty: nothing to train on; give videos the split "
                            "train in the label file (csv: the split column; dfer-clip: --train FILE) and ingest again")
    present = set(labels[train_rows].tolist())
    missing = [c for i, c in enumerate(classes) if i not in present]
    if missing:
        raise ManifestError(
            f"class(es) {missing} have no video in the train split; the model cannot learn them. "
            f"Add training videos for them or remove them from the class list"
        )
    val_rows = np.flatnonzero(split == "val")
    if len(val_rows):
        return Plan(classes, labels, train_rows, val_rows, "val")
    rng = np.random.default_rng(cfg.seed + 7919)
    held = []
    for c in range(len(classes)):  # stratified, so rare classes stay in training
        rows = train_rows[labels[train_rows] == c]
        k = max(1, int(round(len(rows) * cfg.holdout)))
        if len(rows) >= 3:
            held.append(rng.choice(rows, size=k, replace=False))
    held_rows = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    if len(held_rows) == 0:
        raise ManifestError("no val split and the train split is too small to hold out videos for early stopping")
    return Plan(classes, labels, np.setdiff1d(train_rows, held_rows), held_rows, "train-holdout")


# ---------------------------------------------------------------- state

@dataclass
class TrainState:
    epoch: int = 0  # epochs completed
    step: int = 0
    history: np.ndarray | None = None  # (E, n_train, K, C) float16 train-pass clip probs
    video_logits: np.ndarray | None = None  # (E, n_train, C) float32 train-pass video logits
    losses: np.ndarray | None = None  # (E, n_train) float32
    verdicts: np.ndarray | None = None  # (E, n_train) int8 verdict at each epoch
    triage_from: int = -1  # first epoch after the held-out plateau: triage acts from here (-1 = not yet)
    noise_rates: np.ndarray | None = None  # (C,) out-of-fold (oof.training_rates), else estimated at the plateau
    active: np.ndarray | None = None  # (n_train,) int8 verdicts used for training now
    relabel_to: np.ndarray | None = None  # (n_train,) int64 the triage's suggested class now (noisy videos train toward it)
    log: list = field(default_factory=list)  # per-epoch metrics dicts
    best_score: float = -1.0
    best_epoch: int = -1
    stale: int = 0


def _window(state: TrainState, cfg: TrainConfig, upto: int) -> np.ndarray:
    """Stack the window of epochs ending at ``upto`` (inclusive) along the clip axis."""
    lo = max(0, upto - cfg.window + 1)
    h = state.history[lo: upto + 1].astype(np.float32)  # (w, n, K, C)
    return np.transpose(h, (1, 0, 2, 3)).reshape(h.shape[1], -1, h.shape[3])


def _checkpoint_payload(net, opt, state: TrainState, cfg, plan: Plan, rng, train_ids) -> dict:
    module = net.module if hasattr(net, "module") else net
    return {
        "format": CHECKPOINT_FORMAT, "model": module.state_dict(), "optimizer": opt.state_dict(),  # weights_only-safe
        "config": dataclasses.asdict(cfg),
        "classes": list(plan.classes),
        "train_ids": list(train_ids),
        "heldout_kind": plan.heldout_kind,
        "state": to_safe(dataclasses.asdict(state)),  # numpy arrays as tensors
        "np_rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
    }


def _save(path: Path, payload: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


# ---------------------------------------------------------------- loop

def train(run_dir, config: TrainConfig | None = None, *, progress: bool = True, resume: bool = False) -> dict:
    """Train on RUN's manifest; write RUN/checkpoints/{last,best}.pt, dynamics.parquet and
    RUN/train_log.json. ``resume`` continues from last.pt (same result as an uninterrupted
    run with the same seed). Returns a summary dict (epochs, best_epoch, heldout accuracy...)."""
    cfg = (config or TrainConfig()).validate()
    run = RunDir(run_dir)
    manifest = read_manifest(run.path)
    plan = make_plan(manifest, cfg)
    out = fit(run, manifest, plan, cfg, run.checkpoints, progress=progress, resume=resume)
    return out


def fit(run: RunDir, manifest, plan: Plan, cfg: TrainConfig, ckpt_dir: Path, *, progress: bool,
         resume: bool, write_dynamics: bool = True, store=None) -> dict:
    dist_ = _init_dist(cfg.device)
    device = resolve_device(cfg.device, dist_.local_rank)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    elif dist_.world > 1 and device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 2) // dist_.world))
    _seed_all(cfg.seed)
    if dist_.main:
        run.save_config("train", cfg)
    t0 = time.time()
    if store is None:
        store = load_store(run, manifest, cfg, dist_, progress)
    rows_all = np.concatenate([plan.train_rows, plan.heldout_rows])
    data.check_lengths(store, rows_all, cfg.frames, pad=cfg.pad_short)

    C = len(plan.classes)
    net = encoders.init_encoder(build_network(C, cfg), cfg).to(device)  # cfg.init: start from `pretrain`'s encoder
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    tr = plan.train_rows
    n_tr = len(tr)
    train_ids = [store.video_ids[r] for r in tr]
    state = TrainState(
        history=np.zeros((0, n_tr, cfg.clips, C), np.float16), video_logits=np.zeros((0, n_tr, C), np.float32),
        losses=np.zeros((0, n_tr), np.float32), verdicts=np.zeros((0, n_tr), np.int8),
        active=np.zeros(n_tr, np.int8), relabel_to=plan.labels[tr].copy(),
    )
    state.noise_rates = oof.training_rates(store, plan.labels[plan.train_rows], plan.train_rows, cfg, num_classes=C)
    ckpt_dir = Path(ckpt_dir)
    if resume and (ckpt_dir / "last.pt").exists():
        ck = load_checkpoint(ckpt_dir / "last.pt", classes=plan.classes, config=cfg)
        if ck["train_ids"] != train_ids:
            raise ConfigError(f"{ckpt_dir / 'last.pt'} was trained on other videos; train again without --resume")
        load_weights(net, ck, ckpt_dir / "last.pt")
        opt.load_state_dict(ck["optimizer"])
        state = TrainState(**arrays_from_safe(ck["state"]))
        rng.bit_generator.state = ck["np_rng"]
        torch.set_rng_state(ck["torch_rng"])
        log.info("resumed from %s after epoch %d", ckpt_dir / "last.pt", state.epoch)
    elif resume:
        log.info("no checkpoint in %s; starting from scratch", ckpt_dir)

    model = net
    if dist_.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(net, device_ids=[device.index] if device.type == "cuda" else None)

    steps_per_epoch = math.ceil(n_tr / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    from tqdm import tqdm

    bar = tqdm(total=total_steps, initial=state.step, desc="train", unit="step", disable=not (progress and dist_.main))
    loop = Loop(model, net, opt, store, plan, cfg, state, rng, dist_, device, steps_per_epoch, total_steps, bar)
    stopped = False
    for epoch in range(state.epoch, cfg.epochs):
        if _early_stop(state, cfg):
            stopped = True
            break
        _train_epoch(loop, epoch)
        _end_epoch(loop, epoch)
        rec = state.log[-1]
        bar.set_postfix(ep=epoch + 1, loss=f"{rec['loss']:.3f}", acc=f"{rec['train_acc']:.2f}",
                        val=f"{rec['heldout_acc']:.2f}", c=rec["clean"], h=rec["hard"], n=rec["noisy"])
        if dist_.main:
            payload = _checkpoint_payload(net, opt, state, cfg, plan, rng, train_ids)
            _save(ckpt_dir / "last.pt", payload)
            if state.best_epoch == epoch:
                _save(ckpt_dir / "best.pt", payload)
        _barrier(dist_)
    bar.close()
    if _early_stop(state, cfg):
        stopped = True
    summary = {
        "epochs": state.epoch, "best_epoch": state.best_epoch + 1, "best_heldout": state.best_score,
        "heldout": plan.heldout_kind, "early_stopped": stopped, "evidence_epoch": evidence_epoch(state, cfg) + 1, "triage_from": state.triage_from + 1 if state.triage_from >= 0 else None,
        "seconds": round(time.time() - t0, 1), "world_size": dist_.world, "log": state.log,
    }
    summary["warning"] = weak_model_warning(summary, C)
    if summary["warning"] and dist_.main:
        log.warning(summary["warning"])
    if dist_.main:
        if write_dynamics:
            write_parquet(run.dynamics, dynamics_frame(state, plan, cfg, train_ids))
            save_evidence(run.dynamics_probs, state, cfg, train_ids, plan.labels[plan.train_rows])
        write_json(ckpt_dir / TRAIN_LOG, summary)
    _barrier(dist_)
    return summary


def load_store(run, manifest, cfg, dist_, progress):
    if cfg.frozen or dist_.world == 1 or not cfg.cache:
        return embed.network_inputs(run.path, manifest, cfg, progress=progress and dist_.main)
    # several processes share one frame cache: the main one fills it, the others then read it
    cache_dir = run.path / "cache"
    if dist_.main:
        store = data.load_frames(manifest, size=cfg.size, grey=cfg.grey, cache_dir=cache_dir, progress=progress)
    _barrier(dist_)
    if not dist_.main:
        store = data.load_frames(manifest, size=cfg.size, grey=cfg.grey, cache_dir=cache_dir, workers=1)
    return store


def _early_stop(state: TrainState, cfg: TrainConfig) -> bool:
    # never stop before triage had a chance to run a few robust epochs
    if cfg.robust and state.triage_from < 0 and state.epoch < cfg.epochs:
        return False
    return state.stale >= cfg.patience


def _lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    warm = max(1, total // 20)
    if step < warm:
        return cfg.lr * (step + 1) / warm
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


@dataclass
class Loop:
    """What every epoch of one fit works with."""

    model: torch.nn.Module  # ``net``, or its DistributedDataParallel wrapper
    net: torch.nn.Module
    opt: torch.optim.Optimizer
    store: data.FrameStore
    plan: Plan
    cfg: TrainConfig
    state: TrainState
    rng: np.random.Generator
    dist: Dist
    device: torch.device
    steps: int  # optimiser steps per epoch
    total: int  # optimiser steps over all epochs (the learning-rate schedule's length)
    bar: object  # tqdm progress bar


def _train_epoch(loop: Loop, epoch: int) -> None:
    """One pass over the train videos; records their training-pass clip probabilities."""
    model, opt, store, plan, cfg, state, rng, dist_, device = (
        loop.model, loop.opt, loop.store, loop.plan, loop.cfg, loop.state, loop.rng, loop.dist, loop.device)
    C = len(plan.classes)
    tr = plan.train_rows
    n_tr = len(tr)
    labels = plan.labels[tr]
    use_triage = cfg.robust and state.triage_from >= 0
    weights = np.ones(n_tr, np.float32)
    targets = labels.copy()
    if use_triage:
        noisy = state.active == VERDICT_CODE["noisy"]
        weights[state.active == VERDICT_CODE["hard"]] = cfg.hard_weight
        if cfg.noisy_mode == "exclude":
            weights[noisy] = 0.0
        else:
            targets[noisy] = state.relabel_to[noisy]
    hist = np.zeros((n_tr, cfg.clips, C), np.float32)
    vlog = np.zeros((n_tr, C), np.float32)
    losses = np.zeros(n_tr, np.float32)
    order = rng.permutation(n_tr)
    model.train()
    for b in range(loop.steps):
        idx = order[b * cfg.batch_size: (b + 1) * cfg.batch_size]
        rows = tr[idx]
        starts = batch_starts(store, rows, cfg, rng, train=True, n_uniform=cfg.clips)
        x_all = data.make_batch(store, rows, starts, cfg.frames, cfg.stride, neutral_ref=cfg.neutral_ref, rng=rng, shift=cfg.shift)
        shard = np.arange(len(idx))[dist_.rank:: dist_.world]
        x = torch.from_numpy(x_all[shard]).to(device)
        y = torch.from_numpy(targets[idx][shard]).to(device)
        w = torch.from_numpy(weights[idx][shard]).to(device)
        wsum = float(weights[idx].sum())
        for g in opt.param_groups:
            g["lr"] = _lr_at(state.step, loop.total, cfg)
        v_logits, c_logits = model(x)
        v_ce = F.cross_entropy(v_logits, y, reduction="none", label_smoothing=cfg.label_smoothing)
        c_ce = F.cross_entropy(c_logits.flatten(0, 1), y.repeat_interleave(cfg.clips), reduction="none",
                               label_smoothing=cfg.label_smoothing).view(len(shard), cfg.clips).mean(1)
        per = v_ce + cfg.clip_loss_weight * c_ce
        loss = (per * w).sum() / max(wsum, 1e-6) * dist_.world
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            given = torch.from_numpy(labels[idx][shard]).to(device)
            hist[idx[shard]] = torch.softmax(c_logits.float(), -1).cpu().numpy()
            vlog[idx[shard]] = v_logits.float().cpu().numpy()
            losses[idx[shard]] = F.cross_entropy(v_logits.float(), given, reduction="none").cpu().numpy()
        state.step += 1
        loop.bar.update(1)
    if dist_.world > 1:
        hist = _allsum(torch.from_numpy(hist), dist_).numpy()
        vlog = _allsum(torch.from_numpy(vlog), dist_).numpy()
        losses = _allsum(torch.from_numpy(losses), dist_).numpy()
    state.history = np.concatenate([state.history, hist[None].astype(np.float16)])
    state.video_logits = np.concatenate([state.video_logits, vlog[None]])
    state.losses = np.concatenate([state.losses, losses[None]])


def _end_epoch(loop: Loop, epoch: int) -> None:
    """Held-out accuracy, triage from the smoothed window, plateau and early-stopping bookkeeping."""
    net, store, plan, cfg, state, dist_, device = (
        loop.net, loop.store, loop.plan, loop.cfg, loop.state, loop.dist, loop.device)
    C = len(plan.classes)
    held = plan.heldout_rows
    shard = held[dist_.rank:: dist_.world]
    _, vl = predict(net, store, shard, cfg, device, n_uniform=cfg.clips, batch_size=cfg.batch_size * 2)
    full = np.zeros((len(held), C), np.float32)
    full[np.arange(len(held))[dist_.rank:: dist_.world]] = vl
    full = _allsum(torch.from_numpy(full), dist_).numpy()
    from curation.audit.metrics import uar_war

    uar, war = uar_war(plan.labels[held], full.argmax(1))
    tr = plan.train_rows
    labels = plan.labels[tr]
    res = agr.audit(_window(state, cfg, epoch), labels, noise_rates=state.noise_rates)
    verdict = np.array([VERDICT_CODE[v] for v in res["verdict"]], np.int8)
    state.verdicts = np.concatenate([state.verdicts, verdict[None]])
    train_acc = float(np.mean(state.video_logits[epoch].argmax(1) == labels))
    score = 0.5 * (uar + war)
    if score > state.best_score + 1e-4:
        state.best_score, state.best_epoch, state.stale = score, epoch, 0
    else:
        state.stale += 1
    # triage starts after warm-up once held-out accuracy stops climbing; the noise
    # rates are estimated then and frozen: later in-sample estimates shrink as the network
    # memorizes, which would shrink the calibrated cut with them
    warm = min(cfg.warmup, math.ceil(0.4 * cfg.epochs))  # short runs scale the warm-up down
    if state.triage_from < 0 and epoch + 1 >= warm:
        recent = [r["heldout_score"] for r in state.log[-2:]] + [score]
        plateau = len(recent) >= 3 and max(recent[1:]) < recent[0] + 0.02
        if plateau or epoch + 1 >= min(2 * warm, cfg.epochs - max(2, cfg.epochs // 4)):
            state.triage_from = epoch + 1
            state.noise_rates = res["noise_rates"]
            if cfg.robust:
                state.best_score, state.stale = -1.0, 0  # robust epochs compete among themselves
    if cfg.robust and state.triage_from >= 0:
        state.active = verdict
        state.relabel_to = res["suggested"]  # the class the verdict routed by, as scoring suggests
    state.epoch = epoch + 1
    counts = {k: int(np.sum(res["verdict"] == k)) for k in VERDICTS}
    state.log.append({
        "epoch": epoch + 1, "loss": float(state.losses[epoch].mean()), "train_acc": train_acc,
        "heldout_uar": uar, "heldout_acc": war, "heldout_score": score,
        "memorization": train_acc - war, "robust": bool(cfg.robust and state.triage_from >= 0 and state.triage_from <= epoch),
        "est_noise": float(np.mean(res["noise_rates"][labels])), **counts,
    })
    log.info("epoch %d: loss %.3f train acc %.3f held-out acc %.3f uar %.3f | clean %d hard %d noisy %d",
             epoch + 1, state.log[-1]["loss"], train_acc, war, uar, counts["clean"], counts["hard"], counts["noisy"])


# ---------------------------------------------------------------- outputs

def dynamics_frame(state: TrainState, plan: Plan, cfg: TrainConfig, train_ids: list[str]) -> pd.DataFrame:
    """One row per (epoch, train video): agreement of that epoch's training-pass clips."""
    classes = np.asarray(plan.classes)
    labels = plan.labels[plan.train_rows]
    frames = []
    for e in range(state.epoch):
        a = agr.clip_agreement(state.history[e].astype(np.float32), labels)
        lg = state.video_logits[e]
        given = lg[np.arange(len(labels)), labels]
        other = lg.copy()
        other[np.arange(len(labels)), labels] = -np.inf
        frames.append(pd.DataFrame({
            "epoch": e + 1, "video_id": train_ids, "agree_label": a.agree_label, "agree_mode": a.agree_mode,
            "consensus_label": classes[a.consensus], "margin": a.margin, "loss": state.losses[e].astype(float),
            "logit_margin": (given - other.max(1)).astype(float), "label_prob": a.label_prob,
            "verdict": CODE_VERDICT[state.verdicts[e]],
        }))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(DYNAMICS_COLUMNS))
    return conform(df, DYNAMICS_COLUMNS, table="dynamics")


def save_evidence(path: Path, state: TrainState, cfg: TrainConfig, train_ids: list[str], labels: np.ndarray) -> None:
    """The smoothed window of training-pass clip probabilities (and the video head's mean
    probabilities over the same epochs) the score stage blends in, and the noise rates frozen
    at the plateau (estimated from the evidence when there was none)."""
    end = evidence_epoch(state, cfg)
    stacked = _window(state, cfg, end)
    lo = max(0, end - cfg.window + 1)
    video_probs = torch.softmax(torch.from_numpy(state.video_logits[lo: end + 1]).float(), -1).mean(0).numpy()
    rates = state.noise_rates
    rates = agr.estimate_noise_rates(stacked.mean(1), labels, num_classes=stacked.shape[2]) if rates is None else rates
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, clip_probs=stacked.astype(np.float16), video_probs=video_probs.astype(np.float32),
                     video_ids=np.array(train_ids), epoch=np.array(end + 1), noise_rates=np.asarray(rates, np.float64))


def evidence_epoch(state: TrainState, cfg: TrainConfig) -> int:
    """Last epoch (0-based) of the evidence window: the best held-out epoch (the memorization
    that follows it erases the signal), never before the plateau."""
    end = state.best_epoch if state.best_epoch >= 0 else state.epoch - 1
    if state.triage_from > 0:
        end = max(end, min(state.triage_from - 1, state.epoch - 1))
    return min(end, state.epoch - 1)
