"""Model quality and cost on synthetic data: train + score, noise F1 / AUROC / hard retention /
relabel accuracy, test UAR/WAR, wall time, peak memory; plus ablations (plain network, no
re-sampling, no second stream, no robust training, single clip) for comparison.

    .venv/bin/python benchmarks/model_quality.py                      # synth defaults (2,000 videos)
    .venv/bin/python benchmarks/model_quality.py --run runs/s          # an existing synth run
    .venv/bin/python benchmarks/model_quality.py --ablations plain,no_robust --epochs 12
    .venv/bin/python benchmarks/model_quality.py --run runs/fz --seeds 0,1,2 --set frozen=true   # runs/fz_seed1, _seed2

One training is one draw: a variant's lead of a point or two on one seed can be the seed's
(reports/RETRAINING_SEEDS.md); ``--seeds`` reports the mean over seeds and each seed's row.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ABLATIONS = {
    "full": {},
    "plain": {"robust": False, "resample": False, "long_term": False},
    "no_robust": {"robust": False},
    "no_resample": {"resample": False},  # the default since re-sampling was turned off; kept so older commands rerun
    "resample": {"resample": True},
    "no_long_term": {"long_term": False},
}


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def _sibling(base: Path, name: str) -> Path:
    """A run dir with the same manifest and frame cache (no re-decoding), and the same encoder
    and embeddings when the base has them (what `train --frozen` reads)."""
    from curation.runs import fresh_sibling_run

    return fresh_sibling_run(base, base.parent / f"{base.name}__{name}")


def run_one(run: Path, cfg, *, single_clip: bool = False) -> dict:
    from model.config import ScoreConfig
    from model.evaluate import evaluate
    from model.score import score, summary
    from model.train import train

    t0 = time.time()
    tr = train(run, cfg, progress=False)
    t1 = time.time()
    df = score(run, ScoreConfig(), progress=False)
    t2 = time.time()
    out = {"train_s": round(t1 - t0, 1), "score_s": round(t2 - t1, 1), "epochs": tr["epochs"],
           "best_epoch": tr["best_epoch"], "triage_from": tr["triage_from"]}
    s = summary(run, df)
    out["counts"] = s["counts"]
    out.update({k: s["detection"][k] for k in ("precision", "recall", "f1", "auroc", "noisy_vs_hard_auroc", "ap",
                                                 "hard_retention",
                                                 "relabel_accuracy", "relabel_accuracy_flagged", "n_flagged", "n_noisy")})
    ev = evaluate(run, "test")
    out["test_uar"], out["test_war"], out["test_uar_held_out"] = ev["uar"], ev["war"], ev["held_out"]
    if single_clip:
        df1 = score(run, ScoreConfig(single_clip=True, use_dynamics=False), progress=False)
        s1 = summary(run, df1)["detection"]
        out["single_clip"] = {k: s1[k] for k in ("precision", "recall", "f1", "auroc", "noisy_vs_hard_auroc",
                                                  "hard_retention")}
        score(run, ScoreConfig(), progress=False)  # leave the full scores in place
    out["log"] = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in tr["log"]]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", help="existing synth run dir (default: synth defaults into runs/bench_model); "
                                 "with --seeds, seed S > first reads RUN_seedS")
    p.add_argument("--n", type=int, default=None, help="videos to synthesize when --run is absent")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--size", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", help="comma-separated seeds, one set each (needs --run); the tables give their mean")
    p.add_argument("--ablations", default="plain", help=f"comma list from {sorted(ABLATIONS)} ('' for none)")
    p.add_argument("--no-full", action="store_true", help="skip the full method (run only the ablations; to run them in parallel)")
    p.add_argument("--set", action="append", default=[], help="TrainConfig override NAME=VALUE (repeatable)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--md", help="write a markdown table of the results here (e.g. reports/MODEL_QUALITY.md)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from model.config import TrainConfig

    names = [a for a in args.ablations.split(",") if a]
    unknown = [a for a in names if a not in ABLATIONS]
    if unknown:
        p.error(f"unknown ablation {unknown[0]!r}; choose from {sorted(ABLATIONS)}")
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    if len(seeds) > 1 and not args.run:
        p.error("--seeds needs --run (seed S > first reads RUN_seedS)")
    t_start = time.time()
    overrides = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        field_type = {f.name: f.type for f in dataclasses.fields(TrainConfig)}[k]
        overrides[k] = (v.lower() in ("1", "true", "yes")) if "bool" in str(field_type) else type(getattr(TrainConfig(), k))(v)
    if args.epochs:
        overrides["epochs"] = args.epochs
    if args.size:
        overrides["size"] = args.size
    per_seed = {}
    for i, seed in enumerate(seeds):
        if args.run:
            base = Path(args.run) if i == 0 else Path(f"{args.run}_seed{seed}")
        else:
            from curation.data.synth import SynthConfig, generate  # the synth helper's library

            base = Path("runs/bench_model")
            kwargs = {} if args.n is None else {"n": args.n}
            generate(base, SynthConfig(seed=seed, **kwargs), progress=False)
        cfg = TrainConfig(**{**overrides, "seed": seed})
        per_seed[seed] = {"train_config": dataclasses.asdict(cfg), **variants_of(base, cfg, names, full=not args.no_full)}
    results = per_seed[seeds[0]] if len(seeds) == 1 else {
        "train_config": per_seed[seeds[0]]["train_config"], "seeds": seeds, "per_seed": per_seed,
        **mean_over_seeds([per_seed[s] for s in seeds])}
    results["total_s"] = round(time.time() - t_start, 1)
    results["peak_mb"] = round(_peak_mb(), 0)
    print(f"\ntotal wall {results['total_s']} s, peak memory {results['peak_mb']} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if args.md:
        write_markdown(results, Path(args.md), " ".join(["benchmarks/model_quality.py", *(argv or sys.argv[1:])]))
    return 0


def variants_of(base: Path, cfg, names: list[str], *, full: bool) -> dict:
    """The full method on ``base`` and each ablation on a sibling run, all with ``cfg``'s seed."""
    out = {}
    if full:
        t0 = time.time()
        out["full"] = run_one(base, cfg, single_clip=True)
        out["full"]["wall_s"] = round(time.time() - t0, 1)
        out["full"]["peak_mb"] = round(_peak_mb(), 0)
        _print(f"full, seed {cfg.seed}", out["full"])
    for name in names:
        t0 = time.time()
        out[name] = run_one(_sibling(base, name), dataclasses.replace(cfg, **ABLATIONS[name]))
        out[name]["wall_s"] = round(time.time() - t0, 1)
        _print(f"{name}, seed {cfg.seed}", out[name])
    return out


