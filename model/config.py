"""Typed configuration of the train and score stages (saved to config.json and in checkpoints)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from curation.audit.agreement import POOLINGS, TriageConfig
from curation.errors import ConfigError
from curation.schema import DEFAULT_CLIP_FRAMES


def opt(default, help: str, **meta):
    """A field with its CLI help (and optional ``flag``, ``choices``) in its metadata
    (``curation.commands.options`` builds the options from it)."""
    return field(default=default, metadata={"help": help, **meta})


FLAG_RATES = ("out-of-fold", "in-sample")
ENCODERS = ("small_cnn", "resnet18", "tv_resnet18", "tv_resnet50")


@dataclass
class TrainConfig:
    # data
    size: int = opt(32, "frame size the videos are resized to (in the decoded-frame cache)")
    grey: bool = True  # one channel (3x cheaper first conv; faces carry little colour signal)
    neutral_ref: bool = True  # extra input channel: frame minus the video's first (neutral) frames
    clips: int = opt(4, "clips per video per step, K (one per segment)")
    frames: int = opt(DEFAULT_CLIP_FRAMES, "frames per clip, T")
    stride: int = 3  # frame step inside a clip (covers stride*T source frames)
    pad_short: bool = opt(False, "pad videos shorter than one clip by repeating the last frame (else an error)")
    # augmentation (flip and brightness always). Off by default: in the full video model it slowed learning,
    # so triage started at a false plateau, and longer training with it flagged more hard videos
    shift: int = opt(0, "augmentation: random translation in pixels, same for every frame of a video (0 = off)")
    cache: bool = True  # keep the decoded frames as RUN/cache/frames_<size>.npy for later stages
    # network
    encoder: str = opt("small_cnn", "frame encoder: small_cnn (CPU), resnet18 (GPU), or tv_resnet18/tv_resnet50 for "
                       "torchvision-format --encoder-weights (ImageNet or face-recognition checkpoints; --size 112 --rgb)",
                       choices=ENCODERS)
    encoder_weights: str | None = opt(None, "local state_dict file for the frame encoder (weights_only load)")
    init: str | None = opt(None, "start the frame encoder from this `pretrain` file (e.g. RUN/encoder.pt) and fine-tune it")
    frozen: bool = opt(False, "train only the streams and heads on the cached embeddings of `dfer-curate embed` "
                              "(no pixels per step; fast)")
    width: int = 32  # channels of the first conv stage (small_cnn doubles twice)
    dim: int = 128  # clip-token size
    long_term: bool = opt(True, "no long-term stream: mean of clip tokens instead of a BiGRU over them")
    dropout: float = 0.1
    # optimisation
    epochs: int = opt(30, "maximum epochs; early stopping on held-out accuracy may end sooner")
    batch_size: int = opt(16, "videos per step")
    lr: float = 1e-3
    weight_decay: float = 5e-2
    clip_loss_weight: float = 0.5  # lambda: video CE + lambda * mean clip CE
    label_smoothing: float = 0.1
    patience: int = 6  # epochs without held-out improvement before stopping
    holdout: float = 0.15  # share of train held out when the manifest has no val split
    # method
    robust: bool = opt(True, "no triage-driven robust training (noisy -> suggested label, hard -> up-weighted)")
    # off by default: it lowered hard retention on every set measured (docs/ARCHITECTURE.md, "Clips")
    resample: bool = opt(False, "key-expression re-sampling: draw part of the clip positions where the face moves "
                                "away from its neutral frames, and score 4 key clips besides the uniform ones")
    warmup: int = 10  # epochs before triage may start (it also waits for a held-out plateau)
    window: int = 10  # epochs of training dynamics smoothed for triage and scoring
    hard_weight: float = 2.0  # loss weight of hard videos in robust training
    noisy_mode: str = "relabel"  # 'relabel' (train toward the suggested label) or 'exclude'
    flag_rates: str = opt("out-of-fold", "how many videos triage flags per class: out-of-fold (confident joint of "
                          "K-fold linear heads on the embeddings; --frozen runs) or in-sample (the network's own "
                          "probabilities at the plateau)", choices=FLAG_RATES)
    key_mix: float = 0.5  # key re-sampling: share of clips placed by saliency (rest uniform)
    # run
    seed: int = opt(0, "random seed")
    device: str = opt("auto", "cpu, cuda, cuda:N or auto")
    threads: int = opt(0, "torch CPU threads (0 = torch's choice)")
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
            (self.flag_rates in FLAG_RATES, f"flag_rates must be one of {list(FLAG_RATES)}, not {self.flag_rates!r}"),
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
    uniform_clips: int = opt(8, "uniform clips per video", flag="--clips")
    key_clips: int = opt(4, "extra clips on key-expression positions (none when training had no re-sampling)")
    checkpoint: str = opt("best", "which checkpoint", choices=("best", "last"))
    use_dynamics: bool = opt(True, "ignore the training dynamics (final model only)", flag="--no-dynamics")
    clip_pooling: str = opt("certainty", "how the clips make the noise score: certainty (probabilities averaged "
                                         "with each clip weighted by its certainty) or mean (plain mean, blended "
                                         "with the clip vote)", choices=POOLINGS)
    vote_weight: float = 0.5  # clip_pooling mean: weight of the clip vote against the probability margin
    video_weight: float = opt(0.5, "share of the noise score from the video head's margin (rest: clip agreement)")
    aum_weight: float = opt(0.33, "share of the training videos' noise score from their area under the margin "
                                  "in training (0 = off)")
    triage: TriageConfig = field(default_factory=TriageConfig)  # the cuts that turn scores into verdicts
    single_clip: bool = opt(False, "ablation: one centred clip, no agreement")
    batch_size: int = 32
    device: str = opt("auto", "cpu, cuda, cuda:N or auto")

    def validate(self) -> "ScoreConfig":
        if (self.uniform_clips < 1 or self.key_clips < 0 or not 0.0 <= self.video_weight <= 1.0
                or not 0.0 <= self.aum_weight <= 1.0):
            raise ConfigError("--clips must be >= 1, --key-clips >= 0, and --video-weight and --aum-weight in [0, 1]")
        if self.clip_pooling not in POOLINGS:
            raise ConfigError(f"--clip-pooling must be one of {list(POOLINGS)}, not {self.clip_pooling!r}")
        return self

    def to_dict(self) -> dict:
        """config.json's ``score`` section: the fields in order, the triage cuts in place among
        them (the layout the export's provenance and the report read)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out.update(dataclasses.asdict(value) if f.name == "triage" else {f.name: value})
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "ScoreConfig":
        """From config.json's ``score`` section, flat (:meth:`to_dict`) or with a nested ``triage``."""
        data = dict(data)
        tri = dict(data.pop("triage", None) or {})
        for name in (f.name for f in dataclasses.fields(TriageConfig)):
            if name in data:
                tri[name] = data.pop(name)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"score config has unknown field(s) {unknown}")
        return cls(**data, triage=TriageConfig(**tri))
