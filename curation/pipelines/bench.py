"""The noise-audit benchmark (DESIGN.md section 4): our cross-clip agreement against every
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
import importlib
import logging
import os
import platform
import resource
import shlex
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from curation.audit import baselines as B
from curation.errors import ConfigError, CurationError
from curation.fileio import write_csv, write_json, write_text
from curation.audit.metrics import detection_metrics, relabel_accuracy, uar_war  # noqa: F401
from curation.runs import RunDir

log = logging.getLogger(__name__)

# Synthetic configurations: overrides of curation.data.synth.SynthConfig. Never tuned per method.
SYNTH_CONFIGS: dict[str, dict] = {
    "default": {},
    "noise40": {"noise_rate": 0.4},
    "hard40_noise10": {"hard_rate": 0.4, "noise_rate": 0.1},
    "symmetric": {"structured_share": 0.0},
}
DOWNSTREAM = ("noisy", "ours", "cleanlab", "oracle")
REPORT = Path(__file__).resolve().parents[2] / "reports" / "BENCHMARKS.md"


@dataclass
class BenchConfig:
    """One bench run. ``quick`` selects smaller sets, fewer configs and epochs (see PROFILES)."""

    configs: list[str] = field(default_factory=lambda: list(SYNTH_CONFIGS))
    seed: int = 0
    n: int = 1200                  # videos per synthetic set (all splits)
    size: int = 32                 # frame size rendered and trained on
    num_frames: int = 24           # frames per video
    epochs: int = 12               # training epochs (upper bound; early stopping may stop sooner)
    folds: int = 3                 # K of cleanlab's out-of-fold probabilities
    downstream: bool = True        # retrain on noisy / ours / cleanlab / oracle labels
    cleanlab_filter: str = "prune_by_noise_rate"  # the cleanlab set for downstream (its default)
    train: dict = field(default_factory=dict)  # further TrainConfig overrides
    workers: int = 1               # synth render processes
    synth: dict = field(default_factory=dict)  # SynthConfig overrides applied to every configuration
    isolate: bool = True           # torch steps in spawned children (own wall time and peak RSS)
    methods: list[str] | None = None  # baselines to run (None: all whose adapters are present)
    quick: bool = False


# Sized for this 2-core machine: quick (one configuration, ~7 trainings) took 5.6 min when the
# machine was nearly idle (2026-11-29); full (4 configurations, 1.5x the videos) is estimated
# at ~35 min. Smaller sets (400 videos, 6 epochs) left the model near chance. On bigger
# machines raise --n and --epochs; the numbers then say more.
PROFILES: dict[str, dict] = {
    "quick": dict(configs=["default"], n=800, size=32, num_frames=24, epochs=12, folds=3, quick=True),
    "full": dict(configs=list(SYNTH_CONFIGS), n=1200, size=32, num_frames=24, epochs=12, folds=3),
    # a test of the orchestration, not a benchmark: 4 classes, tiny set, one epoch, in-process
    "smoke": dict(configs=["default"], n=56, size=32, num_frames=16, epochs=1, folds=2, quick=True, isolate=False,
                  synth={"classes": ("happy", "sad", "angry", "surprise")}, train={"clips": 2, "frames": 4},
                  methods=[m for m in B.METHODS if m != "fo_mistakenness"]),
}


def profile(name: str, **overrides) -> BenchConfig:
    """A BenchConfig from a named profile (quick, full, smoke) with overrides."""
    if name not in PROFILES:
        raise ConfigError(f"bench profile {name!r} is not one of {list(PROFILES)}")
    cfg = BenchConfig(**{**PROFILES[name], **{k: v for k, v in overrides.items() if v is not None}})
    if cfg.folds == 1 or cfg.folds < 0:
        raise ConfigError(f"folds must be 0 (no fold models) or at least 2, got {cfg.folds}")
    unknown = [c for c in cfg.configs if c not in SYNTH_CONFIGS]
    if unknown:
        raise ConfigError(f"unknown bench config(s) {unknown}; choose from {list(SYNTH_CONFIGS)}")
    return cfg


# ---------------------------------------------------------------- measuring


def _child_entry(fn: str, args: tuple, kwargs: dict):
    """Runs in a spawned child: call ``module.function`` and report its wall time, the child's
    peak RSS (MB), which is then the step's own, and its CPU seconds (all threads; on a shared
    machine CPU time says more about cost than wall time)."""
    mod, name = fn.rsplit(".", 1)
    f = getattr(importlib.import_module(mod), name)
    t0, c0 = time.perf_counter(), time.process_time()
    out = f(*args, **kwargs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    record = _record_path(fn, args)
    if record is not None:  # what a later `bench` run may resume from
        write_json(record, {"fn": fn, "key": _record_key(args), "result": out if isinstance(out, dict) else None,
                            "wall_s": wall, "peak_mb": peak, "cpu_s": cpu})
    return out, wall, peak, cpu


def _record_path(fn: str, args: tuple) -> Path | None:
    """A step's measurement is kept in the run directory it worked on (its first argument)."""
    if args and isinstance(args[0], str) and Path(args[0]).is_dir():
        return Path(args[0]) / f"bench_{fn.rsplit('.', 1)[1]}.json"
    return None


