"""Detection and classification metrics over aligned arrays (pure functions).

Convention: ``score`` higher = label more likely wrong; ``flag`` True = flagged noisy.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


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
