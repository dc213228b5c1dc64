"""Cross-clip agreement, noise-rate estimation and triage (pure numpy; no torch, no files).

Glossary: N videos, M clips per video, C classes. ``clip_probs`` (N, M, C) holds each clip's
class probabilities; ``labels`` (N,) the given label indices. The clips may come from one
model (M clip positions) or from several epochs of training stacked along M (a temporal
ensemble, which is what makes the scores survive memorization).

Conventions: ``noise_score`` in [0, 1], higher = given label more likely wrong;
``hardness`` in [0, 1], higher = clips disagree among themselves / the video is ambiguous.
Verdicts (schema.VERDICTS): ``clean``; ``hard`` (correctly labelled but ambiguous: kept and
reinforced); ``noisy`` (flagged, and the clips, pooled as the noise score pools them, name
another class: relabel); and ``hard-or-noisy`` (flagged, but no other class leads the label
clearly: an annotator decides). A flagged video is never silently called hard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from curation.schema import VERDICTS

VERDICT_NAMES = np.array(VERDICTS)


@dataclass(frozen=True)
class Agreement:
    """Per-video statistics of the clips; every array has N rows."""

    mean_probs: np.ndarray  # (N, C) mean over clips
    pred: np.ndarray  # (N,) argmax of mean_probs
    pred_conf: np.ndarray  # (N,) mean_probs[pred]
    label_prob: np.ndarray  # (N,) mean_probs[label]
    agree_label: np.ndarray  # (N,) share of clips whose argmax is the label
    agree_mode: np.ndarray  # (N,) share of clips whose argmax is the consensus
    consensus: np.ndarray  # (N,) most common clip argmax (ties: higher mean prob)
    margin: np.ndarray  # (N,) mean_probs[consensus] - mean_probs[label]
    label_margin: np.ndarray  # (N,) max other mean prob - label prob, in [-1, 1]


def _check(clip_probs, labels) -> tuple[np.ndarray, np.ndarray]:
    clip_probs = np.asarray(clip_probs, dtype=np.float64)
    labels = np.asarray(labels)
    if clip_probs.ndim != 3:
        raise ValueError(f"clip_probs must be (N, M, C), got shape {clip_probs.shape}")
    n, m, c = clip_probs.shape
    if m < 1 or c < 2:
        raise ValueError(f"clip_probs needs at least 1 clip and 2 classes, got shape {clip_probs.shape}")
    if labels.shape != (n,):
        raise ValueError(f"labels has {labels.shape} rows but clip_probs has {n} videos")
    if n and (labels.min() < 0 or labels.max() >= c):
        raise ValueError(f"labels must be class indices in [0, {c}), got range [{labels.min()}, {labels.max()}]")
    if not np.all(np.isfinite(clip_probs)):
        raise ValueError("clip_probs holds NaN or infinite values")
    return clip_probs, labels.astype(np.int64)


def clip_agreement(clip_probs, labels) -> Agreement:
    """Agreement statistics of each video's clips with its label and with each other."""
    clip_probs, labels = _check(clip_probs, labels)
    return _agreement(clip_probs, labels)


def _agreement(clip_probs: np.ndarray, labels: np.ndarray) -> Agreement:
    n, m, c = clip_probs.shape
    rows = np.arange(n)
    mean = clip_probs.mean(axis=1)
    votes = clip_probs.argmax(axis=2)  # (N, M)
    counts = np.zeros((n, c))
    np.add.at(counts, (np.repeat(rows, m), votes.ravel()), 1.0)
    # ties between equally voted classes go to the higher mean probability
    consensus = np.argmax(counts + 1e-6 * mean, axis=1)
    pred = mean.argmax(axis=1)
    label_prob = mean[rows, labels]
    return Agreement(
        mean_probs=mean,
        pred=pred,
        pred_conf=mean[rows, pred],
        label_prob=label_prob,
        agree_label=counts[rows, labels] / m,
        agree_mode=counts[rows, consensus] / m,
        consensus=consensus,
        margin=mean[rows, consensus] - label_prob,
        label_margin=best_other(mean, labels)[1],
    )


