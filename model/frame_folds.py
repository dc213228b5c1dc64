"""Cross-fitted frame classifiers: every video of every split scored by a classifier that never
saw its label (docs/ARCHITECTURE.md, "Method").

K copies of the frame encoder + a linear head are each trained on the GIVEN labels of the
most salient frames of the other K-1 folds (all splits), at full input size (64 px: the
encoder starved at 32 px) and with a loss that bounds what a wrong label can pull (GCE). Each
then scores its held-out fold's clips (the layout of ``model.oof``). Measured on the default
synthetic set against the in-sample video network: noise AUROC 0.923 against 0.897, F1 0.705
against 0.591, in 10 minutes on 2 cores (reports/OUT_OF_FOLD_64PX.md).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from curation.audit import crossfit
from curation.errors import ConfigError
from model import data
from model.oof import OofConfig, clip_layout
from model.pretrain import frame_inputs

log = logging.getLogger(__name__)

LOSSES = ("ce", "gce")


@dataclass
class FrameFoldsConfig:
    folds: int = 3  # K classifiers; each video is scored by the one whose folds exclude it
    size: int = 64  # input size; the encoder probes 0.90 from 64 px against 0.85 from 32 (RESOLUTION.md)
    per_video: int = 6  # most salient frames per video the classifiers train on (where expressions are)
    gap: int = 2  # those frames at least this many frames apart
    steps: int = 3000  # batches of 32 frames per classifier
    shift: int = -1  # random translation in pixels while training; -1 = size // 32
    loss: str = "gce"  # gce: linear probe 0.822 against 0.795 for ce on given labels (20 % wrong)
    seed: int = 0
    threads: int = 0  # torch CPU threads (0 = torch's choice)
    clips: OofConfig = field(default_factory=OofConfig)  # scored clips and triage

    def validate(self) -> "FrameFoldsConfig":
        if self.folds < 2:
            raise ConfigError(f"cross-fit config: folds must be at least 2, got {self.folds}")
        check_frame_training(self, "cross-fit config")
        return self

    @property
    def pixel_shift(self) -> int:
        return default_shift(self.size) if self.shift < 0 else self.shift

    def to_dict(self) -> dict:
        return asdict(self)


def default_shift(size: int) -> int:
    """Random translation while training, in pixels: one per 32 px of input."""
    return max(1, size // 32)


def check_frame_training(cfg, what: str) -> None:
    """A ConfigError naming ``what`` unless ``cfg``'s size, per_video, steps, loss (and mixup) can train
    a frame classifier (the settings this module's configs and the given-label encoder share)."""
    mixup = getattr(cfg, "mixup", 0.0)  # only the given-label encoder has it
    checks = [
        (cfg.size >= 16, f"size must be at least 16 pixels, got {cfg.size}"),
        (cfg.per_video >= 1, f"per_video must be at least 1, got {cfg.per_video}"),
        (cfg.steps >= 1, f"steps must be at least 1, got {cfg.steps}"),
        (cfg.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {cfg.loss!r}"),
        (mixup >= 0, f"mixup must be 0 (off) or a positive Beta alpha, got {mixup}"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ConfigError(f"{what}: {msg}")


def salient_frames(store: data.FrameStore, per_video: int, gap: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(frame index, video row) of the ``per_video`` most salient frames of every video, at
    least ``gap`` frames apart: where the expression is, found without labels."""
    idx, vid = [], []
    for i in range(len(store.video_ids)):
        o, n = int(store.offsets[i]), int(store.lengths[i])
        picked: list[int] = []
        for t in np.argsort(-store.saliency[o: o + n], kind="stable"):
            if all(abs(int(t) - p) >= gap for p in picked):
                picked.append(int(t))
            if len(picked) == per_video:
                break
        idx += [o + t for t in picked]
        vid += [i] * len(picked)
    return np.array(idx, np.int64), np.array(vid, np.int64)


class FrameInputs:
    """Trainer inputs (``frame_inputs``) of picked frames, built one batch at a time from their
    uint8 pixels and their videos' neutral faces: float32 channels of every picked frame at once
    peaked at 14.2 GiB for 40,000 videos at 32 px (reports/SCALE.md). Indexes like an array of shape
    (frames, channels, H, W)."""

    def __init__(self, frames_u8: np.ndarray, neutral: np.ndarray, video_rows: np.ndarray):
        self.frames, self.neutral, self.video = frames_u8, neutral, np.asarray(video_rows, np.int64)
        if len(self.frames) != len(self.video):
            raise ValueError(f"{len(self.frames)} frames but {len(self.video)} video rows")
        self.shape = (len(self.frames), 2, *self.frames.shape[1:3])

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, rows) -> np.ndarray:
        return frame_inputs(self.frames[rows], self.neutral[self.video[rows]])


def fit_frame_classifier(x_fit, y_fit, classes: int, *, steps: int, seed: int, shift: int = 0, loss: str = "ce",
                         mixup: float = 0.0, progress=None):
    """The frame encoder + a linear head (``net[0]``, ``net[1]``) trained on ``y_fit`` with
    AdamW and flips (and, with ``shift``, random translations of up to that many pixels,
    edge-padded) for ``steps`` batches of 32; returned in eval mode. ``loss``: cross-entropy
    (``ce``) or generalized cross-entropy (``gce``, q = 0.7, Zhang & Sabuncu 2018), whose
    pull from a confidently wrong label is bounded, so it fits less of the noise.
    ``mixup``: with alpha > 0, every batch is blended with a shuffled copy of itself by a
    weight drawn from Beta(alpha, alpha), and so are the losses of both labels (Zhang et al.
    2018), which slows the memorization of wrong labels.
    ``x_fit``: float32 (N, channels, H, W), or ``FrameInputs`` that builds each batch.
    ``progress(n)`` is told of every batch."""
    from model.network import SmallCNN

    if len(x_fit) < 2:
        raise ConfigError(f"a frame classifier needs at least 2 training frames, got {len(x_fit)}")
    if loss not in LOSSES:
        raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if mixup < 0:
        raise ConfigError(f"mixup must be 0 (off) or a positive Beta alpha, got {mixup}")
    torch.manual_seed(seed)
    net = torch.nn.Sequential(SmallCNN(int(x_fit.shape[1]), 32, 128), torch.nn.Linear(128, classes))
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=0.05)
    yf = torch.from_numpy(np.asarray(y_fit, np.int64))
    gen = torch.Generator().manual_seed(seed)
    mix_rng = np.random.default_rng(seed)
    net.train()
    done = 0
    while done < steps:
        order = torch.randperm(len(x_fit), generator=gen)
        for i in range(0, len(x_fit), 32):
            b = order[i: i + 32]
            if len(b) < 2:  # BatchNorm needs two
                continue
            xb = torch.from_numpy(np.ascontiguousarray(x_fit[b.numpy()]))
            xb = torch.where(torch.rand(len(b), 1, 1, 1, generator=gen) < 0.5, xb.flip(3), xb)
            if shift:
                h, w = xb.shape[2:]
                pad = F.pad(xb, (shift,) * 4, mode="replicate")
                d = torch.randint(0, 2 * shift + 1, (len(b), 2), generator=gen)
                xb = torch.stack([pad[i, :, d[i, 0]: d[i, 0] + h, d[i, 1]: d[i, 1] + w] for i in range(len(b))])
            yb, lam, partner = yf[b], 1.0, None
            if mixup > 0:
                lam = float(mix_rng.beta(mixup, mixup))
                partner = torch.randperm(len(b), generator=gen)
                xb = lam * xb + (1 - lam) * xb[partner]
            logits = net(xb)
            batch_loss = lam * label_loss(logits, yb, loss)
            if partner is not None:
                batch_loss = batch_loss + (1 - lam) * label_loss(logits, yb[partner], loss)
            opt.zero_grad()
            batch_loss.backward()
            opt.step()
            done += 1
            if progress is not None:
                progress(1)
            if done >= steps:
                break
    return net.eval()


def label_loss(logits, labels, loss: str):
    """Mean cross-entropy, or generalized cross-entropy with q = 0.7."""
    if loss == "gce":
        p_label = torch.softmax(logits, 1).gather(1, labels[:, None]).squeeze(1).clamp_min(1e-6)
        return ((1 - p_label ** 0.7) / 0.7).mean()
    return F.cross_entropy(logits, labels)


def cross_fitted_clip_probs(store: data.FrameStore, labels, fold, starts, cfg: FrameFoldsConfig, *, classes: int,
                            progress: bool = False) -> np.ndarray:
    """(N, M, C) clip probabilities, each video's from the classifier of the folds without it;
    a clip's probabilities are the mean of its frames'."""
    from tqdm import tqdm

    labels, fold = np.asarray(labels, np.int64), np.asarray(fold)
    neutral = data.neutral_frames(store, np.arange(len(labels)))
    frames, stride = cfg.clips.frames, cfg.clips.stride

    def inputs(frame_idx, video_rows):
        return frame_inputs(store.frames[frame_idx], neutral[video_rows])

    fit_idx, fit_vid = salient_frames(store, cfg.per_video, cfg.gap)
    clip_frames = store.offsets[:, None, None] + starts[:, :, None] + np.arange(frames) * stride  # (N, M, T)
    out = np.zeros(starts.shape + (classes,))
    ks = np.unique(fold)
    bar = tqdm(total=len(ks) * cfg.steps, desc="fold classifiers", unit="batch", disable=not progress, leave=False)
    for k in ks:
        keep = fold[fit_vid] != k
        net = fit_frame_classifier(FrameInputs(store.frames[fit_idx[keep]], neutral, fit_vid[keep]),
                                   labels[fit_vid[keep]], classes,
                                   steps=cfg.steps, seed=cfg.seed + int(k), shift=cfg.pixel_shift, loss=cfg.loss,
                                   progress=bar.update)
        held = np.flatnonzero(fold == k)
        fi = clip_frames[held].reshape(-1)
        vi = np.repeat(held, clip_frames.shape[1] * clip_frames.shape[2])
        with torch.no_grad():
            p = np.concatenate([torch.softmax(net(torch.from_numpy(inputs(fi[s: s + 4096], vi[s: s + 4096]))), 1).numpy()
                                for s in range(0, len(fi), 4096)]) if len(fi) else np.zeros((0, classes))
        out[held] = p.reshape(len(held), clip_frames.shape[1], frames, classes).mean(2)
        log.info("fold %d/%d scored (%d videos)", int(k) + 1, len(ks), len(held))
    bar.close()
    return out


def score_frame_folds(run_dir, config: FrameFoldsConfig | None = None, *, progress: bool = True):
    """Score every video of RUN with cross-fitted frame classifiers; writes scores.parquet,
    clip_probs.npy, clip_starts.npy (``model.oof.write_out_of_fold``) and returns the scores."""
    from curation.runs import RunDir
    from model.oof import write_out_of_fold

    cfg = (config or FrameFoldsConfig()).validate()
    run = RunDir(run_dir)
    run.require("manifest", "ingest")
    manifest = run.read_manifest()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    labels = np.asarray(manifest.label_index(manifest.df["label"]), dtype=np.int64)
    present = np.bincount(labels, minlength=len(manifest.classes))
    if (present > 0).sum() < 2:
        raise ConfigError(f"{run.path}: cross-fitting needs labelled videos of at least 2 classes")
    fold = crossfit.manifest_folds(manifest, dataclasses.replace(crossfit.CrossfitConfig(), folds=cfg.folds,
                                                                 seed=cfg.seed))
    store = data.load_frames(manifest, size=cfg.size, grey=True, cache_dir=run.path / "cache", progress=progress)
    starts = clip_layout(store, cfg.clips)
    probs = cross_fitted_clip_probs(store, labels, fold, starts, cfg, classes=len(manifest.classes), progress=progress)
    return write_out_of_fold(run, manifest, probs, starts, cfg.clips,
                             source={"source": "out-of-fold", "scorer": "frame classifiers", **cfg.to_dict()})
