"""Typed configuration of the train and score stages (saved to config.json and in checkpoints)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from curation.errors import ConfigError


ENCODERS = ("small_cnn", "resnet18", "tv_resnet18", "tv_resnet50")


@dataclass
class TrainConfig:
    # data
    size: int = 32  # frames are resized to size x size in the decoded-frame cache
    grey: bool = True  # one channel (3x cheaper first conv; faces carry little colour signal)
    neutral_ref: bool = True  # extra input channel: frame minus the video's first (neutral) frames
    clips: int = 4  # K clips per video per training step (one per segment)
    frames: int = 4  # T frames per clip
    stride: int = 3  # frame step inside a clip (covers stride*T source frames)
    pad_short: bool = False  # repeat the last frame of videos shorter than one clip instead of failing
    # augmentation: random translation in pixels (flip and brightness always). Off by default: on apex
    # frames with clean labels +-1 px added 8 points, but in the full video model at 30 epochs it slowed
    # learning (held-out 0.42 vs 0.57 at epoch 9), triage started at a false plateau and test UAR fell 4
    # points; with 45 epochs test UAR rose to 0.780 (+4.4) but hard retention fell to 0.79 (more flags)
    shift: int = 0
    cache: bool = True  # keep the decoded frames as RUN/cache/frames_<size>.npy for later stages
    # network
    encoder: str = "small_cnn"  # 'small_cnn' (CPU), 'resnet18' (GPU), 'tv_resnet18'/'tv_resnet50' (torchvision-format weights)
    encoder_weights: str | None = None  # local state_dict file for the frame encoder (weights_only load)
    init: str | None = None  # encoder file from `pretrain` (RUN/encoder.pt) the frame encoder starts from
    frozen: bool = False  # train the streams and heads on cached embeddings (`embed`) only; no pixels per step
    width: int = 32  # channels of the first conv stage (small_cnn doubles twice)
    dim: int = 128  # clip-token size
    long_term: bool = True  # BiGRU over clip tokens; off = mean of clip tokens
    dropout: float = 0.1
    # optimisation
    epochs: int = 30  # upper bound; early stopping on held-out accuracy may stop sooner
    batch_size: int = 16  # videos per step
    lr: float = 1e-3
    weight_decay: float = 5e-2
    clip_loss_weight: float = 0.5  # lambda: video CE + lambda * mean clip CE
    label_smoothing: float = 0.1
    patience: int = 6  # epochs without held-out improvement before stopping
    holdout: float = 0.15  # share of train held out when the manifest has no val split
    # method
    robust: bool = True  # triage during training; noisy -> consensus target, hard -> up-weighted
    resample: bool = True  # key-expression re-sampling of clip positions
    warmup: int = 10  # epochs before triage may start (it also waits for a held-out plateau)
    window: int = 10  # epochs of training dynamics smoothed for triage and scoring
    hard_weight: float = 2.0  # loss weight of hard videos in robust training
    noisy_mode: str = "relabel"  # 'relabel' (train toward consensus) or 'exclude'
    key_mix: float = 0.5  # key re-sampling: share of clips placed by saliency (rest uniform)
    # run
    seed: int = 0
    device: str = "auto"  # 'cpu', 'cuda', 'cuda:N' or 'auto'
    threads: int = 0  # torch CPU threads (0 = torch default)
    folds: int = 0  # >1: train K fold models (train_folds)

    def validate(self) -> "TrainConfig":
        checks = [
            (self.clips >= 1, "clips must be >= 1"),
            (self.frames >= 1, "frames must be >= 1"),
            (self.stride >= 1, "stride must be >= 1"),
            (self.size >= 16, "size must be >= 16 pixels"),
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.encoder in ENCODERS, f"encoder must be one of {list(ENCODERS)}, not {self.encoder!r}"),
            (self.noisy_mode in ("relabel", "exclude"), f"noisy_mode must be relabel or exclude, not {self.noisy_mode!r}"),
            (0.0 < self.holdout < 0.9, "holdout must be in (0, 0.9)"),
            (0.0 <= self.key_mix <= 1.0, "key_mix must be in [0, 1]"),
            (self.window >= 1, "window must be >= 1"),
            (0 <= self.shift < self.size // 4, f"shift must be in [0, size/4), not {self.shift}"),
            (not (self.frozen and self.shift), "shift has no effect on cached embeddings; drop --shift with --frozen"),
            (not (self.frozen and self.encoder_weights), "--frozen uses the embeddings of `embed`; drop --encoder-weights"),
            (not (self.init and self.encoder_weights), "give --init or --encoder-weights, not both"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"train config: {msg}")
        return self

    def model_fields(self) -> dict:
        """Fields that decide the network's shape: a checkpoint must match them."""
        return {k: getattr(self, k) for k in ("size", "grey", "neutral_ref", "encoder", "width", "dim", "long_term", "frames",
                                              "frozen")}

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"train config has unknown field(s) {unknown}")
        return cls(**data)


@dataclass
class ScoreConfig:
    uniform_clips: int = 8  # uniformly placed clips per video at scoring
    key_clips: int = 4  # clips centred on key-expression positions (0 when resample is off)
    checkpoint: str = "best"  # 'best' or 'last'
    use_dynamics: bool = True  # blend training dynamics (before memorization) into train scores
    vote_weight: float = 0.5  # noise_score: weight of the clip vote against the probability margin
    video_weight: float = 0.5  # noise_score: weight of the video head's margin against the clip score
    aum_weight: float = 0.33  # noise_score: weight of the training AUM (train videos with dynamics) against the rest
    min_agree: float = 0.5  # triage: clip agreement on another class needed to call noisy
    min_margin: float = 0.1
    hard_agree: float = 0.75
    rate_scale: float = 1.0
    max_rate: float = 0.5
    min_score: float = 0.5
    single_clip: bool = False  # ablation: one centred clip, no agreement
    batch_size: int = 32
    device: str = "auto"

    def triage_config(self):
        from curation.audit.agreement import TriageConfig

        return TriageConfig(min_agree=self.min_agree, min_margin=self.min_margin, hard_agree=self.hard_agree,
                            rate_scale=self.rate_scale, max_rate=self.max_rate, min_score=self.min_score)
