"""Optional artifacts for report tests: a baselines.parquet in the contract's shape
(`video_id`, `<method>_score`, `<method>_flag`) and export provenance files. Drawn from the
run's scores with a seed, not from the real baselines (another stage's job)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from curation.fileio import write_json, write_parquet
from curation.runs import RunDir

FAKE_METHODS = ("cl_prune_by_noise_rate", "cl_self_confidence", "aum")


def write_fake_baselines(run: RunDir, *, seed: int = 0, flag_share: float = 0.2) -> pd.DataFrame:
    """Noisy copies of 1 - label_prob per method; each flags its top ``flag_share``."""
    rng = np.random.default_rng(seed)
    scores = pd.read_parquet(run.scores)
    base = 1.0 - scores["label_prob"].to_numpy(dtype=float)
    out = {"video_id": scores["video_id"].astype(str).to_numpy()}
    for j, m in enumerate(FAKE_METHODS):
        s = base + rng.normal(0, 0.1 + 0.1 * j, len(base))
        out[f"{m}_score"] = s
        out[f"{m}_flag"] = s >= np.quantile(s, 1 - flag_share)
    df = pd.DataFrame(out)
    write_parquet(run.baselines, df)
    return df


def write_fake_export(run: RunDir, stamp: str = "20261129T010000Z") -> None:
    write_json(run.exports / stamp / "provenance.json", {
        "run": str(run.path), "time": "2026-11-29T01:00:00Z", "annotators": ["ana"],
        "counts": {"videos": 24, "relabelled": 3, "excluded": 1},
        "thresholds": {"noise": 0.5}, "inputs": {"manifest.parquet": "sha256:abc"},
    })
