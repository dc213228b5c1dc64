"""The report's numbers as pure pandas functions: the headline summary, our and each
baseline's score/flag per video, and the overlap of their flagged sets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from curation.schema import SPLITS, VERDICTS

OURS = "ours"


def summarize(scores: pd.DataFrame, classes: list[str], truth: pd.DataFrame | None = None) -> dict:
    """Headline counts and rates over all scored videos, and a per-class table.

    The estimated noise rate of a class is the share of videos *given* that label whose
    clips the model flags noisy; ``top_suggestion`` is the most common suggested label
    among them. With ground truth, ``true_noise_rate`` is the planted rate."""
    n = len(scores)
    counts = {v: int((scores["verdict"] == v).sum()) for v in VERDICTS}
    rows = []
    for c in classes:
        part = scores[scores["label"] == c]
        k = len(part)
        noisy = part[part["verdict"] == "noisy"]
        sugg = noisy["suggested_label"].value_counts()
        row = {"class": c, "videos": k, **{v: int((part["verdict"] == v).sum()) for v in VERDICTS},
               "noise_rate": (len(noisy) / k) if k else float("nan"),
               "top_suggestion": str(sugg.index[0]) if len(sugg) else "",
               "top_suggestion_n": int(sugg.iloc[0]) if len(sugg) else 0}
        if truth is not None:
            t = truth.loc[scores["label"].to_numpy() == c, "is_noisy"].dropna()
            row["true_noise_rate"] = float(t.astype(bool).mean()) if len(t) else float("nan")
        rows.append(row)
    return {
        "videos": n,
        "classes": len(classes),
        "counts": counts,
        "rates": {v: counts[v] / n for v in VERDICTS},
        "splits": scores["split"].value_counts().reindex(list(SPLITS)).dropna().astype(int).to_dict(),
        "per_class": pd.DataFrame(rows),
        "per_split": split_table(scores),
    }


def split_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Verdict counts per split and score source: videos of one split scored by different
    sources (training dynamics, out of fold, a model that never saw them) rank on different
    scales, so a reader should see which verdicts came from where."""
    source = scores["score_source"].astype(str) if "score_source" in scores else pd.Series("–", index=scores.index)
    df = pd.DataFrame({"split": scores["split"].astype(str), "score_source": source,
                       "verdict": scores["verdict"].astype(str)})
    table = pd.crosstab([df["split"], df["score_source"]], df["verdict"]).reindex(columns=list(VERDICTS), fill_value=0)
    table.insert(0, "videos", table.sum(axis=1))
    table = table.reset_index()
    rank = table["split"].map({s: i for i, s in enumerate(SPLITS)}).fillna(len(SPLITS))
    return table.assign(_rank=rank).sort_values(["_rank", "score_source"], kind="stable").drop(columns="_rank") \
        .reset_index(drop=True)


def baseline_methods(baselines: pd.DataFrame) -> list[str]:
    """Method names with a ``<method>_score`` column, in file order."""
    return [c[: -len("_score")] for c in baselines.columns if c.endswith("_score") and c != "_score"]


def method_table(scores: pd.DataFrame, baselines: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """One row per video (train split when present) with our and each baseline's score/flag.
    Columns ``<method>_score``/``<method>_flag`` incl. ``ours``; also returns the split used."""
    ours = pd.DataFrame({
        "video_id": scores["video_id"].astype(str).to_numpy(),
        "split": scores["split"].astype(str).to_numpy(),
        f"{OURS}_score": scores["noise_score"].to_numpy(dtype=float),
        f"{OURS}_flag": (scores["verdict"] == "noisy").to_numpy(),
    })
    table = ours
    if baselines is not None:
        keep = ["video_id"] + [c for c in baselines.columns if c.endswith(("_score", "_flag")) and c != "video_id"]
        table = ours.merge(baselines[keep], on="video_id", how="inner")
    split = "train" if (table["split"] == "train").any() else "all"
    if split == "train":
        table = table[table["split"] == "train"]
    return table.reset_index(drop=True), split


def overlap_table(table: pd.DataFrame) -> pd.DataFrame:
    """Our flagged-noisy set against each baseline's flagged set (counts and Jaccard)."""
    ours = table[f"{OURS}_flag"].to_numpy().astype(bool)
    rows = []
    for m in baseline_methods(table.drop(columns=[f"{OURS}_score"])):
        if f"{m}_flag" not in table:
            continue
        theirs = table[f"{m}_flag"].fillna(False).to_numpy().astype(bool)
        both, union = int(np.sum(ours & theirs)), int(np.sum(ours | theirs))
        rows.append({"method": m, "flagged": int(theirs.sum()), "both": both,
                     "ours_only": int(np.sum(ours & ~theirs)), "theirs_only": int(np.sum(theirs & ~ours)),
                     "jaccard": both / union if union else float("nan")})
    df = pd.DataFrame(rows, columns=["method", "flagged", "both", "ours_only", "theirs_only", "jaccard"])
    # cleanlab's methods first: the comparison the audit is judged by
    return df.sort_values("method", key=lambda s: ~s.map(is_cleanlab), kind="stable").reset_index(drop=True)


def is_cleanlab(method: str) -> bool:
    """cleanlab's methods are named ``cl_<filter or rank>`` in baselines.parquet."""
    return method.startswith(("cl_", "cleanlab"))
