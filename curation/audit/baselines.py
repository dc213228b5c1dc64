"""Label-noise baselines with one shape, to compare against cross-clip agreement.

Every method takes ``labels`` (N,) int class indices and either ``pred_probs`` (N, C)
(rows sum to 1), per-epoch training statistics (N, E), ``clip_probs`` (N, M, C), or
per-video embedding features (N, D) with their folds (the neighbour vote), and returns a
:class:`Detection`: ``score`` (N,) float, **higher = label more likely wrong**, and
``flag`` (N,) bool, True = flagged as mislabelled; methods that propose a label also
return ``suggested`` (N,) int.

The cuts that turn scores into flags are each method's own where it has one (cleanlab's
filters and its estimated issue count, DivideMix's posterior > 0.5, FiftyOne's 0.5
midpoint); where it has none the cut is a documented keyword default.

The run-level entry point :func:`run_baselines` reads a run directory, picks the inputs
(out-of-fold probabilities when ``train --folds K`` left them, in-sample otherwise; the
frame-embedding cache when `embed` made one) and writes ``baselines.parquet``
(``video_id``, ``<method>_score``, ``<method>_flag``, and ``<method>_suggested`` where a
method suggests a label). This module imports neither torch nor FiftyOne: FiftyOne's
mistakenness scorer is passed in by the command or pipeline. The side-by-side tables are
in curation.audit.compare.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from curation.errors import ConfigError, RunError
from curation.fileio import read_json, write_parquet
from curation.audit.neighbours import DEFAULT_K, VotePool, neighbour_vote, run_pool
from curation.runs import RunDir, read_array

log = logging.getLogger(__name__)

CLEANLAB_FILTERS = (
    "prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given",
)
CLEANLAB_RANKS = ("self_confidence", "normalized_margin")
# Column prefixes in baselines.parquet, in table order.
METHODS = (
    *(f"cl_{f}" for f in CLEANLAB_FILTERS),
    *(f"cl_{r}" for r in CLEANLAB_RANKS),
    "aum", "loss_gmm", "cartography", "fo_mistakenness", "single_clip", "knn_vote",
)
# Out-of-fold probabilities from elsewhere (N, C), rows aligned to scores.parquet (all rows or
# the train rows); an optional oof_probs.json beside it says what they are ({"kind": ...}).
# A run trained with `train --folds K` needs none: its own scores are out-of-fold.
OOF_FILE = "oof_probs.npy"


@dataclass
class Detection:
    """One method's verdict on N videos. ``score``: higher = more likely mislabelled."""

    score: np.ndarray
    flag: np.ndarray
    suggested: np.ndarray | None = None
    extra: dict | None = None          # method-specific arrays (e.g. cartography's map)


# ---------------------------------------------------------------- validation helpers


def _check_labels_probs(labels, pred_probs, *, name: str = "pred_probs") -> tuple[np.ndarray, np.ndarray]:
    """Validate once at the public door: shapes agree, labels index the class axis, rows are
    probabilities. Errors say what was expected and what arrived."""
    labels = np.asarray(labels)
    probs = np.asarray(pred_probs, dtype=float)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if probs.ndim != 2:
        raise ValueError(f"{name} must be (N, C), got shape {probs.shape}")
    if probs.shape[0] != labels.shape[0]:
        raise ValueError(f"labels has {labels.shape[0]:,} rows but {name} has {probs.shape[0]:,}")
    C = probs.shape[1]
    if len(labels) and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(f"labels must lie in [0, {C - 1}] for {C} classes, got {labels.min()}..{labels.max()}")
    if not np.all(np.isfinite(probs)) or probs.min() < 0:
        raise ValueError(f"{name} has negative or non-finite entries")
    if not np.allclose(probs.sum(1), 1.0, atol=1e-3):
        bad = int(np.argmax(np.abs(probs.sum(1) - 1)))
        raise ValueError(f"{name} rows must sum to 1; row {bad} sums to {probs[bad].sum():.4f}")
    return labels.astype(np.int64), probs


def _check_epochs(values, n: int, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] != n:
        raise ValueError(f"{name} must be (N={n}, E), got shape {values.shape}")
    if values.shape[1] == 0 or np.all(np.isnan(values), axis=1).any():
        raise ValueError(f"{name} has videos with no epoch recorded")
    return values


