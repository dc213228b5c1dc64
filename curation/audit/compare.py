"""Baselines beside our method on one run: the side-by-side table `dfer-curate baselines`
prints and the short comparison the demo shows (curation.audit.baselines computes them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from curation.audit import baselines as B
from curation.audit.metrics import detection_table, ours_columns
from curation.data.manifest import read_manifest
from curation.runs import RunDir


def with_baselines(scores: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """Our columns (``metrics.ours_columns``) of the train videos in ``scores``, in the row order
    of ``base`` (baselines.parquet), beside the baselines' columns: what ``detection_table`` reads."""
    train = scores[scores["split"] == "train"].set_index("video_id").loc[base["video_id"]].reset_index()
    return pd.concat([ours_columns(train), base.drop(columns="video_id")], axis=1)


def strongest_baseline(det: pd.DataFrame, column: str = "noisy_vs_hard_auroc", *,
                       methods=None) -> tuple[str, float] | None:
    """The method other than ours with the highest ``column`` in a detection table (a
    ``method`` column beside ``metrics.DETECTION_COLUMNS``), among ``methods`` when given, and
    that value; None when no such method has one. The claim and the F1 check compare ours
    against it."""
    others = det[det["method"] != "ours"]
    if methods is not None:
        others = others[others["method"].isin(list(methods))]
    others = others.dropna(subset=[column])
    if others.empty:
        return None
    top = others.loc[others[column].idxmax()]
    return str(top["method"]), float(top[column])


def side_by_side(run_dir, *, methods=None) -> pd.DataFrame:
    """Per method on the train split: inputs, n flagged and, when the manifest has ground
    truth, the columns of ``metrics.detection_table``. Our method (scores.parquet:
    noise_score, verdict == noisy, suggested_label) is the first row."""
    run = RunDir(run_dir)
    base = pd.read_parquet(run.require("baselines", "baselines"))
    table = with_baselines(pd.read_parquet(run.require("scores", "score")), base)
    conf = run.load_config().get("baselines", {})
    probs_kind = conf.get("probs_kind", "in-sample")
    names = ["ours", *(m for m in B.METHODS if f"{m}_score" in base.columns)]
    if methods is not None:
        names = [m for m in names if m in methods]
    manifest = read_manifest(run.path)
    if manifest.has_ground_truth:
        df = detection_table(table, manifest.df, names=names)
    else:
        df = pd.DataFrame({"method": names, "n_flagged": [int(table[f"{m}_flag"].sum()) for m in names]})
    df.insert(1, "inputs", [conf.get("inputs", {}).get(m, B.method_inputs(m, probs_kind)) for m in names])
    first = ["method", "inputs", "n_flagged"]
    return df[first + [c for c in df.columns if c not in first]]


def format_table(df: pd.DataFrame) -> str:
    """A plain-text table (numbers to 2 decimals, NaN as '-')."""
    def fmt(v):
        if isinstance(v, float):
            return "-" if np.isnan(v) else f"{v:.2f}"
        return str(v)

    cells = [[str(c) for c in df.columns]] + [[fmt(v) for v in r] for r in df.itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(df.columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def compare_table(run_dir, *, mistakenness=None) -> str:
    """Our method against cleanlab on one run, as short text (for the demo). Runs every
    baseline first (writing baselines.parquet) when the run has none or it is older than
    scores.parquet; ``mistakenness`` as in ``baselines.run_baselines``."""
    run = RunDir(run_dir)
    scores = run.require("scores", "score")
    if not run.baselines.exists() or run.baselines.stat().st_mtime < scores.stat().st_mtime:
        B.run_baselines(run.path, mistakenness=mistakenness)
    df = side_by_side(run.path, methods=["ours", *(f"cl_{f}" for f in B.CLEANLAB_FILTERS), "cl_self_confidence", "aum"])
    keep = [c for c in ("method", "inputs", "n_flagged", "precision", "recall", "f1", "auroc", "noisy_vs_hard_auroc",
                        "hard_retention") if c in df.columns]
    return format_table(df[keep])
