"""What a pretrained encoder buys the audit: pretraining + embedding time on the default
synthetic set, `train --frozen` epoch time against pixel training at equal clip sampling
(side by side, same process), and the network's noise detection with frozen embeddings,
beside every baseline on the same network (noisy-vs-hard AUROC included).

``--encoder self_supervised`` measures `pretrain` (labels never read); ``--encoder
given_labels`` measures `pretrain --given-labels` (the encoder learns the run's given labels
of ``--given-splits``). Each writes its own section of reports/REPRESENTATION.md.

    .venv/bin/python benchmarks/frozen_training.py --run runs/default --md reports/REPRESENTATION.md
    .venv/bin/python benchmarks/frozen_training.py --run runs/default --encoder given_labels --md reports/REPRESENTATION.md
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# the self-supervised section keeps the markers it was first written with
MARKERS = {"self_supervised": ("<!-- frozen_training: begin -->", "<!-- frozen_training: end -->"),
           "given_labels": ("<!-- frozen_training given_labels: begin -->", "<!-- frozen_training given_labels: end -->")}


def epoch_seconds(run_dir, cfg, *, frozen: bool, epochs: int) -> float:
    """Seconds per training epoch (training steps plus the end-of-epoch held-out pass) of
    ``cfg`` on pixels or on cached embeddings, in a scratch checkpoint folder."""
    import tempfile

    import model.train as T
    from curation.data.manifest import read_manifest
    from curation.runs import RunDir

    run = RunDir(run_dir)
    manifest = read_manifest(run.path)
    # the out-of-fold noise rates are computed once per training, not per epoch: left out here
    c = dataclasses.replace(cfg, frozen=frozen, epochs=epochs, robust=False, flag_rates="in-sample")
    plan = T.make_plan(manifest, c)
    with tempfile.TemporaryDirectory() as tmp:
        if frozen:
            from model.embed import store_for_training

            store = store_for_training(run.path, manifest, c)
        else:
            from model import data

            store = data.load_frames(manifest, size=c.size, grey=c.grey, cache_dir=run.path / "cache")
        t0 = time.time()
        T.fit(run, manifest, plan, c, Path(tmp), progress=False, resume=False, write_dynamics=False, store=store)
        return (time.time() - t0) / epochs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="run directory for the default synthetic set (made if absent); "
                                                "seed S > first gets RUN_seedS")
    p.add_argument("--n", type=int, default=2000, help="videos (synth default)")
    p.add_argument("--encoder", choices=sorted(MARKERS), default="self_supervised",
                   help="which `pretrain` to measure (default self_supervised)")
    p.add_argument("--steps", type=int, default=None, help="encoder training batches (default: its config's)")
    p.add_argument("--given-loss", default=None, help="given_labels: ce or gce (default: GivenEncoderConfig's)")
    p.add_argument("--given-mixup", type=float, default=None,
                   help="given_labels: mixup alpha while the encoder learns (default: GivenEncoderConfig's)")
    p.add_argument("--given-splits", default=None,
                   help="given_labels: comma-separated splits whose labels it learns (default: GivenEncoderConfig's)")
    p.add_argument("--noise-splits", default="train",
                   help="synth: comma-separated splits whose labels carry noise (default train, the default set)")
    p.add_argument("--second-pass", action="store_true",
                   help="given_labels: then audit again with an encoder that leaves out the videos the first "
                        "audit flagged (`pretrain --given-labels --exclude-flagged`); reports both passes")
    p.add_argument("--timing-epochs", type=int, default=1, help="epochs timed per side (first seed only)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seeds", default="0", help="comma-separated synth (and training) seeds; the mean is reported")
    p.add_argument("--md", help="markdown file whose section for this encoder is (re)written")
    args = p.parse_args(argv)
    if args.second_pass and args.encoder != "given_labels":
        p.error("--second-pass needs --encoder given_labels")
    import torch

    torch.set_num_threads(args.threads)
    t_all = time.time()
    seeds = [int(x) for x in args.seeds.split(",")]
    per_seed = []
    for i, seed in enumerate(seeds):
        run = Path(args.run) if i == 0 else Path(f"{args.run}_seed{seed}")
        per_seed.append(audit_one_seed(run, seed, args, timing=(i == 0)))
        print({k: v for k, v in per_seed[-1].items() if k != "table"}, flush=True)
    total_s = time.time() - t_all
    if args.md:
        write_section(Path(args.md), args, per_seed, total_s, shlex.join(argv if argv is not None else sys.argv[1:]))
    return 0


def audit_one_seed(run: Path, seed: int, args, *, timing: bool) -> dict:
    """Encoder, embeddings, `train --frozen`, `score`, `baselines` on the default set of one
    seed; with ``timing`` also a pixel and a frozen epoch side by side."""
    from curation.audit.baselines import run_baselines
    from curation.audit.compare import side_by_side
    from curation.audit.metrics import verdicts_by_split
    from curation.data import synth
    from curation.data.manifest import read_manifest
    from model.config import TrainConfig
    from model.embed import embed
    from model.score import score, summary
    from model.train import train

    if not (run / "manifest.parquet").exists():
        noise_splits = tuple(args.noise_splits.split(","))
        synth.generate(run, synth.SynthConfig(n=args.n, seed=seed, workers=2, noise_splits=noise_splits),
                       progress=False)
    truth = read_manifest(run).df
    noisy_splits = truth.groupby("split")["is_noisy"].any()
    if sorted(noisy_splits.index[noisy_splits]) != sorted(args.noise_splits.split(",")):
        raise SystemExit(f"{run} holds a set whose noisy splits are not --noise-splits {args.noise_splits}; "
                         "pick another --run")
    ecfg, fit_encoder = encoder_config(args, seed)
    r: dict = {"seed": seed, "config": ecfg}
    t0 = time.time()
    pre = fit_encoder(run, ecfg, progress=False)
    r.update(pretrain_s=time.time() - t0, pretrain_frames=pre["frames"])
    emb = embed(run, progress=False, device="cpu", force=True)
    r.update(embed_s=emb["seconds"], embed_fps=emb["fps"])
    cfg = TrainConfig(seed=seed, threads=args.threads, size=ecfg.size)
    if timing:
        r["pixel_epoch_s"] = epoch_seconds(run, cfg, frozen=False, epochs=args.timing_epochs)
        r["frozen_epoch_s"] = epoch_seconds(run, cfg, frozen=True, epochs=args.timing_epochs)
    t0 = time.time()
    out = train(run, dataclasses.replace(cfg, frozen=True), progress=False)
    scores = score(run, progress=False)
    r["frozen_train_s"] = time.time() - t0

    def measure(out: dict, scores) -> dict:
        det = summary(run, scores)["detection"]
        run_baselines(run)
        return {"frozen_epochs": out["epochs"], "auroc": det["auroc"], "f1": det["f1"], "precision": det["precision"],
                "recall": det["recall"], "hard_retention": det["hard_retention"],
                "noisy_vs_hard_auroc": det["noisy_vs_hard_auroc"], "heldout": out["best_heldout"],
                **measured_test_uar(run), "table": side_by_side(run),
                "by_split": verdicts_by_split(scores, truth)}

    first = measure(out, scores)
    r.update(first)
    if getattr(args, "second_pass", False):
        r["first_pass"] = first
        t0 = time.time()
        fit_encoder(run, dataclasses.replace(ecfg, exclude_flagged=True), progress=False)
        embed(run, progress=False, device="cpu", force=True)
        out = train(run, dataclasses.replace(cfg, frozen=True), progress=False)
        scores = score(run, progress=False)
        r["second_pass_s"] = time.time() - t0
        r.update(measure(out, scores))
    return r


def measured_test_uar(run) -> dict:
    """The network's test UAR and whether it is a measurement (its encoder never learned the test labels)."""
    from model.evaluate import evaluate

    ev = evaluate(run, "test")
    return {"test_uar": ev["uar"], "test_uar_held_out": ev["held_out"]}