# ---------------------------------------------------------------- cleanlab


def cleanlab_filter(labels, pred_probs, *, filter_by: str = "prune_by_noise_rate") -> Detection:
    """cleanlab ``find_label_issues`` with one ``filter_by``; score = 1 - self-confidence
    (the order cleanlab itself ranks issues by), suggested = argmax of ``pred_probs``.

    pred_probs should be out-of-sample (cleanlab's assumption)."""
    if filter_by not in CLEANLAB_FILTERS:
        raise ConfigError(f"filter_by {filter_by!r} is not one of {CLEANLAB_FILTERS}")
    labels, probs = _check_labels_probs(labels, pred_probs)
    from cleanlab.filter import find_label_issues

    # n_jobs=1: deterministic and fair to the other single-process methods.
    flag = find_label_issues(labels, probs, filter_by=filter_by, n_jobs=1)
    score = 1.0 - probs[np.arange(len(labels)), labels]
    return Detection(score, np.asarray(flag, dtype=bool), probs.argmax(1))


def cleanlab_rank(labels, pred_probs, *, method: str = "self_confidence") -> Detection:
    """cleanlab label-quality score (``get_label_quality_scores``); score = 1 - quality.
    Flag = the ``num_label_issues`` lowest-quality videos (cleanlab's own estimate of how
    many labels are wrong, from the confident joint)."""
    if method not in CLEANLAB_RANKS:
        raise ConfigError(f"rank method {method!r} is not one of {CLEANLAB_RANKS}")
    labels, probs = _check_labels_probs(labels, pred_probs)
    from cleanlab.count import num_label_issues
    from cleanlab.rank import get_label_quality_scores

    score = 1.0 - get_label_quality_scores(labels, probs, method=method)
    k = int(num_label_issues(labels, probs))
    return Detection(score, _top_k(score, k), probs.argmax(1))


def knn_vote(labels, features, fold, *, num_classes: int, k: int = DEFAULT_K, weighted: bool = False,
             rows=None) -> Detection:
    """Neighbour vote on embeddings (curation.audit.neighbours.neighbour_vote), no training:
    score = 1 - share of the k nearest other-fold videos that carry the label, suggested =
    their majority. Flag = cleanlab's find_label_issues (prune_by_noise_rate) on the vote
    matrix, so the count is calibrated as for the cleanlab rows. ``rows``: the videos to
    judge (default all); every video votes."""
    vote = neighbour_vote(features, labels, fold, num_classes=num_classes, k=k, weighted=weighted)
    sel = np.arange(len(vote.score)) if rows is None else np.asarray(rows, dtype=np.int64)
    flag = cleanlab_filter(np.asarray(labels)[sel], vote.votes[sel], filter_by="prune_by_noise_rate").flag
    return Detection(vote.score[sel], flag, vote.suggested[sel], extra={"votes": vote.votes[sel]})


def _top_k(score: np.ndarray, k: int) -> np.ndarray:
    """Flag the k highest scores (stable order, so ties break by position)."""
    flag = np.zeros(len(score), dtype=bool)
    if k > 0:
        flag[np.argsort(-score, kind="stable")[:k]] = True
    return flag


# ---------------------------------------------------------------- training dynamics


def aum(logit_margins, *, threshold: float = 0.0) -> Detection:
    """Area Under the Margin (Pleiss et al. 2020): mean over epochs of the assigned label's
    logit minus the largest other logit. ``logit_margins`` (N, E), NaN = epoch not seen.

    Score = -AUM. The paper's cut comes from threshold samples deliberately assigned to a
    fake extra class, which needs a second training run; without it we flag AUM < ``threshold``
    (default 0: on average over training the given label lost to another class)."""
    m = np.asarray(logit_margins, dtype=float)
    m = _check_epochs(m, m.shape[0] if m.ndim == 2 else -1, "logit_margins")
    value = np.nanmean(m, axis=1)
    return Detection(-value, value < threshold)


