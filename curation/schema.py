"""Columns and dtypes of every table that crosses stages, declared once.

Glossary: N videos, M clips per video, C classes, T frames per clip.
``clip_probs`` has shape (N, M, C), rows aligned to scores.parquet.
"""

from __future__ import annotations

import pandas as pd

from curation.errors import ManifestError

SPLITS = ("train", "val", "test")
# Frames per clip of the default training (model.config.TrainConfig.frames): ingest notes
# shorter videos, which train only with --pad-short.
DEFAULT_CLIP_FRAMES = 4
VERDICTS = ("clean", "hard", "hard-or-noisy", "noisy")
# the verdicts that send a video to an annotator as possibly mislabelled
FLAGGED_VERDICTS = ("hard-or-noisy", "noisy")
HARD_KINDS = ("subtle", "brief", "blend", "occluded", "distractor")

# The DFEW class order (its files are 1-indexed in this order).
DFEW_CLASSES = ("Happy", "Sad", "Neutral", "Angry", "Surprise", "Disgust", "Fear")
# MAFW's 11 single-label classes, in the order of its label files.
MAFW_CLASSES = (
    "anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
    "contempt", "anxiety", "helplessness", "disappointment",
)

MANIFEST_COLUMNS = {
    "video_id": "string",
    "path": "string",
    "label": "string",
    "split": "string",
    "fold": "Int64",
    "num_frames": "Int64",
    "source": "string",
}
GROUND_TRUTH_COLUMNS = {
    "true_label": "string",
    "is_noisy": "bool",
    "is_hard": "bool",
    "hard_kind": "string",
}
SCORES_COLUMNS = {
    "video_id": "string",
    "split": "string",
    "label": "string",
    "pred_label": "string",
    "pred_conf": "float64",
    "label_prob": "float64",
    "agree_label": "float64",
    "agree_mode": "float64",
    "consensus_label": "string",
    "margin": "float64",
    "noise_score": "float64",
    "hardness": "float64",
    "verdict": "string",
    "suggested_label": "string",
}
# How each video's scores were made: "out-of-fold" (a head that never saw its label),
# "dynamics" (training videos, from epochs before memorization), "in-sample" (a training
# video the final model fitted), "unseen" (val/test videos the model never trained on).
SCORE_SOURCES = ("out-of-fold", "dynamics", "in-sample", "unseen")
# suggested_lead: how far the suggested class leads the given label in the pooled
# probabilities that route a flag (curation.audit.agreement.TriageConfig.route)
SCORES_OPTIONAL = {"score_source": "string", "suggested_lead": "float64"}
DYNAMICS_COLUMNS = {
    "epoch": "int64",
    "video_id": "string",
    "agree_label": "float64",
    "agree_mode": "float64",
    "consensus_label": "string",
    "margin": "float64",
    "loss": "float64",
    "logit_margin": "float64",
    "label_prob": "float64",
    "verdict": "string",
}


def conform(df: pd.DataFrame, columns: dict[str, str], *, table: str, optional: dict[str, str] | None = None) -> pd.DataFrame:
    """Check required columns exist and cast them (and present optional ones) to declared dtypes."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ManifestError(
            f"{table} lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}"
        )
    out = df.copy()
    for name, dtype in {**columns, **(optional or {})}.items():
        if name not in out.columns:
            continue
        try:
            out[name] = out[name].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ManifestError(f"{table}: column {name!r} cannot be read as {dtype}: {exc}") from exc
    return out