def encoder_config(args, seed: int):
    """(config, training function) of the encoder ``args.encoder`` names."""
    if args.encoder == "given_labels":
        from model.given_encoder import GivenEncoderConfig, train_given_encoder

        cfg = GivenEncoderConfig(seed=seed, threads=args.threads)
        if args.given_loss:
            cfg = dataclasses.replace(cfg, loss=args.given_loss)
        if args.given_mixup is not None:
            cfg = dataclasses.replace(cfg, mixup=args.given_mixup)
        if args.given_splits:
            cfg = dataclasses.replace(cfg, splits=tuple(args.given_splits.split(",")))
        fit = train_given_encoder
    else:
        from model.pretrain import PretrainConfig, pretrain

        cfg, fit = PretrainConfig(seed=seed, threads=args.threads), pretrain
    if args.steps:
        cfg = dataclasses.replace(cfg, steps=args.steps)
    return cfg, fit


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def encoder_line(encoder: str, ecfg, r: dict) -> str:
    if encoder == "given_labels":
        return (f"| `pretrain --given-labels` ({ecfg.steps} batches of 32 of {r['pretrain_frames']:,} salient frames, "
                f"{ecfg.loss} loss, labels of {', '.join(ecfg.splits)}; videos decoded once) ")
    return f"| pretrain ({ecfg.steps} batches of {ecfg.batch_size} frames, {r['pretrain_frames']:,} frames decoded) "