def loss_gmm(loss, *, seed: int = 0) -> Detection:
    """DivideMix-style split (Li et al. 2020): a two-component 1-D Gaussian mixture on the
    per-video loss, min-max normalised; score = posterior of the high-loss component, flag =
    that posterior > 0.5. Same GMM settings as DivideMix (max_iter 10, tol 1e-2,
    reg_covar 5e-4)."""
    loss = np.asarray(loss, dtype=float)
    if loss.ndim != 1 or not np.all(np.isfinite(loss)):
        raise ValueError(f"loss must be a finite 1-D array (N,), got shape {loss.shape}")
    if len(loss) < 2 or np.ptp(loss) == 0:
        return Detection(np.zeros(len(loss)), np.zeros(len(loss), dtype=bool))
    from sklearn.mixture import GaussianMixture

    x = ((loss - loss.min()) / np.ptp(loss)).reshape(-1, 1)
    gmm = GaussianMixture(n_components=2, max_iter=10, tol=1e-2, reg_covar=5e-4, random_state=seed)
    gmm.fit(x)
    high = int(np.argmax(gmm.means_.ravel()))
    post = gmm.predict_proba(x)[:, high]
    return Detection(post, post > 0.5)


def cartography(label_probs, *, confidence_below: float = 0.5, variability_below: float = 0.2) -> Detection:
    """Dataset cartography (Swayamdipta et al. 2020): confidence = mean over epochs of the
    probability of the given label, variability = its std. ``label_probs`` (N, E).

    Score = 1 - confidence. Flag = the "hard-to-learn" region, where the paper finds most
    mislabelled examples: confidence < ``confidence_below`` and variability below
    ``variability_below`` (the std of a probability is at most 0.5; 0.2 leaves out the
    ambiguous region where the label probability swings across epochs), i.e. the model
    steadily disagreed with the label. Returns the map in ``.extra``."""
    p = np.asarray(label_probs, dtype=float)
    p = _check_epochs(p, p.shape[0] if p.ndim == 2 else -1, "label_probs")
    conf = np.nanmean(p, axis=1)
    var = np.nanstd(p, axis=1)
    return Detection(1.0 - conf, (conf < confidence_below) & (var < variability_below),
                     extra={"confidence": conf, "variability": var})


# ---------------------------------------------------------------- FiftyOne, ablation


def fo_mistakenness(video_ids, labels, pred_probs, classes, *, scorer) -> Detection:
    """FiftyOne Brain ``compute_mistakenness`` through ``scorer`` (the FiftyOne adapter's
    ``mistakenness_scores(video_ids, label_names, logits, classes) -> (N,)``). Logits =
    log(pred_probs), which softmax maps back to the same probabilities. Flag = mistakenness
    > 0.5: FiftyOne's scale puts predictions that disagree with the label above 0.5 and
    agreeing ones below."""
    labels, probs = _check_labels_probs(labels, pred_probs)
    names = [classes[i] for i in labels]
    logits = np.log(np.clip(probs, 1e-12, None))
    score = np.asarray(scorer(list(video_ids), names, logits, list(classes)), dtype=float)
    return Detection(score, score > 0.5, probs.argmax(1))


def single_clip(labels, clip_probs, *, clip: int | None = None) -> Detection:
    """Ablation: our own scoring and triage (``curation.audit.agreement.audit``) on one clip per
    video, so no cross-clip agreement is possible. Uses clip ``clip`` of the saved
    ``clip_probs`` (N, M, C) (default: the middle one, M // 2, a centred clip); score = our
    noise_score, flag = verdict noisy, suggested = our suggested label."""
    cp = np.asarray(clip_probs, dtype=float)
    if cp.ndim != 3:
        raise ValueError(f"clip_probs must be (N, M, C), got shape {cp.shape}")
    k = cp.shape[1] // 2 if clip is None else clip
    if not 0 <= k < cp.shape[1]:
        raise ValueError(f"clip {k} is out of range for {cp.shape[1]} clips")
    labels, _ = _check_labels_probs(labels, cp[:, k, :], name="clip_probs[:, clip]")
    from curation.audit.agreement import audit

    res = audit(cp[:, k : k + 1, :], labels)
    return Detection(np.asarray(res["noise_score"], dtype=float), np.asarray(res["verdict"]) == "noisy",
                     np.asarray(res["suggested"], dtype=np.int64))


# ---------------------------------------------------------------- run level


