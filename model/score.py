"""`score`: per-video audit scores from M clips per video (uniform plus key-expression
positions) of the best checkpoint, blended for training videos with the smoothed training
dynamics (clip probabilities recorded before memorization, and the area under the margin),
so in-sample fitting of noisy labels does not hide them. Writes scores.parquet, clip_probs.npy
and video_logits.npy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from curation.audit import agreement as agr
from curation.errors import RunError
from curation.fileio import write_npy, write_parquet
from curation.data.manifest import read_manifest
from curation.runs import RunDir
from curation.schema import SCORES_COLUMNS, SCORES_OPTIONAL, VERDICTS, conform
from model import data
from model.config import ScoreConfig, TrainConfig
from model.embed import network_inputs
from model.inference import load_model, predict, resolve_device

log = logging.getLogger(__name__)


def clip_counts(sc: ScoreConfig, tcfg: TrainConfig) -> tuple[int, int]:
    if sc.single_clip:
        return 1, 0
    return sc.uniform_clips, (sc.key_clips if tcfg.resample else 0)


def score(run_dir, config: ScoreConfig | None = None, *, progress: bool = True) -> pd.DataFrame:
    """Score every manifest video (all splits) with the checkpoint; write the artifacts and
    return the scores table (schema.SCORES_COLUMNS, rows in manifest order)."""
    sc = config or ScoreConfig()
    run = RunDir(run_dir)
    manifest = read_manifest(run.path)
    ck_path = run.checkpoints / f"{sc.checkpoint}.pt"
    if not ck_path.exists():
        run.require("checkpoints", "train")
        raise RunError(f"{ck_path} does not exist: run `dfer-curate train {run.path}` first")
    torch.manual_seed(0)
    device = resolve_device(sc.device)
    net, tcfg, ck = load_model(ck_path, manifest.classes, device)
    store = network_inputs(run.path, manifest, tcfg, progress=progress)
    rows = np.arange(len(manifest.df))
    data.check_lengths(store, rows, tcfg.frames, pad=tcfg.pad_short)
    n_u, n_k = clip_counts(sc, tcfg)
    starts: list = []
    clip_probs, video_logits = predict(net, store, rows, tcfg, device, n_uniform=n_u, n_key=n_k,
                                       batch_size=sc.batch_size, progress=progress, starts_out=starts)
    write_clip_layout(run, manifest, store, np.stack(starts) if starts else np.zeros((0, n_u + n_k), np.int64))
    evidence = load_evidence(run, ck["train_ids"]) if sc.use_dynamics and not sc.single_clip else None
    run.save_config("score", sc.to_dict())
    return write_scores(run, manifest, clip_probs, video_logits, sc, evidence=evidence)


@dataclass
class Evidence:
    """Training dynamics of the train videos (train.save_evidence): a window of clip
    probabilities (n, W*K, C), the frozen noise rates and the video head's mean probabilities."""

    video_ids: list[str]
    clip_probs: np.ndarray
    noise_rates: np.ndarray | None = None
    video_probs: np.ndarray | None = None  # (n, C); runs trained before it was saved lack it
    aum: np.ndarray | None = None  # (n,) area under the margin up to the evidence epoch (training_aum)


def load_evidence(run: RunDir, train_ids=None) -> "Evidence | None":
    """The training dynamics `train` saved for exactly the videos ``train_ids`` (None: for the
    videos the file names); None (with a warning when the file belongs to another training
    run) otherwise."""
    if not run.dynamics_probs.exists():
        return None
    with np.load(run.dynamics_probs, allow_pickle=False) as z:
        ev_ids = [str(v) for v in z["video_ids"]]
        if train_ids is not None and set(ev_ids) != set(train_ids):
            log.warning("%s belongs to another training run; scoring without dynamics", run.dynamics_probs)
            return None
        return Evidence(ev_ids, z["clip_probs"].astype(np.float32),
                        z["noise_rates"] if "noise_rates" in z.files else None,
                        z["video_probs"] if "video_probs" in z.files else None,
                        training_aum(run.dynamics, ev_ids, int(z["epoch"])))


def saved_score_config(run_dir) -> ScoreConfig:
    """The ScoreConfig the run's last `score` used (config.json)."""
    return ScoreConfig.from_dict(RunDir(run_dir).load_config().get("score", {}))


