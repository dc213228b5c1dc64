"""Detection and classification metrics over aligned arrays (pure functions).

Convention: ``score`` higher = label more likely wrong; ``flag`` True = flagged noisy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from curation.schema import FLAGGED_VERDICTS


def detection_metrics(is_noisy, flag, score=None, *, is_hard=None) -> dict:
    """Precision/recall/F1 of ``flag`` against ``is_noisy``; AUROC/AP of ``score``;
    hard retention = share of hard, correctly labelled videos not flagged."""
    is_noisy = np.asarray(is_noisy, dtype=bool)
    flag = np.asarray(flag, dtype=bool)
    if is_noisy.shape != flag.shape:
        raise ValueError(f"is_noisy has {is_noisy.shape[0]} rows but flag has {flag.shape[0]}")
    tp = int(np.sum(flag & is_noisy))
    precision = tp / flag.sum() if flag.sum() else 0.0
    recall = tp / is_noisy.sum() if is_noisy.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "n_flagged": int(flag.sum()),
        "n_noisy": int(is_noisy.sum()),
    }
    if score is not None:
        score = np.asarray(score, dtype=float)
        both = 0 < is_noisy.sum() < len(is_noisy)
        out["auroc"] = float(roc_auc_score(is_noisy, score)) if both else float("nan")
        out["ap"] = float(average_precision_score(is_noisy, score)) if both else float("nan")
    if is_hard is not None:
        out["hard_retention"] = hard_retention(is_hard, is_noisy, flag)
    return out


def hard_retention(is_hard, is_noisy, flag) -> float:
    """Share of hard videos with correct labels that were *not* flagged noisy."""
    keep = np.asarray(is_hard, dtype=bool) & ~np.asarray(is_noisy, dtype=bool)
    if not keep.any():
        return float("nan")
    return float(np.mean(~np.asarray(flag, dtype=bool)[keep]))


def relabel_accuracy(flag, suggested, true_labels, is_noisy=None) -> float:
    """Among flagged videos (and truly noisy ones when ``is_noisy`` is given), the share whose
    suggested label equals the true label."""
    flag = np.asarray(flag, dtype=bool)
    if is_noisy is not None:
        flag = flag & np.asarray(is_noisy, dtype=bool)
    if not flag.any():
        return float("nan")
    return float(np.mean(np.asarray(suggested)[flag] == np.asarray(true_labels)[flag]))


def verdicts_by_split(scores: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per split, what an annotator would meet: the share of clean, easy videos (correct label,
    not hard) flagged for review (verdict noisy or hard-or-noisy), the share of videos called
    hard that are truly hard and correctly labelled, and the noise AUROC where the split has
    both noisy and clean labels. ``truth``: video_id, is_noisy, is_hard."""
    d = scores[["video_id", "split", "verdict", "noise_score"]].merge(
        truth[["video_id", "is_noisy", "is_hard"]], on="video_id", validate="one_to_one")
    rows = []
    for split, g in d.groupby("split", sort=False):
        noisy, hard = g["is_noisy"].to_numpy(bool), g["is_hard"].to_numpy(bool)
        flagged = g["verdict"].isin(FLAGGED_VERDICTS).to_numpy()
        called_hard = (g["verdict"] == "hard").to_numpy()
        easy = ~noisy & ~hard
        both = 0 < noisy.sum() < len(noisy)
        rows.append({"split": split, "n": len(g), "n_noisy": int(noisy.sum()),
                     "clean_easy_flagged": float(flagged[easy].mean()) if easy.any() else float("nan"),
                     "hard_precision": float((hard & ~noisy)[called_hard].mean()) if called_hard.any() else float("nan"),
                     "auroc": float(roc_auc_score(noisy, g["noise_score"])) if both else float("nan")})
    return pd.DataFrame(rows)


DETECTION_COLUMNS = ("method", "n_flagged", "n_noisy", "precision", "recall", "f1", "auroc", "ap",
                     "hard_retention", "relabel_acc", "noisy_vs_hard_auroc")


def detection_table(methods: pd.DataFrame, truth: pd.DataFrame, *, names=None) -> pd.DataFrame:
    """Each method's detection quality against planted truth, one row per method
    (DETECTION_COLUMNS).

    ``methods``: ``video_id`` and, per method ``m``, ``m_score`` (float, higher = label more
    likely wrong; NaN ranks lowest), optionally ``m_flag`` (bool; without it the flag metrics
    are NaN) and ``m_suggested`` (class name; without it relabel_acc is NaN). ``truth``:
    ``video_id``, ``is_noisy``, ``is_hard`` and ``true_label``. Videos without truth are left
    out. ``names``: the methods, in row order (default: every ``*_score`` column in order).

    relabel_acc: among flagged, truly noisy videos, the share whose suggestion is the true
    label. noisy_vs_hard_auroc: AUROC of the score over truly noisy videos against hard,
    correctly labelled ones only (does the score tell noise from difficulty?)."""
    if names is None:
        names = [c[: -len("_score")] for c in methods.columns if c.endswith("_score")]
    missing = [f"{m}_score" for m in names if f"{m}_score" not in methods.columns]
    if missing:
        raise ValueError(f"methods table lacks column(s) {missing}")
    t = truth.drop_duplicates("video_id").set_index("video_id").reindex(methods["video_id"])
    ok = t["is_noisy"].notna().to_numpy()
    is_noisy = t["is_noisy"].to_numpy()[ok].astype(bool)
    is_hard = t["is_hard"].to_numpy()[ok].astype(bool)
    true = t["true_label"].to_numpy(object)[ok] if "true_label" in t.columns else None
    rows = [_detection_row(m, methods, ok, is_noisy, is_hard, true) for m in names]
    return pd.DataFrame(rows, columns=list(DETECTION_COLUMNS))