MEAN_KEYS = ("train_s", "score_s", "epochs", "best_epoch", "precision", "recall", "f1", "auroc", "noisy_vs_hard_auroc",
             "hard_retention", "relabel_accuracy", "test_uar", "test_war")


def mean_over_seeds(runs: list[dict]) -> dict:
    """Each variant's numbers averaged over the seeds' runs (the single-clip scoring of `full` too)."""
    from curation.pipelines.bench_report import uar_seen

    out = {}
    for name in [k for k in runs[0] if k != "train_config"]:
        rows = [r[name] for r in runs]
        out[name] = {k: float(np.mean([r[k] for r in rows])) for k in MEAN_KEYS}
        out[name]["test_uar_held_out"] = not any(uar_seen(r) for r in rows)
        singles = [r.get("single_clip") for r in rows]
        if all(singles):
            out[name]["single_clip"] = {k: float(np.mean([s[k] for s in singles])) for k in singles[0]}
    return out


WHAT = {"full": "the method as shipped", "plain": "no robust training, no re-sampling, no long-term stream",
        "no_robust": "no triage-driven robust training", "no_resample": "uniform clips only (no key-expression re-sampling)",
        "resample": "key-expression re-sampling on (train --resample)",
        "no_long_term": "mean of clip tokens instead of the BiGRU over clips"}


