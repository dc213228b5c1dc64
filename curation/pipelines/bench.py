"""The noise-audit benchmark (see docs/ARCHITECTURE.md, "Evaluation"): our cross-clip agreement against every
baseline, on synthetic sets whose truth is known, with quality, downstream accuracy and cost.

Per synthetic configuration the bench renders a set (``curation.data.synth``), trains our model
once (the audit run: robust training, M-clip scoring), trains K fold models for cleanlab's
out-of-fold probabilities, runs every baseline on those outputs, then retrains the plain
network on four label sets (noisy, our curated, cleanlab's cleaned, true) and evaluates on
the clean test split. Everything random takes the bench seed; the same seed gives the same
numbers except timings. Torch work runs in a spawned child process per step, so its wall
time and peak RSS are the step's own; the post-hoc methods run in this process, timed and
traced (tracemalloc) one by one.

This module imports no torch at import time; the model is imported in the child processes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from curation.audit import baselines as B
from curation.audit.metrics import detection_table, hard_retention_at, ours_columns
from curation.errors import ConfigError, CurationError
from curation.fileio import write_csv, write_json, write_text
from curation.pipelines.bench_config import (DOWNSTREAM, LABEL_VARIANTS, OUR_POLICIES, BenchConfig,
                                             command_line, synth_config)
from curation.pipelines.bench_measure import in_child, measure, resume_record
from curation.pipelines.bench_report import render_markdown
from curation.runs import RunDir, share_cache, share_frozen_inputs

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- model steps (run in children)


def _train_config(cfg: BenchConfig, **more):
    from model.config import TrainConfig

    epochs = {"epochs": cfg.epochs} if cfg.epochs else {}
    return TrainConfig.from_dict({"size": cfg.size, "seed": cfg.seed, "frozen": cfg.frozen, **epochs, **cfg.train,
                                  **more})


def encoder_settings(cfg: BenchConfig, **over) -> dict:
    """The GivenEncoderConfig a bench run's encoder trains with, as a dict (in the encoder
    step's record key, so a changed default trains it again)."""
    from model.given_encoder import GivenEncoderConfig

    enc = GivenEncoderConfig(**{"seed": cfg.seed, "size": cfg.size, **cfg.encoder, **over}).validate()
    return {**dataclasses.asdict(enc), "splits": list(enc.splits)}


def training_settings(cfg: BenchConfig) -> dict:
    """What the audit's trainings depend on beyond BenchConfig: the resolved TrainConfig and the
    triage cuts of training-time triage (in the train and fold steps' record keys)."""
    from curation.audit.agreement import TriageConfig

    return {"train": dataclasses.asdict(_train_config(cfg)), "triage": dataclasses.asdict(TriageConfig())}


def step_encoder(run_dir: str, encoder: dict) -> dict:
    """The frozen path's first stages on the run's own labels: `pretrain --given-labels` with
    ``encoder`` (``encoder_settings``), then `embed` (what `train --frozen` reads)."""
    from model.embed import embed
    from model.given_encoder import GivenEncoderConfig, train_given_encoder

    train_given_encoder(run_dir, GivenEncoderConfig(**{**encoder, "splits": tuple(encoder["splits"])}), progress=False)
    return {k: v for k, v in embed(run_dir, progress=False, force=True).items() if k in ("frames", "seconds", "fps")}


def step_audit_train(run_dir: str, cfg: BenchConfig, settings: dict) -> None:
    """``settings`` (``training_settings``) only keys the step's record."""
    from model.train import train

    train(run_dir, _train_config(cfg), progress=False)


def step_score(run_dir: str, score_config: dict) -> None:
    """`score` with ``score_config`` (ScoreConfig.to_dict), which is in the step's record
    key: a changed scoring default scores again."""
    from model.config import ScoreConfig
    from model.score import score

    score(run_dir, ScoreConfig.from_dict(score_config), progress=False)


def step_folds(run_dir: str, cfg: BenchConfig, folds: int, settings: dict) -> None:
    """``settings`` (``training_settings``) only keys the step's record."""
    from model.folds import train_folds

    train_folds(run_dir, folds=folds, config=_train_config(cfg))