@dataclass
class BaselinesConfig:
    """What `dfer-curate baselines` ran with (saved in config.json)."""

    seed: int = 0                      # GMM initialisation
    probs: str = "auto"                # auto: out-of-fold if present, else in-sample; or oof / insample
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    aum_threshold: float = 0.0         # flag AUM below this
    cartography_confidence: float = 0.5
    cartography_variability: float = 0.2
    single_clip_index: int | None = None  # which saved clip the ablation uses (None: the centred uniform clip)
    gmm_epoch: int = -1                # which epoch's loss the GMM splits (-1: the last, as DivideMix)
    knn_k: int = DEFAULT_K             # neighbours per vote (why 10: curation.audit.neighbours)


@dataclass
class BaselineInputs:
    """Aligned arrays for the train split, read once from a run directory."""

    video_ids: np.ndarray
    labels: np.ndarray                 # (N,) int
    classes: list[str]
    clip_probs: np.ndarray             # (N, M, C) at scoring time
    pred_probs: np.ndarray             # (N, C) what cleanlab gets
    probs_kind: str                    # "out-of-fold (K=...)" or "in-sample (mean of M clips)"
    dynamics: pd.DataFrame | None
    centre_clip: int = 0               # index of the centred uniform clip in clip_probs
    pool: VotePool | None = None       # the neighbour vote's embeddings; None without a cache
    no_pool: str = ""                  # why there is no pool


def load_inputs(run_dir, *, probs: str = "auto", split: str = "train") -> BaselineInputs:
    """Read scores, clip probabilities, dynamics and (if any) out-of-fold probabilities of one
    run, restricted to ``split`` and aligned by video_id."""
    run = RunDir(run_dir)
    run.require("scores", "score")
    manifest = run.read_manifest()
    scores = run.read_scores(manifest)  # validated against the manifest (RunError naming the file)
    classes = list(manifest.classes)
    clip_probs = run.read_clip_probs(len(scores), len(classes))
    keep = (scores["split"] == split).to_numpy()
    if not keep.any():
        raise RunError(f"{run.scores} has no {split!r} videos to audit")
    sc = scores[keep].reset_index(drop=True)
    cp = clip_probs[keep]
    lookup = {c: i for i, c in enumerate(classes)}
    labels = np.array([lookup[x] for x in sc["label"]], dtype=np.int64)

    if probs not in ("auto", "oof", "insample"):
        raise ConfigError(f"probs {probs!r} must be auto, oof or insample")
    own, own_kind = run_probs(run.path, scores=scores, clip_probs=clip_probs)
    own = own[keep]
    oof_path = run.path / OOF_FILE
    if probs != "insample" and oof_path.exists():
        oof = read_array(oof_path, f"train again with `dfer-curate train {run.path} --folds K`")
        if oof.shape[0] == len(scores):
            oof = oof[keep]
        if oof.shape != (len(sc), len(classes)):
            raise RunError(
                f"{oof_path} has shape {oof.shape}; expected ({len(sc)}, {len(classes)}) rows aligned to "
                f"the {split} rows of scores.parquet (or {len(scores)} aligned to all rows)"
            )
        meta = oof_path.with_suffix(".json")
        kind = read_json(meta).get("kind", "out-of-fold") if meta.exists() else "out-of-fold"
        pred_probs = oof
    elif probs == "oof" and not own_kind.startswith("out-of-fold"):
        raise RunError(
            f"{run.path} has no out-of-fold probabilities: run `dfer-curate train {run.path} --folds 5` "
            f"(its scores are then out-of-fold) or put them in {oof_path}; or use --probs insample"
        )
    else:
        pred_probs, kind = own, own_kind
    pred_probs = np.clip(pred_probs, 0, None)
    pred_probs = pred_probs / pred_probs.sum(1, keepdims=True)

    dyn = pd.read_parquet(run.dynamics) if run.dynamics.exists() else None
    # clip_probs holds the uniform clips in time order first, then key clips (model.score)
    u = (run.load_config().get("score") or {}).get("uniform_clips")
    centre = u // 2 if isinstance(u, int) and 0 < u <= cp.shape[1] else cp.shape[1] // 2
    pool, no_pool = run_pool(run, manifest, scores, rows=np.flatnonzero(keep), clips=clip_probs.shape[1])
    return BaselineInputs(
        sc["video_id"].to_numpy(dtype=object), labels, classes, cp, pred_probs, kind, dyn, centre, pool, no_pool,
    )


