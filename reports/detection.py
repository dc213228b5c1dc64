"""Detection of planted label noise per method, for the report's ground-truth table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.tables import OURS, baseline_methods


def detection_table(table: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Precision/recall/F1/AUROC/AP/hard retention per method against planted truth."""
    from curation.audit.metrics import detection_metrics

    t = truth.set_index("video_id").reindex(table["video_id"])
    ok = t["is_noisy"].notna().to_numpy()
    is_noisy = t["is_noisy"].to_numpy()[ok].astype(bool)
    is_hard = t["is_hard"].to_numpy()[ok].astype(bool)
    rows = []
    for m in [OURS] + baseline_methods(table.drop(columns=[f"{OURS}_score"])):
        score = table[f"{m}_score"].to_numpy(dtype=float)[ok]
        flag_col = f"{m}_flag"
        flag = table[flag_col].fillna(False).to_numpy().astype(bool)[ok] if flag_col in table else None
        res = detection_metrics(is_noisy, flag if flag is not None else np.zeros(len(score), bool),
                                np.nan_to_num(score, nan=-np.inf), is_hard=is_hard)
        if flag is None:
            for k in ("precision", "recall", "f1", "n_flagged", "hard_retention"):
                res[k] = float("nan")
        rows.append({"method": m, **res})
    return pd.DataFrame(rows)