# BenchConfig fields that do not change what a model step computes
_NOT_IN_KEY = ("configs", "downstream", "isolate", "methods", "quick", "workers", "cleanlab_filter", "folds")


def _record_key(args: tuple) -> str:
    """What the step depended on: its arguments, a BenchConfig as the fields that matter."""
    import json

    def norm(a):
        if isinstance(a, BenchConfig):
            return {k: v for k, v in dataclasses.asdict(a).items() if k not in _NOT_IN_KEY}
        return a

    return json.dumps([norm(a) for a in args], sort_keys=True, default=str)


def _resumed(fn: str, args: tuple):
    """The recorded (result, wall_s, peak_mb, cpu_s) of a finished step with the same arguments."""
    from curation.fileio import read_json

    path = _record_path(fn, args)
    if path is None or not path.exists():
        return None
    rec = read_json(path)
    if rec.get("fn") != fn or rec.get("key") != _record_key(args):
        return None
    log.info("resuming %s from %s", fn, path)
    return rec["result"], rec["wall_s"], rec["peak_mb"], rec["cpu_s"]


def in_child(fn: str, *args, isolate: bool = True, **kwargs):
    """Call ``fn`` (dotted path) in a fresh spawned process; returns (result, wall_s, peak_mb, cpu_s).
    ``isolate=False`` calls it here instead (peak_mb is then this process's peak so far)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    if not isolate:
        return _child_entry(fn, args, kwargs)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_child_entry, fn, args, kwargs).result()


def measure(f, *args, **kwargs):
    """(result, wall_s, peak_mb): time ``f`` plainly, then run it again under tracemalloc for
    its peak of traced (Python and numpy) allocations, so tracing does not inflate the time."""
    t0 = time.perf_counter()
    out = f(*args, **kwargs)
    wall = time.perf_counter() - t0
    tracemalloc.start()
    try:
        f(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return out, wall, peak


# ---------------------------------------------------------------- model steps (run in children)


def _train_config(cfg: BenchConfig, **more):
    from model.config import TrainConfig

    return TrainConfig.from_dict({"size": cfg.size, "epochs": cfg.epochs, "seed": cfg.seed, **cfg.train, **more})


def step_audit_train(run_dir: str, cfg: BenchConfig) -> None:
    from model.train import train

    train(run_dir, _train_config(cfg), progress=False)


def step_score(run_dir: str) -> None:
    from model.score import score

    score(run_dir, progress=False)


def step_folds(run_dir: str, cfg: BenchConfig, folds: int) -> None:
    from model.train import train_folds

    train_folds(run_dir, folds=folds, config=_train_config(cfg))


def step_downstream(run_dir: str, cfg: BenchConfig) -> dict:
    """Plain training (robust off) on a label set, then UAR/WAR on the clean test split."""
    from model.evaluate import evaluate
    from model.train import train

    train(run_dir, _train_config(cfg, robust=False), progress=False)
    return dict(evaluate(run_dir, split="test"))


# ---------------------------------------------------------------- label sets for downstream


def label_variant(data_run, audit_run, variant: str, *, cleanlab_method: str):
    """The manifest to retrain on: ``noisy`` (as given), ``ours`` (train videos our triage
    calls noisy relabelled to the suggestion; hard kept), ``cleanlab`` (train videos the
    cleanlab filter flags removed), ``oracle`` (true labels everywhere)."""
    from curation.data.manifest import Manifest, read_manifest

    m = read_manifest(data_run)
    df = m.df.copy()
    train = df["split"] == "train"
    if variant == "ours":
        sc = pd.read_parquet(RunDir(audit_run).scores).set_index("video_id")
        v = sc.loc[df["video_id"], "verdict"].to_numpy()
        fix = train.to_numpy() & (v == "noisy")
        df.loc[fix, "label"] = sc.loc[df.loc[fix, "video_id"], "suggested_label"].to_numpy()
    elif variant == "cleanlab":
        bl = pd.read_parquet(RunDir(audit_run).baselines).set_index("video_id")
        flagged = set(bl.index[bl[f"{cleanlab_method}_flag"].to_numpy(bool)])
        df = df[~(train & df["video_id"].isin(flagged))]
    elif variant == "oracle":
        df["label"] = df["true_label"]
    elif variant != "noisy":
        raise ConfigError(f"unknown downstream variant {variant!r}; choose from {DOWNSTREAM}")
    return Manifest(df.reset_index(drop=True), m.classes, m.root)


# ---------------------------------------------------------------- one configuration


def _synth_config(cfg: BenchConfig, name: str):
    from curation.data.synth import SynthConfig

    return SynthConfig(n=cfg.n, size=cfg.size, num_frames=cfg.num_frames, seed=cfg.seed,
                       workers=cfg.workers, **{**cfg.synth, **SYNTH_CONFIGS[name]})


def _detection_rows(audit: Path, name: str, methods_probs: dict, cfg: BenchConfig, *, oof: bool = True) -> list[dict]:
    """Quality, time and memory of each method on the audit run's train split."""
    from curation.audit.agreement import audit as ours_audit
    from curation.data.manifest import read_manifest

    man = read_manifest(audit).df.set_index("video_id")
    rows = []
    sc = pd.read_parquet(RunDir(audit).scores)
    sc = sc[sc["split"] == "train"].reset_index(drop=True)
    gt = man.loc[sc["video_id"]]
    noisy, hard = gt["is_noisy"].to_numpy(bool), gt["is_hard"].to_numpy(bool)
    true = gt["true_label"].to_numpy(object)

    def row(method, inputs, score, flag, suggested, wall, peak):
        d = detection_metrics(noisy, flag, score, is_hard=hard)
        r = {"config": name, "method": method, "inputs": inputs}
        r.update({k: d[k] for k in ("precision", "recall", "f1", "auroc", "ap", "hard_retention", "n_flagged", "n_noisy")})
        r["relabel_acc"] = relabel_accuracy(flag, suggested, true, is_noisy=noisy) if suggested is not None else float("nan")
        r["time_s"], r["peak_mb"] = wall, peak
        return r

    x_in = B.load_inputs(audit, probs="insample")
    cp = x_in.clip_probs
    _, wall, peak = measure(ours_audit, cp, x_in.labels)
    rows.append(row("ours", B.method_inputs("ours", ""), sc["noise_score"].to_numpy(float),
                    (sc["verdict"] == "noisy").to_numpy(bool), sc["suggested_label"].to_numpy(object), wall, peak))
    bcfg = B.BaselinesConfig(seed=cfg.seed)
    for probs, methods in methods_probs.items():
        x = B.load_inputs(audit, probs=probs)
        for m in methods:
            det, wall, peak = measure(B.compute, x, m, bcfg)
            label = f"{m} (in-sample)" if probs == "insample" and oof and m.startswith("cl_") else m
            sug = None if det.suggested is None else np.array([x.classes[i] for i in det.suggested], dtype=object)
            rows.append(row(label, B.method_inputs(m, x.probs_kind, bcfg), det.score, det.flag, sug, wall, peak))
    return rows


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
    steps = 5 + (len(DOWNSTREAM) if cfg.downstream else 0)
    bar = tqdm(total=steps, desc=f"bench {name}", unit="step", disable=not progress)

    def done(what):
        bar.set_postfix_str(what)
        bar.update()

    scfg = _synth_config(cfg, name)
    resume = resume and _same_synth(data, scfg)
    resumed: list[str] = []
    if resume:
        from curation.data.manifest import read_manifest

        man = read_manifest(data)
    else:
        man = generate(data, scfg, progress=False)
        for run in (audit, kfold):
            write_manifest(run, man)
    done("synth")

    def step(fn, run, *args):
        nonlocal resume
        rec = _resumed(fn, (str(run), *args)) if resume else None
        if rec is not None:
            resumed.append(fn.rsplit(".", 1)[1])
        if rec is None:
            resume = False  # everything after a fresh step is fresh too
            return in_child(fn, str(run), *args, isolate=cfg.isolate)
        return rec

    _, t_train, m_train, c_train = step("curation.pipelines.bench.step_audit_train", audit, cfg)
    done("audit train")
    _, t_score, m_score, c_score = step("curation.pipelines.bench.step_score", audit)
    done("score")
    model = _model_row(audit, name, len(man.classes))
    oof = cfg.folds >= 2
    if oof:
        _share_cache(audit, kfold)
        _, t_folds, m_folds, c_folds = step("curation.pipelines.bench.step_folds", kfold, cfg, cfg.folds)
        _copy_oof(kfold, audit)
    done(f"{cfg.folds}-fold" if oof else "no folds")

    # baselines.parquet of the audit run (cleanlab on out-of-fold probabilities when there are folds)
    probs = "oof" if oof else "insample"
    methods = [m for m in (cfg.methods or B.METHODS) if m != "fo_mistakenness" or B.fiftyone_available()]
    skipped = {} if B.fiftyone_available() else {"fo_mistakenness": "curation.fiftyone.brain is not in this checkout"}
    try:
        B.run_baselines(audit, B.BaselinesConfig(seed=cfg.seed, probs=probs, methods=methods))
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
    detection = _detection_rows(audit, name, runs, cfg, oof=oof)
    done("baselines")

    cost = [
        {"config": name, "pipeline": "ours: audit train (robust) + score", "trainings": 1,
         "wall_s": t_train + t_score, "cpu_s": c_train + c_score, "peak_mb": max(m_train, m_score)},
    ]
    if oof:
        cost.append({"config": name, "pipeline": f"cleanlab: {cfg.folds}-fold train + find_label_issues",
                     "trainings": cfg.folds, "wall_s": t_folds + t_cl, "cpu_s": c_folds + c_cl,
                     "peak_mb": max(m_folds, m_cl)})
    for c in cost:
        c["wall_ratio"] = c["wall_s"] / max(cost[0]["wall_s"], 1e-9)
        c["cpu_ratio"] = c["cpu_s"] / max(cost[0]["cpu_s"], 1e-9)

    downstream = []
    if cfg.downstream:
        for variant in DOWNSTREAM:
            run = root / f"retrain_{variant}"
            m = label_variant(data, audit, variant, cleanlab_method=f"cl_{cfg.cleanlab_filter}")
            if not (resume and _resumed("curation.pipelines.bench.step_downstream", (str(run), cfg))):
                write_manifest(run, m)
                _share_cache(audit, run)
            res, wall, peak, cpu = step("curation.pipelines.bench.step_downstream", run, cfg)
            downstream.append({"config": name, "labels": variant, "n_train": int((m.df["split"] == "train").sum()),
                               "uar": float(res["uar"]), "war": float(res["war"]), "wall_s": wall, "cpu_s": cpu,
                               "peak_mb": peak})
            done(f"retrain {variant}")
    bar.close()
    return {"detection": detection, "downstream": downstream, "cost": cost, "skipped": skipped, "model": [model],
            "resumed": resumed}


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