def noise_score(agreement: Agreement, *, vote_weight: float = 0.5) -> np.ndarray:
    """(N,) in [0, 1], higher = label more likely wrong.

    Blends the probability margin against the label (how strongly the model prefers another
    class) with the share of clips that do not vote for the label (how consistently)."""
    if not 0.0 <= vote_weight <= 1.0:
        raise ValueError(f"vote_weight must be in [0, 1], got {vote_weight}")
    prob_part = (1.0 + agreement.label_margin) / 2.0
    vote_part = 1.0 - agreement.agree_label
    return np.clip((1 - vote_weight) * prob_part + vote_weight * vote_part, 0.0, 1.0)


def aum_score(aum, n: int) -> np.ndarray:
    """(N,) in (0, 1): sigmoid(-AUM), where AUM is the given label's logit minus the largest
    other logit, averaged over the training epochs up to the evidence epoch (Pleiss et al.,
    2020). Early epochs count as much as late ones, so a label the network only learned by
    memorizing it keeps a low AUM. Blended at 1/3 into the noise score, it raised AUROC on
    6 of 8 trained runs (median +0.008; -0.004 on the two with the weakest models)."""
    aum = np.asarray(aum, dtype=np.float64)
    if aum.shape != (n,):
        raise ValueError(f"aum must be (N,) aligned with labels; got {aum.shape} for N={n}")
    if not np.isfinite(aum).all():
        raise ValueError("aum contains NaN or infinite values")
    return 1.0 / (1.0 + np.exp(aum))


POOLINGS = ("certainty", "mean")


def clip_certainty(clip_probs) -> np.ndarray:
    """(N, M) in (0, 1]: one minus the normalised entropy of each clip's prediction.

    A clip taken before the onset, after the offset or behind an occluder shows no clear
    expression; its prediction is spread out and says little about the label, while a clip
    that shows the expression is peaked. Weighting by certainty lets the clips that saw the
    face speak, without a prior on where in the video the expression is."""
    p = np.clip(np.asarray(clip_probs, dtype=np.float64), 1e-12, 1.0)
    entropy = -(p * np.log(p)).sum(axis=2) / np.log(p.shape[2])
    return np.clip(1.0 - entropy, 0.0, 1.0) + 1e-6


def pooled_probs(clip_probs, pooling: str = "mean") -> np.ndarray:
    """(N, C) the clips' probabilities pooled as the noise score pools them: the plain mean,
    or weighted by ``clip_certainty`` (``pooling``, POOLINGS)."""
    clip_probs = np.asarray(clip_probs, dtype=np.float64)
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {list(POOLINGS)}, got {pooling!r}")
    if pooling == "mean":
        return clip_probs.mean(axis=1)
    w = clip_certainty(clip_probs)
    return (clip_probs * (w / w.sum(axis=1, keepdims=True))[:, :, None]).sum(axis=1)