def step_downstream(run_dir: str, cfg: BenchConfig, labels: str = "") -> dict:
    """The audit's path with robust training off on a label set (on the frozen path the encoder
    learns that label set too), then UAR/WAR on the clean test split. ``labels``
    (``labels_digest`` of the run's manifest) only keys the step's record: the retraining
    reads nothing of the audit, so its record is reused exactly when the labels and the
    settings are the same."""
    from model.evaluate import evaluate
    from model.train import train

    if cfg.frozen:  # an encoder that never learned the test labels, so test UAR is a measurement
        from model.given_encoder import RETRAIN_SPLITS

        step_encoder(run_dir, encoder_settings(cfg, splits=RETRAIN_SPLITS))
    train(run_dir, _train_config(cfg, robust=False), progress=False)
    return dict(evaluate(run_dir, split="test"))


# ---------------------------------------------------------------- label sets for downstream


def labels_digest(manifest) -> str:
    """A digest of which videos a manifest holds, in which split, with which label."""
    import hashlib

    df = manifest.df
    text = "\n".join(f"{v}\t{s}\t{lab}" for v, s, lab in zip(df["video_id"], df["split"], df["label"]))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def label_variant(data_run, audit_run, variant: str, *, cleanlab_method: str):
    """The manifest to retrain on: ``noisy`` (as given), ``ours`` / ``ours_excluded`` (the train
    split as `export` writes it under the policy of ``OUR_POLICIES``, no review), ``cleanlab``
    (train videos the cleanlab filter flags removed), ``oracle`` (true labels everywhere)."""
    from curation.data.manifest import Manifest, read_manifest
    from curation.review.export import curate

    m = read_manifest(data_run)
    df = m.df.copy()
    train = df["split"] == "train"
    if variant in OUR_POLICIES:
        kept, _ = curate(df[train], pd.read_parquet(RunDir(audit_run).scores), None, policy=OUR_POLICIES[variant])
        final = kept.set_index("video_id")["label"]
        df = df[~train | df["video_id"].isin(final.index)].copy()  # the manifest's order, kept rows only
        fix = (df["split"] == "train").to_numpy()
        df.loc[fix, "label"] = final.loc[df.loc[fix, "video_id"]].astype(str).to_numpy()
    elif variant == "cleanlab":
        bl = pd.read_parquet(RunDir(audit_run).baselines).set_index("video_id")
        flagged = set(bl.index[bl[f"{cleanlab_method}_flag"].to_numpy(bool)])
        df = df[~(train & df["video_id"].isin(flagged))]
    elif variant == "oracle":
        df["label"] = df["true_label"]
    elif variant != "noisy":
        raise ConfigError(f"unknown downstream variant {variant!r}; choose from {LABEL_VARIANTS}")
    return Manifest(df.reset_index(drop=True), m.classes, m.root)


# ---------------------------------------------------------------- one configuration


def _detection_rows(audit: Path, name: str, methods_probs: dict, cfg: BenchConfig, *, oof: bool = True,
                    mistakenness=None) -> list[dict]:
    """Quality (``metrics.detection_table``), time and memory of each method on the audit
    run's train split."""
    from curation.audit.agreement import audit as ours_audit
    from curation.data.manifest import read_manifest

    sc = pd.read_parquet(RunDir(audit).scores)
    sc = sc[sc["split"] == "train"].reset_index(drop=True)
    table = ours_columns(sc)
    x_in = B.load_inputs(audit, probs="insample")
    _, wall, peak = measure(ours_audit, x_in.clip_probs, x_in.labels)
    rows = [{"method": "ours", "inputs": B.method_inputs("ours", ""), "time_s": wall, "peak_mb": peak}]
    bcfg = B.BaselinesConfig(seed=cfg.seed)
    for probs, methods in methods_probs.items():
        x = B.load_inputs(audit, probs=probs)
        for m in methods:
            why = B.skip_reason(x, m, bcfg, mistakenness=mistakenness)
            if why:
                log.warning("%s: %s left out: %s", name, m, why)
                continue
            det, wall, peak = measure(B.compute, x, m, bcfg, mistakenness=mistakenness)
            label = f"{m} (in-sample)" if probs == "insample" and oof and m.startswith("cl_") else m
            table[f"{label}_score"], table[f"{label}_flag"] = det.score, det.flag
            if det.suggested is not None:
                table[f"{label}_suggested"] = np.array([x.classes[i] for i in det.suggested], dtype=object)
            rows.append({"method": label, "inputs": B.method_inputs(m, x.probs_kind, bcfg), "time_s": wall,
                         "peak_mb": peak})
    truth = read_manifest(audit).df
    names = [r["method"] for r in rows]
    quality = detection_table(table, truth, names=names)
    n_ours = int(quality.loc[quality["method"] == "ours", "n_flagged"].iloc[0])
    quality["hard_ret_at_ours_n"] = hard_retention_at(table, truth, names, n_ours)
    out = pd.DataFrame(rows).merge(quality, on="method", how="left", sort=False)
    out.insert(0, "config", name)
    cols = ["config", "method", "inputs", "precision", "recall", "f1", "auroc", "ap", "hard_retention",
            "hard_ret_at_ours_n", "n_flagged", "n_noisy", "relabel_acc", "noisy_vs_hard_auroc", "time_s", "peak_mb"]
    return out[cols].to_dict("records")


