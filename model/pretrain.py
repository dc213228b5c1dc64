"""Self-supervised pretraining of the frame encoder (docs/ARCHITECTURE.md, "Representation").

Objective ("neutral code"): the encoder sees a frame (and its difference from the video's
neutral face, as the trainer's input) and must squeeze it into a small code; a decoder that
is given the *neutral face*, warped and relit by the frame's own embedding, plus that code
must rebuild the frame. Identity and background come free with the neutral face, head
motion and lighting with the warp, so the code is pushed to carry what is left: the
expression. Naive masked reconstruction and same-video contrastive learning learned
identity and background instead.

Measured honestly in reports/REPRESENTATION.md: on the synthetic set this objective (and
its variants tried: half resolution, no warp, the code from a nearby frame) stays below
supervised training and even below raw difference pixels on a linear probe; it is an
option, not the default path.

Labels are never read: the corpus is frames, their video and each video's neutral face.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from curation.errors import ConfigError
from model.network import SmallCNN, _conv_bn

log = logging.getLogger(__name__)


@dataclass
class PretrainConfig:
    size: int = 32  # frames resized to size x size (the trainer's default)
    width: int = 32  # encoder width (SmallCNN, as the trainer's)
    dim: int = 128  # embedding size (the trainer's clip-token size)
    code: int = 32  # bottleneck the decoder gets: small, so it holds the change, not the face
    decoder_width: int = 8  # the decoder is thrown away after pretraining
    explain_pose: bool = True  # the decoder warps and relights the neutral face itself (see NeutralCode)
    pair_gap: int = 0  # >0: the code comes from another frame of the video at most this many frames away
    half_res: bool = False  # rebuild at half resolution (cheaper; expressions are a few pixels at 32 px)
    steps: int = 3000  # batches; linear probe at 1,300 faces 0.42 after 1000, 0.54 after 3000 (REPRESENTATION.md)
    batch_size: int = 128  # frames per batch
    lr: float = 2e-3
    weight_decay: float = 0.05
    salient: float = 0.9  # share of frames drawn by movement from neutral (rest uniform)
    checkpoint_every: int = 500  # batches between checkpoints (RUN/pretrain/last.pt)
    seed: int = 0
    threads: int = 0  # torch CPU threads (0 = torch's choice)
    device: str = "auto"

    def validate(self) -> "PretrainConfig":
        checks = [
            (self.size >= 16, "size must be >= 16 pixels"),
            (self.steps >= 1, "steps must be >= 1"),
            (self.batch_size >= 2, "batch_size must be >= 2"),
            (1 <= self.code <= self.dim, "code must be in [1, dim]"),
            (0.0 <= self.salient <= 1.0, "salient must be in [0, 1]"),
            (self.checkpoint_every >= 1, "checkpoint_every must be >= 1"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"pretrain config: {msg}")
        return self

    def encoder_fields(self) -> dict:
        """What decides the encoder's shape (saved beside its weights)."""
        return {"arch": "small_cnn", "in_ch": 2, "size": self.size, "width": self.width, "dim": self.dim,
                "grey": True, "neutral_ref": True}


class NeutralDecoder(nn.Module):
    """(Warped, relit) neutral face + code -> the change to add to it. A small U-Net over the
    neutral face with the code broadcast at half its resolution, so changes land on the
    face's own brows, eyes and mouth. Kept narrow: it is thrown away after pretraining."""

    def __init__(self, code: int, width: int = 8):
        super().__init__()
        w = width
        self.n1, self.n2 = _conv_bn(1, w, 1), _conv_bn(w, 2 * w, 2)
        self.mid = nn.Sequential(_conv_bn(2 * w + code, 2 * w, 1), _conv_bn(2 * w, 2 * w, 1))
        self.u1 = _conv_bn(3 * w, w, 1)
        self.out = nn.Conv2d(w, 1, 3, 1, 1)

    def forward(self, neutral, code):  # (N, 1, h, w), (N, code) -> (N, 1, h, w)
        f1 = self.n1(neutral)
        f2 = self.n2(f1)  # (N, 2w, h/2, w/2)
        z = code[:, :, None, None].expand(-1, -1, f2.shape[2], f2.shape[3])
        h = self.mid(torch.cat([f2, z], 1))
        h = self.u1(torch.cat([F.interpolate(h, size=f1.shape[2:]), f1], 1))
        return self.out(h)