def hard_retention_at(methods: pd.DataFrame, truth: pd.DataFrame, names, n: int) -> list[float]:
    """Each method's hard retention had it flagged exactly its ``n`` top-scored videos (ties
    in row order): methods compared at one flag count, so none buys retention by flagging
    fewer. Same inputs as ``detection_table``."""
    t = truth.drop_duplicates("video_id").set_index("video_id").reindex(methods["video_id"])
    ok = t["is_noisy"].notna().to_numpy()
    keep = (t["is_hard"].to_numpy()[ok].astype(bool) & ~t["is_noisy"].to_numpy()[ok].astype(bool))
    out = []
    for m in names:
        score = methods[f"{m}_score"].to_numpy(dtype=float)[ok]
        flag = np.zeros(len(score), bool)
        flag[np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")[:max(int(n), 0)]] = True
        out.append(float(np.mean(~flag[keep])) if keep.any() else float("nan"))
    return out


def noisy_vs_hard_by_kind(methods: pd.DataFrame, truth: pd.DataFrame, names) -> pd.DataFrame:
    """Per method, the noisy-vs-hard AUROC of its score against each kind of hard, correctly
    labelled video apart (``truth``'s ``hard_kind``) and against all of them (``all``): where a
    score tells noise from difficulty and where it does not. ``all`` is the mean of the kinds'
    AUROCs weighted by their counts (the AUROC is a mean over noisy-hard pairs). Inputs as
    ``detection_table``; one row per method of ``names``, then ``n_<kind>`` counts."""
    t = truth.drop_duplicates("video_id").set_index("video_id").reindex(methods["video_id"])
    ok = t["is_noisy"].notna().to_numpy()
    noisy = t["is_noisy"].to_numpy()[ok].astype(bool)
    hard = t["is_hard"].to_numpy()[ok].astype(bool) & ~noisy
    kind = t["hard_kind"].fillna("").astype(str).to_numpy()[ok]
    kinds = sorted(set(kind[hard]))
    rows = []
    for m in names:
        score = methods[f"{m}_score"].to_numpy(dtype=float)[ok]
        score = np.where(np.isnan(score), np.finfo(float).min, score)  # NaN ranks lowest
        row = {"method": m}
        for k in ["all", *kinds]:
            h = hard if k == "all" else hard & (kind == k)
            pair = noisy | h
            row[k] = float(roc_auc_score(noisy[pair], score[pair])) if noisy.any() and h.any() else float("nan")
        rows.append(row)
    out = pd.DataFrame(rows, columns=["method", "all", *kinds])
    for k in kinds:
        out[f"n_{k}"] = int((hard & (kind == k)).sum())
    return out


def ours_columns(scores: pd.DataFrame) -> pd.DataFrame:
    """Our method in the shape ``detection_table`` reads: noise_score, verdict == noisy and
    the suggested label as ``ours_score``, ``ours_flag``, ``ours_suggested``."""
    return pd.DataFrame({
        "video_id": scores["video_id"].to_numpy(), "ours_score": scores["noise_score"].to_numpy(float),
        "ours_flag": (scores["verdict"] == "noisy").to_numpy(bool),
        "ours_suggested": scores["suggested_label"].to_numpy(object),
    })


def _detection_row(m: str, methods: pd.DataFrame, ok, is_noisy, is_hard, true) -> dict:
    score = methods[f"{m}_score"].to_numpy(dtype=float)[ok]
    score = np.where(np.isnan(score), np.finfo(float).min, score)  # NaN ranks lowest (sklearn refuses inf)
    has_flag = f"{m}_flag" in methods.columns
    flag = (methods[f"{m}_flag"].fillna(False).to_numpy().astype(bool)[ok] if has_flag
            else np.zeros(len(score), bool))
    row = {"method": m, **detection_metrics(is_noisy, flag, score, is_hard=is_hard)}
    if not has_flag:
        row.update({k: float("nan") for k in ("precision", "recall", "f1", "n_flagged", "hard_retention")})
    sug = f"{m}_suggested"
    row["relabel_acc"] = (relabel_accuracy(flag, methods[sug].to_numpy(object)[ok], true, is_noisy=is_noisy)
                          if has_flag and sug in methods.columns and true is not None else float("nan"))
    pair = is_noisy | is_hard
    both = 0 < is_noisy[pair].sum() < pair.sum()
    row["noisy_vs_hard_auroc"] = float(roc_auc_score(is_noisy[pair], score[pair])) if both else float("nan")
    return row


def uar_war(y_true, y_pred, classes=None) -> tuple[float, float]:
    """UAR = mean per-class recall over classes present in y_true; WAR = accuracy."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    present = classes if classes is not None else np.unique(y_true)
    recalls = [np.mean(y_pred[y_true == c] == c) for c in present if np.any(y_true == c)]
    return float(np.mean(recalls)), float(np.mean(y_true == y_pred))


def weak_model_warning(train_log: dict, num_classes: int) -> str | None:
    """A warning when held-out UAR never rose well above chance: the scores of such a model
    are close to random, and an annotator should know before trusting its verdicts."""
    uars = [r["heldout_uar"] for r in train_log.get("log", []) if np.isfinite(r.get("heldout_uar", np.nan))]
    chance = 1.0 / max(num_classes, 1)
    if not uars or max(uars) >= chance + (1.0 - chance) / 8:  # 7 classes: 0.25; 2 classes: 0.56
        return None
    return (f"the model barely learned: its best {train_log.get('heldout', 'held-out')} UAR is {max(uars):.2f} against "
            f"chance {chance:.2f}, so its noise scores and verdicts are close to random. Train longer (--epochs), "
            f"on more videos or at a larger --size before trusting them")