def write_markdown(results: dict, path: Path, command: str) -> None:
    """The ablation table of one invocation, with the command and the machine."""
    import platform

    import torch

    from curation.pipelines.bench_report import SEEN_NOTE, uar_cell, uar_seen

    variants = [k for k, r in results.items() if isinstance(r, dict) and k not in ("train_config", "per_seed")]
    rows = ["| variant | what is switched off | train + score s | epochs (best) | precision | recall | F1 | AUROC | "
            "noisy-vs-hard AUROC | hard retention | relabel acc. | test UAR | test WAR |", "|" + "---|" * 13]
    for name in variants:
        r = results[name]
        rows.append(f"| {name} | {WHAT.get(name, '')} | {r['train_s'] + r['score_s']:.0f} | {r['epochs']:.0f} ({r['best_epoch']:.0f}) "
                    f"| {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['auroc']:.3f} | "
                    f"{r.get('noisy_vs_hard_auroc', float('nan')):.3f} | {r['hard_retention']:.3f} | {r['relabel_accuracy']:.3f} | {uar_cell(r)} | {r['test_war']:.3f} |")
    full = results.get("full", {})
    single = full.get("single_clip")
    seeds = results.get("seeds")
    if seeds:
        rows[:0] = [f"Mean over seeds {', '.join(map(str, seeds))} (one synthetic set, encoder and network per seed; "
                    "each seed's numbers below):", ""]
        rows += ["", "| variant | seed | F1 | AUROC | noisy-vs-hard AUROC | hard retention | relabel acc. | test UAR |",
                 "|" + "---|" * 8]
        for name in variants:
            for seed in seeds:
                r = results["per_seed"][seed][name]
                rows.append(f"| {name} | {seed} | {r['f1']:.3f} | {r['auroc']:.3f} | {r['noisy_vs_hard_auroc']:.3f} | "
                            f"{r['hard_retention']:.3f} | {r['relabel_accuracy']:.3f} | {uar_cell(r)} |")
    lines = [
        "# Model quality on the default synthetic set", "",
        "Written by `benchmarks/model_quality.py --md`; do not edit by hand. Reproduce with:", "",
        "```bash", f".venv/bin/python {command}", "```", "",
        "`--run` names a set made by `dfer-curate synth --out RUN` with its defaults (2,000 videos, 20 % noise, "
        f"20 % hard, seed {results.get('train_config', {}).get('seed', 0)}); without `--run` the script renders that "
        "set itself." + (" With `--seeds`, seed S after the first reads `RUN_seedS`." if seeds else ""), "",
        *(["Every variant trains `--frozen` on the run's cached embeddings (the default path: `pretrain "
           "--given-labels`, `embed`, then `train --frozen`; the encoder is the run's own, shared by all variants). "
           "Make them first with `dfer-curate pretrain RUN --given-labels --seed S` and `dfer-curate embed RUN`, or "
           "`benchmarks/frozen_training.py --run runs/fz --encoder given_labels --seeds 0,S`, which leaves seed S's run in "
           "`runs/fz_seedS`.",
           ""]
          if results.get("train_config", {}).get("frozen") else []),
        f"Machine: {os.cpu_count()} CPUs, torch {torch.__version__}, Python {platform.python_version()}; "
        f"total wall time {results.get('total_s', float('nan')) / 60:.1f} min, peak memory {results.get('peak_mb')} MB. "
        "Detection is measured on the train split (where the noisy labels are); UAR/WAR on the clean test split. "
        "Relabel accuracy: share of flagged, truly noisy videos whose suggested label is the true one."
        + (" " + SEEN_NOTE if any(uar_seen(results[v]) for v in variants) else ""), "",
        *rows, "",
    ]
    if single:
        lines += [f"Scoring the `full` model{' (mean over the seeds)' if seeds else ''} with one centred clip per video (no agreement, no dynamics): F1 "
                  f"{single['f1']:.3f}, AUROC {single['auroc']:.3f}, noisy-vs-hard AUROC "
                  f"{single.get('noisy_vs_hard_auroc', float('nan')):.3f}, hard retention {single['hard_retention']:.3f}.", ""]
    path.write_text("\n".join(lines))


def _print(name: str, r: dict) -> None:
    print(f"\n== {name}: train {r['train_s']} s + score {r['score_s']} s, epochs {r['epochs']} (best {r['best_epoch']}, "
          f"triage from {r['triage_from']})")
    print(f"   noise P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} AUROC {r['auroc']:.3f} AP {r['ap']:.3f} "
          f"| hard retention {r['hard_retention']:.3f} | relabel acc {r['relabel_accuracy']:.3f} "
          f"(all flagged {r['relabel_accuracy_flagged']:.3f}) | flagged {r['n_flagged']}/{r['n_noisy']}")
    print(f"   test UAR {r['test_uar']:.3f} WAR {r['test_war']:.3f} | verdicts {r['counts']}")
    if "single_clip" in r:
        s = r["single_clip"]
        print(f"   single-clip ablation: F1 {s['f1']:.3f} AUROC {s['auroc']:.3f} hard retention {s['hard_retention']:.3f}")
    for rec in r["log"]:
        print("   ", rec)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