TABLE_COLUMNS = ("n_flagged", "precision", "recall", "f1", "auroc", "hard_retention", "relabel_acc",
                 "noisy_vs_hard_auroc")


def mean_table(per_seed: list[dict]):
    """Every method's detection columns, mean over the seeds (row order of the first seed)."""
    import pandas as pd

    tables = [r["table"].set_index("method")[[c for c in TABLE_COLUMNS if c in r["table"].columns]]
              for r in per_seed]
    order = tables[0].index
    mean = pd.concat(tables).apply(pd.to_numeric, errors="coerce").groupby(level=0).mean().loc[order]
    if "n_flagged" in mean.columns:
        mean["n_flagged"] = mean["n_flagged"].round().astype(int)
    return mean.reset_index()


def variant_options(args) -> dict:
    """The options that make this run other than the default one (noisy splits of the set,
    and the given-label encoder's splits, loss, mixup and steps), each as given."""
    out = {}
    if getattr(args, "noise_splits", "train") != "train":
        out["noise_splits"] = args.noise_splits
    for name in ("given_splits", "given_loss", "given_mixup", "steps", "second_pass"):
        value = getattr(args, name, None)
        if value is not None and value is not False:  # an explicit 0 (e.g. mixup off) is a variant too
            out[name] = value
    return out


def mean_by_split(per_seed: list[dict]):
    """`verdicts_by_split` of every seed, averaged per split (counts rounded)."""
    import pandas as pd

    mean = pd.concat([r["by_split"] for r in per_seed]).groupby("split", sort=False).mean()
    for c in ("n", "n_noisy"):
        if c in mean.columns:
            mean[c] = mean[c].round().astype(int)
    return mean.reset_index()


def second_pass_lines(per_seed: list[dict], seeds: str) -> list[str]:
    """With --second-pass: the first and second pass side by side (means over the seeds), each
    against the best other method on its own network; the tables below are the second pass's."""
    import numpy as np
    import pandas as pd

    from curation.pipelines.bench_report import markdown_table

    if "first_pass" not in per_seed[0]:
        return []

    def row(name, runs):
        best = [r["table"].set_index("method").drop(index="ours")["noisy_vs_hard_auroc"].max() for r in runs]
        return {"pass": name, **{k: float(np.mean([r[k] for r in runs])) for k in (
            "auroc", "f1", "precision", "recall", "hard_retention", "noisy_vs_hard_auroc", "test_uar")},
            "best other noisy-vs-hard": float(np.mean(best))}

    rows = pd.DataFrame([row("first (encoder learned every train and val label)", [r["first_pass"] for r in per_seed]),
                         row("second (encoder without the first pass's flags)", per_seed)])
    return [f"Both passes, mean over seeds {seeds} (each method's noisy-vs-hard AUROC on its own pass's network; "
            "the tables below are the second pass's):", "", markdown_table(rows, 3), ""]