def best_other(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    """((N,) the most probable class other than the label, (N,) its lead over the label in
    probability, in [-1, 1]) of pooled probabilities ``probs`` (N, C)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.arange(len(labels))
    other = probs.copy()
    other[rows, labels] = -np.inf
    best = other.argmax(axis=1)
    return best, probs[rows, best] - probs[rows, labels]


def certainty_pooled_score(clip_probs, labels) -> np.ndarray:
    """(N,) in [0, 1], higher = label more likely wrong: the margin against the label of the
    clips' probabilities averaged with ``clip_certainty`` weights. Blended as the score blends
    it, it ranked noisy above hard-but-correct videos 0.005-0.013 AUROC better than the plain
    mean blended with the clip vote, on each of five trained networks (docs/ARCHITECTURE.md,
    "Clip pooling")."""
    clip_probs, labels = _check(clip_probs, labels)
    return video_margin_score(pooled_probs(clip_probs, "certainty"), labels)


def video_margin_score(video_probs, labels) -> np.ndarray:
    """(N,) in [0, 1]: (1 + best other class prob - label prob) / 2 of the video head.

    The video head sees all clips at once and is a better classifier than any clip head; on
    the default synthetic set its margin ranked noisy labels better (AUROC 0.894 against
    0.874 for the clip score); blended with the clip score, the clips say how consistently
    and the video head how strongly the video disagrees with its label."""
    video_probs = np.asarray(video_probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if video_probs.ndim != 2 or video_probs.shape[0] != labels.shape[0]:
        raise ValueError(f"video_probs must be (N, C) aligned with labels; got {video_probs.shape} and {labels.shape}")
    return np.clip((1.0 + best_other(video_probs, labels)[1]) / 2.0, 0.0, 1.0)


def hardness(agreement: Agreement, num_clips: int) -> np.ndarray:
    """(N,) in [0, 1], higher = more ambiguous: clips split among classes and the mean
    prediction is spread out (normalised entropy). Independent of the given label."""
    mean = np.clip(agreement.mean_probs, 1e-12, 1.0)
    c = mean.shape[1]
    entropy = -(mean * np.log(mean)).sum(axis=1) / np.log(c)
    lowest_mode = 1.0 / min(num_clips, c)
    split = (1.0 - agreement.agree_mode) / max(1.0 - lowest_mode, 1e-12)
    return np.clip(0.5 * split + 0.5 * entropy, 0.0, 1.0)


def suggested_label(agreement: Agreement, labels) -> np.ndarray:
    """(N,) the consensus, or the best other class when the consensus is the label."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.where(agreement.consensus != labels, agreement.consensus, best_other(agreement.mean_probs, labels)[0])


def estimate_noise_rates(probs, labels, *, num_classes: int | None = None) -> np.ndarray:
    """(C,) estimated share of wrong labels among videos given each class.

    Confident-joint style (as cleanlab): a video counts toward class j when its probability
    of j reaches class j's average self-confidence; the off-diagonal share of each given
    class's row is its noise rate. ``probs`` (N, C) should be out-of-sample or taken before
    memorization; in-sample probabilities of a memorized model give rates near zero."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or probs.shape[0] != labels.shape[0]:
        raise ValueError(f"probs must be (N, C) aligned with labels; got {probs.shape} and {labels.shape}")
    c = num_classes or probs.shape[1]
    thresholds = np.full(c, np.inf)
    for j in range(c):
        if np.any(labels == j):
            thresholds[j] = probs[labels == j, j].mean()
    above = probs >= thresholds[None, :] - 1e-12
    masked = np.where(above, probs, -np.inf)
    has = above.any(axis=1)
    assigned = masked.argmax(axis=1)
    rates = np.zeros(c)
    for i in range(c):
        rows = (labels == i) & has
        if rows.sum() == 0:
            continue
        rates[i] = float(np.mean(assigned[rows] != i))
    return rates


ROUTES = ("pooled", "votes")


@dataclass(frozen=True)
class TriageConfig:
    """Cuts of the triage; the cut is calibrated to the estimated noise rate per class.

    ``route`` decides which flagged videos are ``noisy`` rather than ``hard-or-noisy``:
    ``pooled``, another class leads the label by more than ``min_margin`` in the probabilities
    the noise score is made of (clips pooled, blended with the video head); ``votes``, a
    majority of clips (``min_agree``) votes for another class and its mean probability leads
    the label by more than ``min_margin``. A vote counts a hesitant clip as much as a clear one,
    so ``votes`` sent many mislabelled videos whose clearest clips name another class to
    ``hard-or-noisy`` (docs/ARCHITECTURE.md, "Verdicts")."""

    min_agree: float = 0.5  # route "votes": share of clips voting for one class other than the label
    min_margin: float = 0.1  # that class's probability minus the label's must exceed this
    route: str = field(default="pooled", metadata={
        "choices": ROUTES, "help": "how a flagged video is called noisy: pooled (another class leads the label in "
                                   "the pooled probabilities) or votes (a majority of clips votes for it)"})
    # below this share of clips on the label a kept video is "hard": fewer than half. At 0.75,
    # 21-54 % of the kept videos were "hard" and only 0.17-0.60 of them truly hard; at 0.5 that
    # share rose on each of six trained networks (docs/ARCHITECTURE.md, "Noise score and triage")
    hard_agree: float = 0.5
    rate_scale: float = 1.0  # multiply the estimated noise rates (1 = as estimated)
    max_rate: float = 0.5  # never flag more than this share of any given class
    min_score: float = 0.5  # never flag a video whose noise_score is below this


def triage(agreement: Agreement, labels, score, *, noise_rates, config: TriageConfig | None = None,
           route_probs=None) -> np.ndarray:
    """(N,) verdict strings (schema.VERDICTS).

    Within each given class the top-ranked videos by ``score`` up to that class's estimated
    noise rate are flagged; a flagged video is *noisy* when the evidence names another class
    (TriageConfig.route; ``route_probs`` (N, C) are the pooled probabilities, by default the
    clips' mean), else *hard-or-noisy*. Unflagged videos whose clips split between the label
    and other classes are *hard*; the rest clean."""
    cfg = config or TriageConfig()
    if cfg.route not in ROUTES:
        raise ValueError(f"route must be one of {list(ROUTES)}, got {cfg.route!r}")
    labels = np.asarray(labels, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    rates = np.asarray(noise_rates, dtype=np.float64)
    n = len(labels)
    if score.shape != (n,) or agreement.pred.shape != (n,):
        raise ValueError(f"score has {score.shape[0]} rows, agreement {agreement.pred.shape[0]}, labels {n}")
    if n and labels.max() >= len(rates):
        raise ValueError(f"noise_rates has {len(rates)} classes but labels reach index {labels.max()}")
    candidate = np.zeros(n, dtype=bool)
    for i in range(len(rates)):
        idx = np.flatnonzero(labels == i)
        if len(idx) == 0:
            continue
        k = int(round(min(rates[i] * cfg.rate_scale, cfg.max_rate) * len(idx)))
        if k <= 0:
            continue
        top = idx[np.argsort(-score[idx], kind="stable")[:k]]
        candidate[top] = True
    candidate &= score >= cfg.min_score
    if cfg.route == "votes":
        agrees_elsewhere = ((agreement.consensus != labels) & (agreement.agree_mode >= cfg.min_agree)
                            & (agreement.margin > cfg.min_margin))
    else:
        _, lead = best_other(agreement.mean_probs if route_probs is None else route_probs, labels)
        agrees_elsewhere = lead > cfg.min_margin
    verdict = np.full(n, "clean", dtype=object)
    verdict[~candidate & (agreement.agree_label < cfg.hard_agree)] = "hard"
    verdict[candidate] = "hard-or-noisy"
    verdict[candidate & agrees_elsewhere] = "noisy"
    return verdict.astype(str)


def audit(clip_probs, labels, *, noise_rates=None, rate_probs=None, config: TriageConfig | None = None,
          vote_weight: float = 0.5, video_probs=None, video_weight: float = 0.5, aum=None,
          aum_weight: float = 0.33, pooling: str = "mean") -> dict:
    """Everything the scores table needs, from clip probabilities and labels.

    ``noise_rates`` (C,) if known; otherwise estimated from ``rate_probs`` (N, C) (defaults
    to the clips' mean probabilities). ``pooling`` (POOLINGS) makes the clips' part of the
    noise score: ``mean``, ``noise_score`` with ``vote_weight``; ``certainty``,
    ``certainty_pooled_score`` (no vote). ``video_probs`` (N, C), the video head's probabilities,
    enter the noise score with ``video_weight``; ``aum`` (N,), the area under the margin of
    training, then takes ``aum_weight`` of the result. Returns a dict of (N,) arrays: the
    Agreement fields plus noise_score, hardness, verdict, suggested, suggested_lead."""
    clip_probs, labels = _check(clip_probs, labels)
    agr = _agreement(clip_probs, labels)
    c = clip_probs.shape[2]
    if noise_rates is None:
        noise_rates = estimate_noise_rates(agr.mean_probs if rate_probs is None else rate_probs, labels, num_classes=c)
    pooled = pooled_probs(clip_probs, pooling)
    score = (video_margin_score(pooled, labels) if pooling == "certainty"
             else noise_score(agr, vote_weight=vote_weight))
    if video_probs is not None:
        if not 0.0 <= video_weight <= 1.0:
            raise ValueError(f"video_weight must be in [0, 1], got {video_weight}")
        score = (1 - video_weight) * score + video_weight * video_margin_score(video_probs, labels)
        pooled = (1 - video_weight) * pooled + video_weight * np.asarray(video_probs, dtype=np.float64)
    if aum is not None:
        if not 0.0 <= aum_weight <= 1.0:
            raise ValueError(f"aum_weight must be in [0, 1], got {aum_weight}")
        score = (1 - aum_weight) * score + aum_weight * aum_score(aum, len(labels))
    return _audit_result(agr, labels, score, np.asarray(noise_rates, dtype=np.float64), clip_probs.shape[1], config,
                         route_probs=pooled)


def _audit_result(agr: Agreement, labels, score, rates, num_clips: int, config, *, route_probs) -> dict:
    """``route_probs`` (N, C): the pooled probabilities that route flags and name the
    suggestion (TriageConfig.route ``pooled``); ``suggested_lead`` is the suggestion's lead
    over the label in them."""
    cfg = config or TriageConfig()
    best, lead = best_other(route_probs, labels)
    return {
        "agreement": agr,
        "noise_score": score,
        "hardness": hardness(agr, num_clips),
        "verdict": triage(agr, labels, score, noise_rates=rates, config=cfg, route_probs=route_probs),
        "suggested": best if cfg.route == "pooled" else suggested_label(agr, labels),
        "suggested_lead": lead,
        "noise_rates": rates,
    }


def label_support_score(clip_probs, labels, *, best_clip_weight: float = 0.5, neutral: int | None = None) -> np.ndarray:
    """(N,) in [0, 1], higher = label more likely wrong: one minus the support the clips give
    the label, blending the mean over clips with the best clip.

    With ``neutral`` (the index of the class that means "no expression"), a clip that looks
    neutral is no evidence against an expression label: for videos not labelled neutral each
    clip's support is the label's share of the non-neutral probability, and clips count in
    proportion to how much expression they show (1 - p(neutral)). A brief or subtle
    expression leaves most clips neutral, while a wrong label has clips showing another
    expression. A video that never shows an expression is still judged on plain support (a
    neutral face labelled with an expression is a common error): the two are mixed by the
    most expressive clip's 1 - p(neutral). Out of fold on the default synthetic set (best clip
    weight 0) this moved noisy-vs-hard AUROC from 0.803 to 0.823 and AUROC from 0.925 to 0.931
    on the same probabilities (reports/OUT_OF_FOLD_64PX.md, row ours_neutral_aware), but it
    ranks a neutral face labelled with an expression lower whenever the classifier leaks
    some probability to that expression, so it is measured, not the default."""
    clip_probs, labels = _check(clip_probs, labels)
    if not 0.0 <= best_clip_weight <= 1.0:
        raise ValueError(f"best_clip_weight must be in [0, 1], got {best_clip_weight}")
    support = clip_probs[np.arange(len(labels)), :, labels]  # (N, M)
    if neutral is not None:
        if not 0 <= neutral < clip_probs.shape[2]:
            raise ValueError(f"neutral must be a class index in [0, {clip_probs.shape[2]}), got {neutral}")
        expressive = 1.0 - clip_probs[:, :, neutral]  # (N, M)
        aware = support / np.clip(expressive, 1e-6, None)  # the label's share of each clip's expression
        # clips weighted by their expression: the label's probability over the expression mass
        aware_mean = support.sum(1) / np.clip(expressive.sum(1), 1e-12, None)
        shown = expressive.max(1)  # did the video show an expression at all?
        mix = np.where(labels != neutral, shown * aware_mean + (1 - shown) * support.mean(1), support.mean(1))
        best = np.where(labels != neutral, np.clip(aware, 0, 1).max(1), support.max(1))
        return np.clip(1.0 - ((1 - best_clip_weight) * mix + best_clip_weight * best), 0.0, 1.0)
    return 1.0 - ((1 - best_clip_weight) * support.mean(1) + best_clip_weight * support.max(1))


def neutral_class(classes) -> int | None:
    """Index of the class named neutral (any case), or None: the one class that means the
    face shows no expression, in every DFER dataset we read."""
    found = [i for i, c in enumerate(classes) if str(c).strip().lower() == "neutral"]
    return found[0] if len(found) == 1 else None


def confident_noise_rates(probs, labels, *, num_classes: int) -> np.ndarray:
    """(C,) share of each given class estimated mislabelled, from cleanlab's calibrated
    confident joint of out-of-sample ``probs`` (N, C)."""
    from cleanlab.count import compute_confident_joint

    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    present = np.unique(labels)
    if len(present) < 2:
        return np.zeros(num_classes)
    # cleanlab wants every class present; restrict to the present ones and map back
    sub = probs[:, present]
    sub = sub / np.clip(sub.sum(1, keepdims=True), 1e-12, None)
    index = {c: i for i, c in enumerate(present)}
    cj = compute_confident_joint(np.array([index[c] for c in labels]), sub, calibrate=True)
    rates = np.zeros(num_classes)
    rows = cj.sum(1)
    rates[present] = np.where(rows > 0, 1 - np.diag(cj) / np.clip(rows, 1e-12, None), 0.0)
    return np.clip(rates, 0.0, 1.0)


def audit_out_of_fold(clip_probs, labels, *, config: TriageConfig | None = None,
                      best_clip_weight: float = 0.5, neutral: int | None = None) -> dict:
    """``audit`` for out-of-fold clip probabilities of every video at once: the noise score is
    the label support (``label_support_score``; neutral-aware only when ``neutral`` is given,
    which is not the default: see its docstring), the flag count per given class comes from
    the confident joint of the clips' mean probabilities, and the clips route each flag."""
    clip_probs, labels = _check(clip_probs, labels)
    agr = _agreement(clip_probs, labels)
    rates = confident_noise_rates(agr.mean_probs, labels, num_classes=clip_probs.shape[2])
    score = label_support_score(clip_probs, labels, best_clip_weight=best_clip_weight, neutral=neutral)
    return _audit_result(agr, labels, score, rates, clip_probs.shape[1], config, route_probs=agr.mean_probs)


def scores_frame(videos: pd.DataFrame, classes, result: dict, *, score_source: str | None = None) -> pd.DataFrame:
    """The scores table (schema.SCORES_COLUMNS, then the optional columns, rows as ``videos``)
    from an ``audit`` result; ``videos`` holds video_id, split and label; class indices map to
    names through ``classes``; ``score_source`` (schema.SCORE_SOURCES) fills that column."""
    classes = np.asarray(classes)
    a = result["agreement"]
    source = {} if score_source is None else {"score_source": score_source}
    return pd.DataFrame({
        "video_id": videos["video_id"].astype(str).to_numpy(), "split": videos["split"].astype(str).to_numpy(),
        "label": videos["label"].astype(str).to_numpy(), "pred_label": classes[a.pred], "pred_conf": a.pred_conf,
        "label_prob": a.label_prob, "agree_label": a.agree_label, "agree_mode": a.agree_mode,
        "consensus_label": classes[a.consensus], "margin": a.margin, "noise_score": result["noise_score"],
        "hardness": result["hardness"], "verdict": result["verdict"], "suggested_label": classes[result["suggested"]],
        **source, "suggested_lead": result["suggested_lead"],
    })