def _share_cache(src: Path, dst: Path) -> None:
    """Hard-link the decoded-frame cache of ``src`` into ``dst`` so later trainings on the same
    videos skip decoding. The model checks each cache against its manifest (paths, size) and
    decodes again when it does not match, so a subset manifest stays correct."""
    cache = src / "cache"
    if not cache.is_dir():
        return
    (dst / "cache").mkdir(parents=True, exist_ok=True)
    for f in cache.iterdir():
        target = dst / "cache" / f.name
        if f.is_file() and not target.exists():
            try:
                os.link(f, target)
            except OSError:
                import shutil

                shutil.copy2(f, target)


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


def machine() -> dict:
    """What the numbers ran on."""
    import torch

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "ram_gib": round(ram, 1), "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


def command_line(cfg: BenchConfig, out) -> str:
    parts = ["dfer-curate", "bench"]
    if cfg.quick:
        parts.append("--quick")
    parts += ["--configs", *cfg.configs, "--seed", str(cfg.seed)]
    base = PROFILES["quick" if cfg.quick else "full"]
    for key in ("n", "epochs", "folds"):
        if getattr(cfg, key) != base.get(key):
            parts += [f"--{key}", str(getattr(cfg, key))]
    if not cfg.downstream:
        parts.append("--no-downstream")
    parts += ["--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)


def run_bench(cfg: BenchConfig, out, *, report: Path | None = REPORT, progress: bool = True,
              resume: bool = True) -> dict:
    """Run every configuration; write detection.csv, downstream.csv, cost.csv, bench.json and
    BENCHMARKS.md under ``out`` (and BENCHMARKS.md to ``report`` unless None). Returns the
    three tables as DataFrames plus the markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info = {"config": dataclasses.asdict(cfg), "machine": machine(), "command": command_line(cfg, out),
            "synth": {n: dataclasses.asdict(_synth_config(cfg, n)) for n in cfg.configs},
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    parts = {"detection": [], "downstream": [], "cost": [], "model": []}
    info["skipped"] = {}
    for name in cfg.configs:
        res = run_config(name, cfg, out, progress=progress, resume=resume)
        for k in parts:
            parts[k] += res[k]
        info["skipped"].update({f"{name}: {m}": why for m, why in res["skipped"].items()})
        info["resumed_steps"] = info.get("resumed_steps", 0) + len(res["resumed"])
    info["wall_s"] = time.perf_counter() - t0
    from curation.fileio import read_json

    info["notes"] = {str(p.relative_to(out)): read_json(p)["note"] for p in sorted(out.glob("*/*/bench_step_*.json"))
                     if "note" in read_json(p)}
    tables = {k: pd.DataFrame(v) for k, v in parts.items()}
    write_csv(out / "detection.csv", tables["detection"])
    write_csv(out / "downstream.csv", tables["downstream"])
    write_csv(out / "cost.csv", tables["cost"])
    write_csv(out / "model.csv", tables["model"])
    write_json(out / "bench.json", info)
    md = render_markdown(tables, info)
    write_text(out / "BENCHMARKS.md", md)
    if report is not None:
        write_text(report, md)
    return {**tables, "markdown": md, "info": info}


# ---------------------------------------------------------------- markdown


def _md(df: pd.DataFrame, digits: int = 2) -> str:
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "–" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    head = "| " + " | ".join(df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(fmt(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def criteria(tables: dict, config: str = "default") -> list[str]:
    """The issue's done-when checks on one configuration, stated with their numbers."""
    det = tables["detection"]
    det = det[det["config"] == config]
    lines = []
    if det.empty:
        return [f"- configuration `{config}` was not run; no verdict."]
    ours = det[det["method"] == "ours"].iloc[0]
    cl = det[det["method"].str.startswith("cl_") & det["method"].str.split(" ").str[0].str[3:].isin(B.CLEANLAB_FILTERS)]
    best = cl.loc[cl["f1"].idxmax()]
    df1, dhr = ours["f1"] - best["f1"], ours["hard_retention"] - best["hard_retention"]
    ok = "met" if df1 >= 0.10 else "NOT met"
    lines.append(f"- F1: ours {ours['f1']:.3f} vs best cleanlab filter `{best['method']}` {best['f1']:.3f} "
                 f"(difference {df1:+.3f}; target +0.10): **{ok}**.")
    ok = "met" if dhr >= 0.15 else "NOT met"
    lines.append(f"- Hard retention: ours {ours['hard_retention']:.3f} vs `{best['method']}` "
                 f"{best['hard_retention']:.3f} (difference {dhr:+.3f}; target +0.15): **{ok}**.")
    down = tables["downstream"]
    down = down[down["config"] == config].set_index("labels") if not down.empty else down
    if len(down):
        o, orc, c = (down.loc[v, "uar"] * 100 for v in ("ours", "oracle", "cleanlab"))
        ok = "met" if (orc - o) <= 3 and o > c else "NOT met"
        lines.append(f"- Downstream UAR: ours {o:.1f}, oracle {orc:.1f} (gap {orc - o:.1f} points; target <= 3), "
                     f"cleanlab-cleaned {c:.1f}, noisy {down.loc['noisy', 'uar'] * 100:.1f}: **{ok}**.")
    cost = tables["cost"]
    cost = cost[cost["config"] == config]
    if len(cost) == 1:
        lines.append("- Cost: no K-fold run (--folds 0), so no ratio.")
    if len(cost) == 2 and np.isnan(cost.iloc[0]["wall_s"]):
        k = cost.iloc[1]
        lines.append(f"- Cost: cleanlab with K-fold out-of-fold probabilities took {k['wall_s']:.0f} s wall, "
                     f"{k['cpu_s']:.0f} s CPU; our audit's own time was not recorded in this run, so no ratio.")
    elif len(cost) == 2:
        k = cost.iloc[1]
        lines.append(f"- Cost: cleanlab with K-fold out-of-fold probabilities took {k['wall_ratio']:.2f}x the wall time "
                     f"({k['wall_s']:.0f} s vs {cost.iloc[0]['wall_s']:.0f} s) and {k['cpu_ratio']:.2f}x the CPU time "
                     f"({k['cpu_s']:.0f} s vs {cost.iloc[0]['cpu_s']:.0f} s) of our audit (one training run + scoring).")
    return lines


def render_markdown(tables: dict, info: dict) -> str:
    cfg, mach = info["config"], info["machine"]
    det = tables["detection"].copy()
    lines = [
        "# Benchmarks: label-noise detection on synthetic DFER videos",
        "",
        "Written by `dfer-curate bench`; do not edit by hand. Reproduce with:",
        "",
        f"```bash\n{info['command']}\n```",
        "",
        f"Profile: **{'quick' if cfg['quick'] else 'full'}**; seed {cfg['seed']}; started {info['started']}; "
        f"wall time of this invocation {info['wall_s'] / 60:.1f} min"
        + (f" ({info['resumed_steps']} model steps were resumed from an earlier run with the same settings; "
           "their own times are in the tables below)." if info.get("resumed_steps") else "."),
        f"Machine: {mach['cpus']} CPUs ({mach['cpu']}), {mach['ram_gib']} GiB RAM, torch {mach['torch']}, "
        f"Python {mach['python']}, {mach['platform']}; load average at start {mach['load_avg_at_start']} "
        "(the machine was shared, so timings are upper bounds).",
        "",
        f"Sets: {cfg['n']} videos each (70/15/15 train/val/test, test clean), {cfg['size']} px, "
        f"{cfg['num_frames']} frames; training {cfg['epochs']} epochs max; "
        + (f"cleanlab's out-of-fold probabilities from {cfg['folds']} fold models. " if cfg["folds"] >= 2 else
           "**no fold models were trained (--folds 0): cleanlab got in-sample probabilities of the audit model.** ")
        + "Configurations (overrides of `SynthConfig`): "
        + "; ".join(f"`{n}` {SYNTH_CONFIGS[n] or '(defaults)'}" for n in cfg["configs"]) + ".",
        "",
        "## Verdict on the default configuration",
        "",
        *criteria(tables),
        "",
        "How well the audit model learned (best held-out accuracy over its epochs; given-label "
        "accuracy on train at the last epoch). Every detection number below rests on it.",
        "",
        _md(tables["model"], 3) if len(tables.get("model", [])) else "(no training log)",
        "",
        *[f"**Warning: in `{r.config}` the audit model's held-out accuracy {r.heldout_acc:.2f} is not clearly above "
          f"chance ({r.chance:.2f}); its detection numbers compare noise, not methods.**\n"
          for r in tables.get("model", pd.DataFrame()).itertuples() if not r.heldout_acc >= 2 * r.chance],
        "## Noise detection (train split)",
        "",
        "Precision/recall/F1 of the flagged set; AUROC/AP of the continuous score; hard retention = "
        "share of hard, correctly labelled videos not flagged; relabel accuracy = share of flagged, "
        "truly noisy videos whose suggested label is the true one (– where a method suggests none). "
        "`time_s`/`peak_mb`: the method's post-hoc step on saved model outputs (wall time; peak of "
        "traced Python/numpy allocations); for `ours` that is `curation.audit.agreement.audit` on the saved "
        "clip probabilities. FiftyOne's own work happens partly in mongod, which the trace does not see.",
        "",
    ]
    for what, why in info.get("skipped", {}).items():
        lines += [f"Left out: {what} ({why}).", ""]
    for name in cfg["configs"]:
        d = det[det["config"] == name].drop(columns=["config"])
        lines += [f"### `{name}`", "", _md(d), ""]
    lines += ["## Downstream: retrain on each label set, test on clean labels", "",
              "Same plain network (robust training off) for every label set; `ours` = train videos our "
              f"triage calls noisy relabelled to the suggestion (hard kept); `cleanlab` = videos "
              f"`cl_{cfg['cleanlab_filter']}` flags ({'out-of-fold' if cfg['folds'] >= 2 else 'in-sample'}) removed; "
              "`oracle` = true labels.", ""]
    lines += [_md(tables["downstream"], 3) if len(tables["downstream"]) else "(not run)", ""]
    lines += ["## Cost: one audit against cleanlab with K-fold probabilities", "",
              "Wall time, CPU time (all threads) and peak RSS of the training child processes, measured "
              "in the same run; ratios are to our audit.", "",
              _md(tables["cost"]), ""]
    for path, note in info.get("notes", {}).items():
        lines += [f"- `{path}`: {note}."]
    return "\n".join(lines) + "\n"