def write_section(path: Path, args, per_seed: list[dict], total_s: float, command: str) -> None:
    import numpy as np
    import pandas as pd
    import torch

    from curation.pipelines.bench_report import SEEN_MARK, SEEN_NOTE, markdown_table, uar_seen

    begin, end = MARKERS[args.encoder]
    title = {"self_supervised": "The self-supervised encoder in the audit",
             "given_labels": "The given-label encoder in the audit"}[args.encoder]
    variant = variant_options(args)
    if variant:  # another set or encoder setting: a section of its own
        key = " ".join(f"{k}={v}" for k, v in variant.items())
        begin, end = (m.replace(":", f" {key}:", 1) for m in (begin, end))
    title += " (default synthetic set" + "".join(
        f"; {k.replace('_', ' ')}" + ("" if v is True else f" {v}") for k, v in variant.items()) + ")"
    r, ecfg = per_seed[0], per_seed[0]["config"]
    seeds = ", ".join(str(x["seed"]) for x in per_seed)
    mean = {k: float(np.mean([x[k] for x in per_seed])) for k in ("auroc", "f1", "hard_retention", "test_uar")}
    rows = pd.DataFrame([{"seed": x["seed"], "AUROC": x["auroc"], "F1": x["f1"], "precision": x["precision"],
                          "recall": x["recall"], "hard retention": x["hard_retention"],
                          "best held-out acc.": x["heldout"], "test UAR": x["test_uar"]} for x in per_seed])
    seen = any(uar_seen(x) for x in per_seed)
    rows = rows.rename(columns={"test UAR": "test UAR" + SEEN_MARK}) if seen else rows
    if len(per_seed) > 1:
        rows = pd.concat([rows, rows.drop(columns="seed").mean().to_frame().T.assign(seed="mean")])
    lines = [
        begin, "", f"## {title}", "",
        "Written by `benchmarks/frozen_training.py --md`; reproduce with:", "",
        "```bash", f".venv/bin/python benchmarks/frozen_training.py {command}".rstrip(), "```", "",
        f"Machine: {os.cpu_count()} CPUs, {args.threads} torch thread(s), torch "
        f"{torch.__version__}, Python {platform.python_version()}; {total_s / 60:.1f} min in all; "
        f"the network at {ecfg.size} px. Times are of seed {r['seed']}.", "",
        "| step | result |", "|---|---|",
        encoder_line(args.encoder, ecfg, r) + f"| {r['pretrain_s']:.0f} s |",
        f"| embed (every frame, CPU) | {r['embed_s']:.0f} s ({r['embed_fps']:,.0f} frames/s) |",
        f"| pretrain + embed | {(r['pretrain_s'] + r['embed_s']) / 60:.1f} min |",
        f"| one pixel epoch (training without `--frozen`) | {r['pixel_epoch_s']:.1f} s |",
        f"| one `--frozen` epoch, same clips | {r['frozen_epoch_s']:.1f} s ({r['pixel_epoch_s'] / r['frozen_epoch_s']:.1f}x faster) |",
        f"| `train --frozen` + `score` ({r['frozen_epochs']} epochs) | {r['frozen_train_s']:.0f} s |",
        *([f"| second pass: `pretrain --given-labels --exclude-flagged`, `embed`, `train --frozen`, `score` | "
           f"{r['second_pass_s'] / 60:.1f} min |"] if "second_pass_s" in r else []), "",
        *second_pass_lines(per_seed, seeds),
        f"Our noise detection on the train split, synth seeds {seeds} (pixel training: AUROC 0.892, F1 0.59, "
        "hard retention 0.91 on seed 0, reports/MODEL_QUALITY_PIXELS.md):", "",
        markdown_table(rows, 3), "", *([SEEN_NOTE, ""] if seen else []),
        f"Every method on the same network (train split), mean over seeds {seeds}:", "",
        markdown_table(mean_table(per_seed), 3), "",
        f"What an annotator meets in each split, mean over seeds {seeds}: the share of clean, easy videos "
        "flagged for review (noisy or hard-or-noisy), the share of videos called hard that are truly hard "
        "and correctly labelled, and the noise AUROC where the split has noisy labels:", "",
        markdown_table(mean_by_split(per_seed), 3), "",
        "Targets: pretrain + embed within 10 min: " + _met((r["pretrain_s"] + r["embed_s"]) <= 600)
        + "; a frozen epoch at least 5x faster than a pixel epoch: " + _met(r["pixel_epoch_s"] >= 5 * r["frozen_epoch_s"])
        + f"; noise AUROC at least 0.95 (mean {mean['auroc']:.4f}): " + _met(mean["auroc"] >= 0.95)
        + ". The pretrain time includes decoding the videos once into the run's frame cache, which `train` "
        "then reuses.", "", end, "",
    ]
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        text = text[: text.index(begin)] + text[text.index(end) + len(end):].lstrip("\n")
    path.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
