"""What a bench run is: the synthetic configurations, the profiles (quick, full, smoke) and
the BenchConfig built from them (see docs/ARCHITECTURE.md, "Evaluation")."""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass, field

from curation.audit.baselines import METHODS
from curation.errors import ConfigError

# Synthetic configurations: overrides of curation.data.synth.SynthConfig. Never tuned per method.
SYNTH_CONFIGS: dict[str, dict] = {
    "default": {},
    "noise40": {"noise_rate": 0.4},
    "hard40_noise10": {"hard_rate": 0.4, "noise_rate": 0.1},
    "symmetric": {"structured_share": 0.0},
}
DOWNSTREAM = ("noisy", "ours", "cleanlab", "oracle")
# the export policy behind each of our label sets: the flags nobody reviewed, relabelled or left out
OUR_POLICIES = {"ours": "accept-suggestions", "ours_excluded": "exclude-unreviewed-noisy"}
LABEL_VARIANTS = (*DOWNSTREAM, *(v for v in OUR_POLICIES if v not in DOWNSTREAM))


@dataclass
class BenchConfig:
    """One bench run. ``quick`` selects smaller sets, fewer configs and epochs (see PROFILES)."""

    configs: list[str] = field(default_factory=lambda: list(SYNTH_CONFIGS))
    seed: int = 0
    n: int = 1200                  # videos per synthetic set (all splits)
    size: int = 64                 # frame size rendered and trained on
    num_frames: int = 48           # frames per video
    epochs: int | None = None      # training epochs (None: TrainConfig's; early stopping may stop sooner)
    folds: int = 5                 # K of cleanlab's out-of-fold probabilities
    # the default path (given-label encoder, embed, train --frozen); False: the network on pixels
    frozen: bool = True
    encoder: dict = field(default_factory=dict)  # GivenEncoderConfig overrides (frozen path)
    downstream: bool = True        # retrain on noisy / ours / cleanlab / oracle labels
    cleanlab_filter: str = "prune_by_noise_rate"  # the cleanlab set for downstream (its default)
    train: dict = field(default_factory=dict)  # further TrainConfig overrides
    workers: int = 1               # synth render processes
    synth: dict = field(default_factory=dict)  # SynthConfig overrides applied to every configuration
    isolate: bool = True           # torch steps in spawned children (own wall time and peak RSS)
    methods: list[str] | None = None  # baselines to run (None: all whose adapters are present)
    quick: bool = False


# Sized for a 2-core machine (timings: see reports/BENCHMARKS.md); much smaller sets leave the
# model near chance. On bigger machines raise --n; the numbers then say more.
PROFILES: dict[str, dict] = {
    "quick": dict(configs=["default"], n=800, quick=True),
    "full": dict(configs=list(SYNTH_CONFIGS), n=1200),
    # a test of the orchestration, not a benchmark: 4 classes, tiny set, one epoch, in-process
    "smoke": dict(configs=["default"], n=56, size=32, num_frames=16, epochs=1, folds=2, quick=True, isolate=False,
                  synth={"classes": ("happy", "sad", "angry", "surprise")}, train={"clips": 2, "frames": 4},
                  encoder={"steps": 10, "per_video": 4},
                  methods=[m for m in METHODS if m != "fo_mistakenness"]),
}
# `bench --pixels`: the path before the given-label encoder (the whole network trained on
# 32 px pixels, 3 fold models), as reports/BENCHMARKS_PIXELS.md measured it
PIXELS: dict = dict(size=32, num_frames=24, epochs=12, folds=3, frozen=False)


def profile(name: str, *, pixels: bool = False, **overrides) -> BenchConfig:
    """A BenchConfig from a named profile (quick, full, smoke) with overrides; ``pixels``: on
    the pixel-training path (PIXELS) instead of the default one."""
    if name not in PROFILES:
        raise ConfigError(f"bench profile {name!r} is not one of {list(PROFILES)}")
    cfg = BenchConfig(**{**PROFILES[name], **(PIXELS if pixels else {}),
                         **{k: v for k, v in overrides.items() if v is not None}})
    if cfg.folds == 1 or cfg.folds < 0:
        raise ConfigError(f"folds must be 0 (no fold models) or at least 2, got {cfg.folds}")
    unknown = [c for c in cfg.configs if c not in SYNTH_CONFIGS]
    if unknown:
        raise ConfigError(f"unknown bench config(s) {unknown}; choose from {list(SYNTH_CONFIGS)}")
    return cfg


def synth_config(cfg: BenchConfig, name: str):
    from curation.data.synth import SynthConfig

    return SynthConfig(n=cfg.n, size=cfg.size, num_frames=cfg.num_frames, seed=cfg.seed,
                       workers=cfg.workers, **{**cfg.synth, **SYNTH_CONFIGS[name]})


def command_line(cfg: BenchConfig, out) -> str:
    parts = ["dfer-curate", "bench"]
    if cfg.quick:
        parts.append("--quick")
    if not cfg.frozen:
        parts.append("--pixels")
    parts += ["--configs", *cfg.configs, "--seed", str(cfg.seed)]
    base = dataclasses.asdict(profile("quick" if cfg.quick else "full", pixels=not cfg.frozen))
    for key in ("n", "epochs", "folds"):
        if getattr(cfg, key) != base[key]:
            parts += [f"--{key}", str(getattr(cfg, key))]
    if not cfg.downstream:
        parts.append("--no-downstream")
    parts += ["--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)