class NeutralCode(nn.Module):
    """Encoder (the trainer's SmallCNN on frame + difference) -> code -> decoder(neutral, code).

    With ``explain_pose`` the embedding also gives an affine warp (head motion) and a smooth
    relighting (gain and gradient) of the neutral face, applied before the decoder: rigid
    motion and lighting change most pixels, and a plain reconstruction spends its code on
    them; given cheap explicit paths for them, the code is left to explain the rest."""

    def __init__(self, cfg: PretrainConfig):
        super().__init__()
        self.encoder = SmallCNN(2, cfg.width, cfg.dim)
        self.to_code = nn.Linear(cfg.dim, cfg.code)
        self.decoder = NeutralDecoder(cfg.code, cfg.decoder_width)
        self.explain_pose, self.half_res = cfg.explain_pose, cfg.half_res
        if cfg.explain_pose:
            self.to_pose = nn.Linear(cfg.dim, 6)  # affine warp, starts at the identity
            nn.init.zeros_(self.to_pose.weight)
            self.to_pose.bias.data = torch.tensor([1.0, 0, 0, 0, 1.0, 0])
            self.to_light = nn.Linear(cfg.dim, 4)  # gain, x and y gradient, offset; starts at none
            nn.init.zeros_(self.to_light.weight)
            nn.init.zeros_(self.to_light.bias)

    def forward(self, x, x_code=None):  # x, x_code: (N, 2, H, W) trainer channels -> loss
        """Rebuild the frame of ``x`` from its neutral face, warped and relit by ``x``'s own
        embedding, and the code of ``x_code`` (another frame of the same video; default x)."""
        frame, diff = x[:, :1], x[:, 1:]
        neutral, target = frame - diff, frame  # the neutral face in the frame channel's scale (data.input_channels)
        if self.half_res:
            neutral, target = F.avg_pool2d(neutral, 2), F.avg_pool2d(target, 2)
        emb = self.encoder(x if x_code is None else torch.cat([x, x_code]))
        emb, emb_code = (emb, emb) if x_code is None else emb.chunk(2)
        if self.explain_pose:
            theta = self.to_pose(emb).view(-1, 2, 3)
            grid = F.affine_grid(theta, list(neutral.shape), align_corners=False)
            neutral = F.grid_sample(neutral, grid, padding_mode="border", align_corners=False)
            l = self.to_light(emb)[:, :, None, None]  # (N, 4, 1, 1)
            h, w = neutral.shape[2:]
            yy = torch.linspace(-1, 1, h, device=x.device)[:, None]
            xx = torch.linspace(-1, 1, w, device=x.device)[None, :]
            neutral = neutral * (1 + l[:, 0:1] + l[:, 1:2] * xx + l[:, 2:3] * yy) + l[:, 3:4]
        pred = neutral + self.decoder(neutral, self.to_code(emb_code))
        return F.mse_loss(pred, target)


# ---------------------------------------------------------------- corpus and batches

@dataclass
class Corpus:
    """Unlabelled frames: every frame, the video it comes from and each video's neutral face."""

    frames: np.ndarray  # (F, H, W) uint8 grey
    video: np.ndarray  # (F,) int64 row of the frame's video
    neutral: np.ndarray  # (N, H, W) float32 in [0, 1], mean of each video's first frames
    saliency: np.ndarray  # (F,) float32 in [0, 1], movement away from neutral (data.frame_saliency)

    @classmethod
    def from_store(cls, store) -> "Corpus":
        from model import data

        if store.frames.ndim != 3:
            raise ConfigError("pretraining reads grey frames; decode the corpus with grey=True")
        rows = np.arange(len(store.video_ids))
        video = np.repeat(rows, store.lengths)
        neutral = data.neutral_frames(store, rows) if len(rows) else np.zeros((0,) + store.frames.shape[1:], np.float32)
        return cls(store.frames, video, neutral.astype(np.float32), store.saliency)