def run_probs(run_dir, *, scores: pd.DataFrame | None = None, clip_probs: np.ndarray | None = None):
    """The run's own per-video class probabilities (N, C), rows aligned to scores.parquet, and
    a phrase saying what they are. The video head's prediction (softmax of video_logits.npy)
    when scoring saved it, else the mean of the clips' probabilities. They are out-of-fold
    when the run was trained with ``train --folds K`` (config.json train.folds >= 2) or scored
    out of fold (``score --out-of-fold`` or ``--cross-fit``)."""
    run = RunDir(run_dir)
    scores = pd.read_parquet(run.scores) if scores is None else scores
    clip_probs = read_array(run.clip_probs, f"re-run `dfer-curate score {run.path}`") if clip_probs is None else clip_probs
    n, m, c = clip_probs.shape
    logits_path = run.video_logits
    what = f"mean of {m} clips"
    probs = clip_probs.mean(1)
    if logits_path.exists():
        logits = read_array(logits_path, f"re-run `dfer-curate score {run.path}`").astype(np.float64)
        if logits.shape == (n, c) and np.all(np.isfinite(logits)):
            z = np.exp(logits - logits.max(1, keepdims=True))
            probs, what = z / z.sum(1, keepdims=True), "video head"
        else:
            log.warning("%s has shape %s, not (%d, %d); using the clips' mean", logits_path, logits.shape, n, c)
    config = run.load_config()
    k = (config.get("train") or {}).get("folds") or 0
    if (config.get("score") or {}).get("source") == "out-of-fold":  # score --out-of-fold / --cross-fit
        kind = f"out-of-fold ({what})"
    else:
        kind = f"out-of-fold (K={k}, {what})" if k >= 2 else f"in-sample ({what})"
    return probs, kind


def dynamics_matrix(dynamics: pd.DataFrame, video_ids, column: str) -> np.ndarray:
    """Pivot dynamics.parquet to (N, E) of ``column``, rows in ``video_ids`` order; NaN where
    an epoch did not record a video. Missing videos are an error, never a silent drop."""
    if column not in dynamics.columns:
        raise RunError(f"dynamics.parquet lacks column {column!r}; re-run `dfer-curate train`")
    wide = dynamics.pivot_table(index="video_id", columns="epoch", values=column, aggfunc="mean")
    missing = [v for v in video_ids if v not in wide.index]
    if missing:
        raise RunError(
            f"dynamics.parquet has no rows for {len(missing)} train video(s), e.g. {missing[:3]}; "
            "re-run `dfer-curate train` on this manifest"
        )
    return wide.loc[list(video_ids)].to_numpy(dtype=float)


def compute(inputs: BaselineInputs, method: str, config: BaselinesConfig | None = None, *,
            mistakenness=None) -> Detection:
    """Run one method (a name of METHODS) on loaded inputs; ``fo_mistakenness`` needs the
    ``mistakenness`` scorer (see :func:`fo_mistakenness`)."""
    cfg = config or BaselinesConfig()
    x = inputs
    if method.startswith("cl_") and method[3:] in CLEANLAB_FILTERS:
        return cleanlab_filter(x.labels, x.pred_probs, filter_by=method[3:])
    if method.startswith("cl_") and method[3:] in CLEANLAB_RANKS:
        return cleanlab_rank(x.labels, x.pred_probs, method=method[3:])
    if method in ("aum", "loss_gmm", "cartography") and x.dynamics is None:
        raise RunError(f"{method} needs dynamics.parquet; run `dfer-curate train RUN` first")
    if method == "aum":
        return aum(dynamics_matrix(x.dynamics, x.video_ids, "logit_margin"), threshold=cfg.aum_threshold)
    if method == "loss_gmm":
        losses = dynamics_matrix(x.dynamics, x.video_ids, "loss")
        col = losses[:, cfg.gmm_epoch]
        if np.isnan(col).any():  # a video not seen that epoch: take its last recorded loss
            col = np.array([r[~np.isnan(r)][-1] for r in losses])
        return loss_gmm(col, seed=cfg.seed)
    if method == "cartography":
        return cartography(dynamics_matrix(x.dynamics, x.video_ids, "label_prob"),
                           confidence_below=cfg.cartography_confidence,
                           variability_below=cfg.cartography_variability)
    if method == "fo_mistakenness":
        if mistakenness is None:
            raise ConfigError("fo_mistakenness needs FiftyOne's mistakenness scorer; none was given")
        return fo_mistakenness(x.video_ids, x.labels, x.pred_probs, x.classes, scorer=mistakenness)
    if method == "single_clip":
        k = x.centre_clip if cfg.single_clip_index is None else cfg.single_clip_index
        return single_clip(x.labels, x.clip_probs, clip=k)
    if method == "knn_vote":
        if x.pool is None:
            raise RunError(f"knn_vote needs frame embeddings: {x.no_pool}")
        p = x.pool
        return knn_vote(p.labels, p.features, p.fold, num_classes=len(x.classes), k=cfg.knn_k, rows=p.rows)
    raise ConfigError(f"unknown baseline {method!r}; choose from {', '.join(METHODS)}")