def _same_synth(data: Path, scfg) -> bool:
    """Whether ``data`` already holds a finished render of exactly this SynthConfig."""
    import json

    run = RunDir(data)
    if not run.manifest.exists():
        return False
    saved = run.load_config().get("synth")
    return json.loads(json.dumps(saved, default=str)) == json.loads(json.dumps(dataclasses.asdict(scfg), default=str))


def run_config(name: str, cfg: BenchConfig, out: Path, *, progress: bool = True, resume: bool = True) -> dict:
    """All steps of one synthetic configuration; returns detection/downstream/cost rows.
    ``resume``: reuse the data and every step recorded by an earlier run with the same
    settings (up to the first step that must run again), timings included."""
    from tqdm import tqdm

    from curation.data.manifest import write_manifest
    from curation.data.synth import generate

    root = out / name
    data, audit, kfold = root / "data", root / "audit", root / "kfold"
    steps = 5 + int(cfg.frozen) + (len(DOWNSTREAM) if cfg.downstream else 0)
    bar = tqdm(total=steps, desc=f"bench {name}", unit="step", disable=not progress)

    def done(what):
        bar.set_postfix_str(what)
        bar.update()

    scfg = synth_config(cfg, name)
    resume = same_data = resume and _same_synth(data, scfg)
    resumed: list[str] = []
    if resume:
        from curation.data.manifest import read_manifest

        man = read_manifest(data)
    else:
        man = generate(data, scfg, progress=False)
        for run in (audit, kfold):
            write_manifest(run, man)
    done("synth")

    def step(fn, run, *args, self_contained=False):
        """``self_contained``: the step's arguments are all it depends on (a retraining on a
        label set), so a fresh step before it does not make it fresh."""
        nonlocal resume
        rec = resume_record(fn, (str(run), *args)) if resume or (self_contained and same_data) else None
        if rec is not None:
            resumed.append(fn.rsplit(".", 1)[1])
        if rec is None:
            if not self_contained:
                resume = False  # everything after a fresh step is fresh too
            return in_child(fn, str(run), *args, isolate=cfg.isolate)
        return rec

    t_enc = c_enc = m_enc = 0.0
    if cfg.frozen:
        _, t_enc, m_enc, c_enc = step("curation.pipelines.bench.step_encoder", audit, encoder_settings(cfg))
        done("encoder + embed")
    settings = training_settings(cfg)
    _, t_train, m_train, c_train = step("curation.pipelines.bench.step_audit_train", audit, cfg, settings)
    done("audit train")
    from model.config import ScoreConfig

    score_config = ScoreConfig().to_dict()
    _, t_score, m_score, c_score = step("curation.pipelines.bench.step_score", audit, score_config)
    done("score")
    model = _model_row(audit, name, len(man.classes))
    oof = cfg.folds >= 2
    if oof:
        share_cache(audit, kfold)
        if cfg.frozen:
            share_frozen_inputs(audit, kfold)
        _, t_folds, m_folds, c_folds = step("curation.pipelines.bench.step_folds", kfold, cfg, cfg.folds, settings)
        _copy_oof(kfold, audit)
    done(f"{cfg.folds}-fold" if oof else "no folds")

    # baselines.parquet of the audit run (cleanlab on out-of-fold probabilities when there are folds)
    probs = "oof" if oof else "insample"
    from curation.fiftyone.brain import mistakenness_scores

    methods = list(cfg.methods or B.METHODS)
    skipped = {}
    try:
        B.run_baselines(audit, B.BaselinesConfig(seed=cfg.seed, probs=probs, methods=methods),
                        mistakenness=mistakenness_scores)
    except CurationError as exc:  # FiftyOne's database can fail on a busy machine: keep the rest, say so
        if "fo_mistakenness" not in methods:
            raise
        log.warning("FiftyOne mistakenness left out of %s: %s", name, exc)
        skipped["fo_mistakenness"] = str(exc).split(";")[0]
        methods = [m for m in methods if m != "fo_mistakenness"]
        B.run_baselines(audit, B.BaselinesConfig(seed=cfg.seed, probs=probs, methods=methods))
    x = B.load_inputs(audit, probs=probs)
    c0 = time.process_time()
    _, t_cl, m_cl = measure(B.cleanlab_filter, x.labels, x.pred_probs, filter_by=cfg.cleanlab_filter)
    c_cl = (time.process_time() - c0) / 2  # measure() runs it twice
    runs = {"oof": methods, "insample": [f"cl_{f}" for f in B.CLEANLAB_FILTERS]} if oof else {"insample": methods}
    detection = _detection_rows(audit, name, runs, cfg, oof=oof, mistakenness=mistakenness_scores)
    done("baselines")

    enc = "given-label encoder + embed, " if cfg.frozen else ""
    cost = [
        {"config": name, "pipeline": f"ours: {enc}audit train (robust) + score", "trainings": 1,
         "wall_s": t_enc + t_train + t_score, "cpu_s": c_enc + c_train + c_score,
         "peak_mb": max(m_enc, m_train, m_score)},
    ]
    if oof:
        heads = "heads on the same embeddings" if cfg.frozen else "models"
        cost.append({"config": name, "pipeline": f"cleanlab: {enc}{cfg.folds}-fold {heads} + find_label_issues",
                     "trainings": cfg.folds, "wall_s": t_enc + t_folds + t_cl, "cpu_s": c_enc + c_folds + c_cl,
                     "peak_mb": max(m_enc, m_folds, m_cl)})

    downstream = []
    if cfg.downstream:
        for variant in DOWNSTREAM:
            run = root / f"retrain_{variant}"
            m = label_variant(data, audit, variant, cleanlab_method=f"cl_{cfg.cleanlab_filter}")
            key = (cfg, labels_digest(m))
            if not (same_data and resume_record("curation.pipelines.bench.step_downstream", (str(run), *key))):
                write_manifest(run, m)
                share_cache(audit, run)
            res, wall, peak, cpu = step("curation.pipelines.bench.step_downstream", run, *key, self_contained=True)
            downstream.append({"config": name, "labels": variant, "n_train": int((m.df["split"] == "train").sum()),
                               "uar": float(res["uar"]), "war": float(res["war"]), "wall_s": wall, "cpu_s": cpu,
                               "peak_mb": peak})
            done(f"retrain {variant}")
        noisy = next(d for d in downstream if d["labels"] == "noisy")
        cost.append({"config": name, "pipeline": f"one plain training on the noisy labels ({enc}robust off)",
                     "trainings": 1, "wall_s": noisy["wall_s"], "cpu_s": noisy["cpu_s"], "peak_mb": noisy["peak_mb"]})
    for c in cost:
        c["wall_ratio"] = c["wall_s"] / max(cost[0]["wall_s"], 1e-9)
        c["cpu_ratio"] = c["cpu_s"] / max(cost[0]["cpu_s"], 1e-9)
    bar.close()
    from curation.pipelines.bench_report import verdict_rows

    return {"detection": detection, "downstream": downstream, "cost": cost, "skipped": skipped, "model": [model],
            "verdicts": verdict_rows(out, [name]), "resumed": resumed}