def rescore(run_dir, configs) -> list[pd.DataFrame]:
    """A scored run's scores table again under each ScoreConfig of ``configs``, from its saved
    clip probabilities, video logits and training dynamics; nothing in the run is written
    (benchmarks re-triage with it)."""
    import tempfile

    run = RunDir(run_dir)
    manifest = run.read_manifest()
    clip_probs = np.load(run.require("clip_probs", "score"))
    video_logits = np.load(run.require("video_logits", "score"))
    evidence = load_evidence(run)  # the dynamics of the training that made the run's scores
    with tempfile.TemporaryDirectory() as tmp:
        return [write_scores(RunDir(tmp), manifest, clip_probs, video_logits, cfg, evidence=evidence)
                for cfg in configs]


def training_aum(dynamics_path: Path, video_ids: list[str], upto_epoch: int) -> np.ndarray | None:
    """Each video's given-label logit margin (dynamics.parquet) averaged over epochs
    1..``upto_epoch``; None (with a warning) when the file is missing or lacks a video."""
    if not Path(dynamics_path).exists():
        log.warning("%s is missing; scoring without the training AUM", dynamics_path)
        return None
    d = pd.read_parquet(dynamics_path, columns=["epoch", "video_id", "logit_margin"])
    mean = d[d["epoch"] <= upto_epoch].groupby("video_id")["logit_margin"].mean()
    aum = mean.reindex(pd.Index(video_ids)).to_numpy(np.float64)
    if not np.isfinite(aum).all():
        log.warning("%s has no logit margin for %d of the %d training videos; scoring without the training AUM",
                    dynamics_path, int((~np.isfinite(aum)).sum()), len(aum))
        return None
    return aum


def write_scores(run: RunDir, manifest, clip_probs: np.ndarray, video_logits: np.ndarray, sc: ScoreConfig,
                 *, evidence: Evidence | None = None, train_source: str = "in-sample") -> pd.DataFrame:
    """Audit statistics for every video; train videos with dynamics evidence are audited on
    their final clips plus the evidence clips (a temporal ensemble), on the video head's
    probabilities averaged over the final model and the evidence epochs, and on their
    training AUM. ``train_source`` names how the train videos' clips were scored
    (schema.SCORE_SOURCES)."""
    df = manifest.df
    classes = np.asarray(manifest.classes)
    labels = np.asarray(manifest.label_index(df["label"]), dtype=np.int64)
    n = len(df)
    is_train = df["split"].to_numpy() == "train"
    video_probs = torch.softmax(torch.from_numpy(np.asarray(video_logits, np.float32)), -1).numpy()
    ev_rows = np.zeros(0, np.int64)
    train_rates = evidence.noise_rates if evidence is not None else None
    if evidence is not None:
        pos = {v: i for i, v in enumerate(df["video_id"].astype(str))}
        ev_rows = np.array([pos[v] for v in evidence.video_ids], np.int64)
    tcfg_rows = np.setdiff1d(np.arange(n), ev_rows)
    cols = {k: np.zeros(n) for k in ("label_prob", "agree_label", "agree_mode", "margin", "noise_score", "hardness",
                                     "pred_conf", "suggested_lead")}
    pred = np.zeros(n, np.int64)
    consensus = np.zeros(n, np.int64)
    suggested = np.zeros(n, np.int64)
    verdict = np.full(n, "clean", dtype=object)
    source = np.where(is_train, train_source, "unseen").astype(object)
    source[ev_rows] = "dynamics"
    tri = sc.triage
    groups = []
    if len(ev_rows):
        ev_video = video_probs[ev_rows]
        if evidence.video_probs is not None:  # weighted as the clips are: by their share of the ensemble
            share = evidence.clip_probs.shape[1] / (evidence.clip_probs.shape[1] + clip_probs.shape[1])
            ev_video = (1 - share) * ev_video + share * np.asarray(evidence.video_probs, np.float64)
        groups.append((ev_rows, np.concatenate([clip_probs[ev_rows], evidence.clip_probs], axis=1), ev_video,
                       evidence.aum))
    # the rest: train videos without dynamics (held out), then each other split
    rest_train = tcfg_rows[is_train[tcfg_rows]]
    if len(rest_train):
        groups.append((rest_train, clip_probs[rest_train], video_probs[rest_train], None))
    split = df["split"].to_numpy()
    unseen = [tcfg_rows[split[tcfg_rows] == s] for s in pd.unique(split[~is_train])]
    groups += [(g, clip_probs[g], video_probs[g], None) for g in unseen if len(g)]
    for g_rows, g_probs, g_video, g_aum in groups:
        # training videos share the training rates (the evidence's, else the first estimate); a
        # split the network never trained on is calibrated on its own held-out probabilities, so
        # a clean test split is not flagged at the training split's noise rate
        own = None if is_train[g_rows[0]] else unseen_rates(g_video, labels[g_rows], len(classes))
        res = agr.audit(g_probs, labels[g_rows], noise_rates=own if own is not None else train_rates, config=tri,
                        vote_weight=sc.vote_weight, video_probs=g_video, video_weight=sc.video_weight, aum=g_aum,
                        aum_weight=sc.aum_weight, pooling=sc.clip_pooling)
        if train_rates is None and is_train[g_rows[0]]:
            train_rates = res["noise_rates"]
        a = res["agreement"]
        for k in ("label_prob", "agree_label", "agree_mode", "margin", "pred_conf"):
            cols[k][g_rows] = getattr(a, k)
        cols["noise_score"][g_rows] = res["noise_score"]
        cols["hardness"][g_rows] = res["hardness"]
        cols["suggested_lead"][g_rows] = res["suggested_lead"]
        pred[g_rows] = a.pred
        consensus[g_rows] = a.consensus
        suggested[g_rows] = res["suggested"]
        verdict[g_rows] = res["verdict"]
    out = pd.DataFrame({
        "video_id": df["video_id"].astype(str), "split": df["split"].astype(str), "label": df["label"].astype(str),
        "pred_label": classes[pred], "pred_conf": cols["pred_conf"], "label_prob": cols["label_prob"],
        "agree_label": cols["agree_label"], "agree_mode": cols["agree_mode"], "consensus_label": classes[consensus],
        "margin": cols["margin"], "noise_score": cols["noise_score"], "hardness": cols["hardness"],
        "verdict": verdict.astype(str), "suggested_label": classes[suggested], "score_source": source.astype(str),
        "suggested_lead": cols["suggested_lead"],
    })
    out = conform(out, SCORES_COLUMNS, table="scores", optional=SCORES_OPTIONAL)
    write_parquet(run.scores, out)
    write_npy(run.clip_probs, clip_probs.astype(np.float32))
    write_npy(run.video_logits, video_logits.astype(np.float32))
    return out