def frame_inputs(frames_u8: np.ndarray, neutral: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """float32 (B, 2, H, W) trainer channels (data.input_channels) for frames (B, H, W) uint8 and
    their neutral faces (B, H, W) in [0, 1]. With ``rng``: per-frame flip and brightness/contrast,
    the same for the frame and its neutral face (so the difference keeps only the change)."""
    from model.data import input_channels

    x = frames_u8.astype(np.float32) / 255.0
    n = np.array(neutral, np.float32, copy=True)
    if rng is not None:
        flip = rng.random(len(x)) < 0.5
        x[flip], n[flip] = x[flip, :, ::-1], n[flip, :, ::-1]
        a = rng.uniform(0.8, 1.2, (len(x), 1, 1)).astype(np.float32)
        c = rng.uniform(-0.1, 0.1, (len(x), 1, 1)).astype(np.float32)
        x, n = (x - 0.5) * a + 0.5 + c, (n - 0.5) * a + 0.5 + c
    return np.ascontiguousarray(np.stack(input_channels(x, n), axis=1))


def sample_frames(corpus: Corpus, n: int, rng: np.random.Generator, salient: float) -> np.ndarray:
    """Frame indices: a share ``salient`` drawn in proportion to movement from neutral (where
    expressions are), the rest uniformly."""
    k = int(round(salient * n))
    w = corpus.saliency.astype(np.float64) + 1e-3
    idx = rng.choice(len(corpus.frames), size=k, p=w / w.sum()) if k else np.zeros(0, np.int64)
    return np.concatenate([idx, rng.integers(0, len(corpus.frames), n - k)])


def partner_frames(corpus: Corpus, idx: np.ndarray, gap: int, rng: np.random.Generator) -> np.ndarray:
    """For each frame, another frame of the same video at most ``gap`` frames away (near an
    expression peak the expression is shared, head pose, blinks and speech are not)."""
    off = rng.integers(1, gap + 1, len(idx)) * rng.choice([-1, 1], len(idx))
    j = idx + off
    v = corpus.video[idx]
    same = (j >= 0) & (j < len(corpus.frames))
    same[same] &= corpus.video[j[same]] == v[same]
    j[~same] = idx[~same] - off[~same]  # the other side at a video's ends
    bad = (j < 0) | (j >= len(corpus.frames))
    bad[~bad] |= corpus.video[j[~bad]] != v[~bad]
    j[bad] = idx[bad]
    return j


def _lr(step: int, total: int, base: float) -> float:
    warm = max(1, total // 20)
    if step < warm:
        return base * (step + 1) / warm
    return float(base * 0.5 * (1 + np.cos(np.pi * (step - warm) / max(1, total - warm))))


def pretrain_corpus(corpus: Corpus, cfg: PretrainConfig, *, progress: bool = False, state: dict | None = None,
                    checkpoint=None, every: int = 500, device=None) -> NeutralCode:
    """Train the neutral-code objective on ``corpus`` for cfg.steps batches; returns the model
    (its ``encoder`` is what the trainer and ``embed`` use). ``state`` (from a checkpoint)
    resumes; ``checkpoint(state_dict)`` is called every ``every`` steps and at the end."""
    from tqdm import tqdm

    cfg.validate()
    if len(corpus.frames) == 0:
        raise ConfigError("the pretraining corpus has no decodable frames; point --from at a run or folder with videos")
    if corpus.frames.shape[1] != cfg.size:
        raise ConfigError(f"corpus frames are {corpus.frames.shape[1]} px but the config asks for {cfg.size}")
    device = device or torch.device("cpu")
    torch.manual_seed(cfg.seed)
    model = NeutralCode(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    step = 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = int(state["step"])
        rng.bit_generator.state = json.loads(state["rng"])
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="pretrain", unit="batch", disable=not progress, leave=False)
    losses = []
    while step < cfg.steps:
        if cfg.pair_gap:
            idx = sample_frames(corpus, cfg.batch_size // 2, rng, cfg.salient)
            pair = partner_frames(corpus, idx, cfg.pair_gap, rng)
            both = frame_inputs(corpus.frames[np.concatenate([idx, pair])],
                                corpus.neutral[corpus.video[np.concatenate([idx, pair])]], rng)
            x = torch.from_numpy(both[: len(idx)]).to(device)
            x_code = torch.from_numpy(both[len(idx):]).to(device)
        else:
            idx = sample_frames(corpus, cfg.batch_size, rng, cfg.salient)
            x = torch.from_numpy(frame_inputs(corpus.frames[idx], corpus.neutral[corpus.video[idx]], rng)).to(device)
            x_code = None
        for g in opt.param_groups:
            g["lr"] = _lr(step, cfg.steps, cfg.lr)
        loss = model(x, x_code)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(loss.item())
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if checkpoint is not None and (step % every == 0 or step == cfg.steps):
            checkpoint({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "rng": json.dumps(rng.bit_generator.state)})
    bar.close()
    model.loss_history = losses
    return model.eval()


@torch.no_grad()
def embed_frames(encoder: nn.Module, frames_u8: np.ndarray, neutral: np.ndarray, *, batch_size: int = 512,
                 device=None, progress: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """(F, dim) float16 embeddings of frames (F, H, W) uint8 with their neutral faces (F, H, W)
    or a callable ``neutral(idx) -> (B, H, W)``; written into ``out`` (e.g. a memory map) when given."""
    from tqdm import tqdm

    device = device or torch.device("cpu")
    encoder = encoder.to(device).eval()
    n = len(frames_u8)
    for i in tqdm(range(0, n, batch_size), desc="embed", unit="batch", disable=not progress, leave=False):
        sl = slice(i, min(i + batch_size, n))
        neu = neutral(np.arange(sl.start, sl.stop)) if callable(neutral) else neutral[sl]
        x = torch.from_numpy(frame_inputs(frames_u8[sl], neu)).to(device)
        e = encoder(x).float().cpu().numpy().astype(np.float16)
        if out is None:
            out = np.zeros((n, e.shape[1]), np.float16)
        out[sl] = e
    if out is None:
        out = np.zeros((0, getattr(encoder, "dim", 0)), np.float16)
    return out


# ---------------------------------------------------------------- run-level stage

def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but no CUDA device is available; use --device cpu")
    return torch.device(name)


def load_corpus(run_dir, size: int, *, progress: bool = False) -> Corpus:
    """Every frame of a run's videos (all splits; the labels are never read), decoded once
    into the run's frame cache, which `train` reuses."""
    from curation.data.manifest import read_manifest
    from model import data

    manifest = read_manifest(run_dir)
    if len(manifest.df) == 0:
        raise ConfigError(f"{run_dir} has no videos to pretrain on; ingest a dataset there first")
    store = data.load_frames(manifest, size=size, grey=True, cache_dir=Path(run_dir) / "cache", progress=progress)
    corpus = Corpus.from_store(store)
    if len(corpus.frames) == 0:
        raise ConfigError(f"{run_dir}: none of its {len(manifest.df)} videos has a decodable frame")
    return corpus


def pretrain(run_dir, config: PretrainConfig | None = None, *, source=None, progress: bool = True,
             resume: bool = False) -> dict:
    """Pretrain the frame encoder on the videos of ``source`` (default: the run itself) and
    write RUN/encoder.pt (+ encoder.json). Checkpoints go to RUN/pretrain/last.pt every 500
    batches; ``resume`` continues from there (the config must match). Returns a summary."""
    from curation.runs import RunDir
    from model.encoders import save_encoder

    cfg = (config or PretrainConfig()).validate()
    run = RunDir(run_dir)
    src = RunDir(source) if source is not None else run
    src.require("manifest", "ingest")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = _device(cfg.device)
    t0 = time.time()
    corpus = load_corpus(src.path, cfg.size, progress=progress)
    ckpt = run.path / "pretrain" / "last.pt"
    fingerprint = json.dumps({**dataclasses.asdict(cfg), "threads": 0, "device": "", "checkpoint_every": 0,
                              "corpus": str(src.path.resolve()),
                              "frames": len(corpus.frames)}, sort_keys=True)
    state = None
    if resume and ckpt.exists():
        state = _read_checkpoint(ckpt)
        if state.get("fingerprint") != fingerprint:
            raise ConfigError(f"{ckpt} was made with other settings or another corpus; "
                              "drop --resume (or delete it) to start again")
    elif resume:
        log.warning("no pretraining checkpoint at %s; starting from the beginning", ckpt)

    def save(payload):
        from curation.fileio import atomic_path

        ckpt.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt) as tmp:
            torch.save({**payload, "fingerprint": fingerprint}, tmp)

    model = pretrain_corpus(corpus, cfg, progress=progress, state=state, checkpoint=save, every=cfg.checkpoint_every,
                            device=device)
    seconds = time.time() - t0
    info = {"corpus": str(src.path), "videos": int(len(corpus.neutral)), "frames": int(len(corpus.frames)),
            "steps": cfg.steps, "objective": "neutral_code", "seed": cfg.seed}
    note = {"seconds": round(seconds, 1),
            "final_loss": float(np.mean(model.loss_history[-100:])) if model.loss_history else None}
    digest = save_encoder(run.path / "encoder.pt", model.encoder, cfg.encoder_fields(), extra=info, note=note)
    info.update(note)
    run.save_config("pretrain", cfg)
    return {**info, "encoder": str(run.path / "encoder.pt"), "sha256": digest}


def _read_checkpoint(path: Path) -> dict:
    from model import safe_load

    return safe_load.load(path, what="pretraining checkpoint", fix="delete it and start again")