def _model_row(audit: Path, name: str, num_classes: int) -> dict:
    """How well the audit model learned (from its train_log.json): every detection number
    depends on it, so the table states it beside chance."""
    from curation.fileio import read_json

    row = {"config": name, "epochs": float("nan"), "train_acc": float("nan"), "heldout_acc": float("nan"),
           "chance": 1.0 / num_classes}
    path = RunDir(audit).train_log
    if path.exists():
        log_ = read_json(path).get("log") or []
        if log_:
            last = log_[-1]
            row.update(epochs=float(last.get("epoch", len(log_))), train_acc=float(last.get("train_acc", "nan")),
                       heldout_acc=float(max(e.get("heldout_acc", float("nan")) for e in log_)))
    return row


def _copy_oof(kfold: Path, audit: Path) -> None:
    """Put the fold models' out-of-fold probabilities (scores of the K-fold run) into the
    audit run as oof_probs.npy (+ .json saying what they are), rows aligned by video_id to
    the audit run's train rows, so both kinds of input sit beside each other."""
    probs, kind = B.run_probs(kfold)
    if not kind.startswith("out-of-fold"):
        raise ConfigError(f"{kfold} was expected to hold out-of-fold scores after train_folds, found {kind}")
    ksc = pd.read_parquet(RunDir(kfold).scores)
    pos = {v: i for i, v in enumerate(ksc["video_id"])}
    sc = pd.read_parquet(RunDir(audit).scores)
    ids = sc.loc[sc["split"] == "train", "video_id"]
    np.save(audit / B.OOF_FILE, probs[[pos[v] for v in ids]])
    write_json((audit / B.OOF_FILE).with_suffix(".json"), {"kind": kind, "from": str(kfold)})