def unseen_rates(video_probs, labels, num_classes: int) -> np.ndarray | None:
    """(C,) noise rates of a split the network never trained on, from cleanlab's confident
    joint of its held-out video probabilities; None when the split is too small to estimate
    (fewer than 2 classes or 10 videos: it then takes the training rates)."""
    labels = np.asarray(labels)
    if len(labels) < 10 or len(np.unique(labels)) < 2:
        return None
    return agr.confident_noise_rates(video_probs, labels, num_classes=num_classes)


def write_clip_layout(run: RunDir, manifest, store, starts: np.ndarray) -> None:
    """Where each scored clip starts (clip_starts.npy, (N, M), clip_probs order) and the
    per-frame key-expression saliency (saliency.parquet: video_id, frame, saliency), so the
    dashboard and FiftyOne draw clip evidence at the frames it came from."""
    write_npy(run.clip_starts, starts.astype(np.int64))
    ids = manifest.df["video_id"].astype(str).to_numpy()
    lengths = np.asarray(store.lengths, np.int64)
    sal = pd.DataFrame({
        "video_id": np.repeat(ids, lengths),
        "frame": np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.zeros(0, np.int64),
        "saliency": np.concatenate([store.saliency[o: o + n] for o, n in zip(store.offsets, lengths)])
        if len(lengths) else np.zeros(0, np.float32),
    })
    write_parquet(run.saliency, sal)


def summary(run_dir, scores: pd.DataFrame | None = None) -> dict:
    """Verdict counts and, with ground truth, detection metrics on the train split
    (``curation.audit.metrics.detection_table``; relabel_accuracy counts flagged, truly noisy
    videos, relabel_accuracy_flagged every flagged one)."""
    from curation.audit.metrics import detection_table, ours_columns, relabel_accuracy

    run = RunDir(run_dir)
    manifest = read_manifest(run.path)
    scores = scores if scores is not None else pd.read_parquet(run.require("scores", "score"))
    out = {"counts": scores["verdict"].value_counts().reindex(list(VERDICTS), fill_value=0).to_dict()}
    out["warning"] = run.model_warning(len(manifest.classes))
    if manifest.has_ground_truth:
        tr = scores[scores["split"] == "train"]
        ours = ours_columns(tr)
        row = detection_table(ours, manifest.df, names=["ours"]).iloc[0]
        det = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.drop("method").items()}
        det["relabel_accuracy"] = det.pop("relabel_acc")
        true = manifest.df.set_index("video_id").loc[tr["video_id"], "true_label"].to_numpy()
        det["relabel_accuracy_flagged"] = relabel_accuracy(ours["ours_flag"].to_numpy(), tr["suggested_label"].to_numpy(),
                                                           true)
        out["detection"] = det
    return out