def method_inputs(method: str, probs_kind: str, config: BaselinesConfig | None = None) -> str:
    """A short phrase saying what a method was given, for tables."""
    cfg = config or BaselinesConfig()
    if method.startswith("cl_") or method == "fo_mistakenness":
        return f"pred_probs {probs_kind}"
    return {
        "aum": "logit margins, every training epoch",
        "loss_gmm": f"training loss, epoch {'last' if cfg.gmm_epoch == -1 else cfg.gmm_epoch}",
        "cartography": "label prob., every training epoch",
        "single_clip": f"{'centred clip' if cfg.single_clip_index is None else f'clip {cfg.single_clip_index}'}"
                       " of clip_probs (in-sample), our triage",
        "ours": "clip_probs, M clips (in-sample) + dynamics",
        "knn_vote": f"frame embeddings, {cfg.knn_k} nearest videos of the other folds",
    }.get(method, "")


def skip_reason(x: BaselineInputs, method: str, config: BaselinesConfig | None = None, *,
                mistakenness=None) -> str | None:
    """Why ``method`` cannot run on these inputs (a missing file or scorer), or None."""
    cfg = config or BaselinesConfig()
    if method == "fo_mistakenness" and mistakenness is None:
        return "no FiftyOne mistakenness scorer was given"
    if method in ("aum", "loss_gmm", "cartography") and x.dynamics is None:
        return "dynamics.parquet does not exist (run `dfer-curate train`)"
    if method == "knn_vote" and x.pool is None:
        return x.no_pool
    if method == "knn_vote" and x.pool.fewest_candidates < cfg.knn_k:
        return f"only {x.pool.fewest_candidates} videos lie outside some fold; knn_k={cfg.knn_k} needs more"
    return None


def run_baselines(run_dir, config: BaselinesConfig | None = None, *, timings: dict | None = None,
                  mistakenness=None) -> pd.DataFrame:
    """Every configured baseline on the train split of a run; writes RUN/baselines.parquet
    and records the config and each method's inputs in config.json. Methods whose inputs
    or scorers are missing are skipped with a logged reason (listed in config.json), never
    silently. ``timings``, if given, receives seconds per method; ``mistakenness`` is
    FiftyOne's scorer for ``fo_mistakenness`` (see :func:`fo_mistakenness`)."""
    import time

    cfg = config or BaselinesConfig()
    unknown = [m for m in cfg.methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown baseline(s) {unknown}; choose from {', '.join(METHODS)}")
    run = RunDir(run_dir)
    x = load_inputs(run.path, probs=cfg.probs)
    out = pd.DataFrame({"video_id": pd.array(x.video_ids, dtype="string")})
    inputs, skipped = {}, {}
    for method in cfg.methods:
        why = skip_reason(x, method, cfg, mistakenness=mistakenness)
        if why:
            skipped[method] = why
            log.warning("skipping %s: %s", method, why)
            continue
        t0 = time.perf_counter()
        det = compute(x, method, cfg, mistakenness=mistakenness)
        if timings is not None:
            timings[method] = time.perf_counter() - t0
        out[f"{method}_score"] = det.score.astype("float64")
        out[f"{method}_flag"] = det.flag.astype(bool)
        if det.suggested is not None:
            out[f"{method}_suggested"] = pd.array([x.classes[i] for i in det.suggested], dtype="string")
        inputs[method] = x.pool.kind if method == "knn_vote" else method_inputs(method, x.probs_kind, cfg)
    write_parquet(run.baselines, out)
    run.save_config("baselines", {**dataclasses.asdict(cfg), "inputs": inputs, "skipped": skipped,
                                  "probs_kind": x.probs_kind})
    return out
