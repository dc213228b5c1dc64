"""Synthetic DFER videos with known truth (see docs/ARCHITECTURE.md, "Evaluation").

Procedural faces are drawn from facial action parameters that follow an onset-apex-offset
time course; each class is a prototype vector of actions. Modules, in pipeline order:
``config`` (SynthConfig, prototypes, checks), ``truth`` (the table of true and given
labels, hard and noisy videos), ``spec`` (one video's identity, expression and nuisances),
``face`` (actions -> drawing), ``render`` (frames, and the dataset written to a run).
Randomness: truth from ``default_rng(seed)``; each video from ``default_rng([seed, 1, i])``.
"""

from curation.data.synth.config import (
    ACTIONS, CONFUSION_PAIRS, PROTOTYPES, SynthConfig, prototype_key, split_sizes, validate_config,
)
from curation.data.synth.render import generate, render_video
from curation.data.synth.spec import (
    Identity, VideoSpec, sample_identity, sample_video_spec, video_spec_for,
)
from curation.data.synth.truth import sample_truth

__all__ = [
    "ACTIONS", "CONFUSION_PAIRS", "PROTOTYPES", "Identity", "SynthConfig", "VideoSpec", "generate",
    "prototype_key", "render_video", "sample_identity", "sample_truth", "sample_video_spec",
    "split_sizes", "validate_config", "video_spec_for",
]