# ---------------------------------------------------------------- the whole bench


def cpu_model() -> str:
    """The processor's name (/proc/cpuinfo), so timings from different machines are not
    compared as if they were one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the numbers ran on."""
    import torch

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpus": os.cpu_count(), "cpu": cpu_model(), "ram_gib": round(ram, 1), "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


def run_bench(cfg: BenchConfig, out, *, report: Path | None = None, progress: bool = True,
              resume: bool = True) -> dict:
    """Run every configuration; write detection.csv, downstream.csv, cost.csv, bench.json and
    BENCHMARKS.md under ``out`` (and BENCHMARKS.md to ``report`` too when given). Returns the
    three tables as DataFrames plus the markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info = {"config": dataclasses.asdict(cfg), "machine": machine(), "command": command_line(cfg, out),
            "synth": {n: dataclasses.asdict(synth_config(cfg, n)) for n in cfg.configs},
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if cfg.frozen:  # whose labels the audit's encoder learned (the report says; older benches lack it)
        info["audit_encoder_splits"] = encoder_settings(cfg)["splits"]
    parts = {"detection": [], "downstream": [], "cost": [], "model": [], "verdicts": []}
    info["skipped"] = {}
    for name in cfg.configs:
        res = run_config(name, cfg, out, progress=progress, resume=resume)
        for k in parts:
            parts[k] += res[k]
        info["skipped"].update({f"{name}: {m}": why for m, why in res["skipped"].items()})
        info["resumed_steps"] = info.get("resumed_steps", 0) + len(res["resumed"])
        info.setdefault("resumed", {})[name] = res["resumed"]
    info["wall_s"] = time.perf_counter() - t0
    from curation.fileio import read_json

    info["notes"] = {str(p.relative_to(out)): read_json(p)["note"] for p in sorted(out.glob("*/*/bench_step_*.json"))
                     if "note" in read_json(p)}
    tables = {k: pd.DataFrame(v) for k, v in parts.items()}
    write_csv(out / "detection.csv", tables["detection"])
    write_csv(out / "downstream.csv", tables["downstream"])
    write_csv(out / "cost.csv", tables["cost"])
    write_csv(out / "model.csv", tables["model"])
    write_csv(out / "verdicts.csv", tables["verdicts"])
    write_json(out / "bench.json", info)
    md = render_markdown(tables, info)
    write_text(out / "BENCHMARKS.md", md)
    if report is not None:
        write_text(report, md)
    return {**tables, "markdown": md, "info": info}
