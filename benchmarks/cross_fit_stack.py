"""Does cross-fitting the whole audit stack beat the in-sample path?

The default path's encoder (`pretrain --given-labels`) has learned every train label, the wrong
ones included, and that memory caps the audit (in an oracle run whose encoder never saw the truly
noisy videos, the same path reached noise AUROC 0.987 on seed 0, against 0.951). Cross-fitting is
the textbook answer: split the train split into K folds stratified by given label; for fold k, a
sub-run in RUN_stackK/fold_k trains the given-label encoder, embeds, trains `--frozen` and scores
with the defaults while the fold's videos are held out as its test split, so every train video
is judged by an encoder and a network that never saw its label (its noise rates come from the
fold's own held-out probabilities, as for any split the network never trained on). Side by side
in one run: the in-sample path on RUN with the same defaults, our audit of the cross-fitted
scores, and cleanlab's filters on the same cross-fitted video probabilities. Costs are wall times
of the same process.

    .venv/bin/python benchmarks/cross_fit_stack.py --run runs/xfit --folds 3 --md reports/CROSS_FIT_STACK.md

RUN is made with `dfer-curate synth` defaults (2,000 videos) when absent.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLUMNS = ("method", "n_flagged", "precision", "recall", "f1", "auroc", "noisy_vs_hard_auroc", "hard_retention",
           "hard_ret_at_ours_n", "relabel_acc")


def fold_manifest(df: pd.DataFrame, held_ids) -> pd.DataFrame:
    """The sub-run's manifest table: the held-out train videos become its test split, the
    other train and val videos keep their split, the original test split is left out (its
    labels are not audited here and must not reach the fold's encoder)."""
    out = df[df["split"] != "test"].copy()
    out.loc[out["video_id"].astype(str).isin(set(map(str, held_ids))), "split"] = "test"
    return out.reset_index(drop=True)


def audit_path(run: Path, seed: int, threads: int, encoder_steps: int | None = None) -> pd.DataFrame:
    """The default path on ``run``: given-label encoder, embed, `train --frozen`, `score`
    (``encoder_steps``: the encoder's batches, default its config's)."""
    import dataclasses

    from model.config import TrainConfig
    from model.embed import embed
    from model.given_encoder import GivenEncoderConfig, train_given_encoder
    from model.score import score
    from model.train import train

    enc = GivenEncoderConfig(seed=seed, threads=threads)
    if encoder_steps:
        enc = dataclasses.replace(enc, steps=encoder_steps)
    train_given_encoder(run, enc, progress=False)
    embed(run, progress=False, device="cpu", force=True)
    train(run, TrainConfig(seed=seed, threads=threads, size=enc.size, frozen=True), progress=False)
    return score(run, progress=False)


def cross_fit(run: Path, folds: int, seed: int, threads: int,
              encoder_steps: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """(scores of every train video, each from the sub-run that held it out; (n, C) video
    probabilities of those sub-runs' networks), rows in the order of the folds."""
    import torch

    from curation.audit.crossfit import fold_assignment
    from curation.data.manifest import Manifest, read_manifest, write_manifest

    m = read_manifest(run)
    train = m.df[m.df["split"] == "train"]
    fold = fold_assignment(np.asarray(m.label_index(train["label"])), folds=folds, seed=seed)
    scores, probs = [], []
    for k in range(folds):
        sub = run.parent / f"{run.name}_stack{folds}" / f"fold_{k}"
        sub.mkdir(parents=True, exist_ok=True)
        write_manifest(sub, Manifest(fold_manifest(m.df, train["video_id"][fold == k]), m.classes, m.root))
        s = audit_path(sub, seed, threads, encoder_steps)
        held = (s["split"] == "test").to_numpy()
        logits = torch.from_numpy(np.load(sub / "video_logits.npy")[held])
        scores.append(s[held])
        probs.append(torch.softmax(logits, -1).numpy())
        print(f"fold {k + 1}/{folds} scored ({int(held.sum())} videos)", flush=True)
    return pd.concat(scores, ignore_index=True), np.concatenate(probs)


def methods(in_sample: pd.DataFrame, stack: pd.DataFrame, probs: np.ndarray, classes) -> pd.DataFrame:
    """``detection_table``'s input over the train videos: our audit in-sample and
    cross-fitted, and cleanlab's filters on the cross-fitted video probabilities."""
    from scipy.stats import rankdata

    from curation.audit import baselines as B
    from curation.audit.metrics import ours_columns

    ins = in_sample.set_index("video_id").loc[stack["video_id"]].reset_index()
    index = {c: i for i, c in enumerate(classes)}
    labels = stack["label"].map(index).to_numpy()
    out = {"video_id": stack["video_id"].to_numpy()}
    for name, s in (("ours_in_sample", ins), ("ours_cross_fit", stack)):
        ours = ours_columns(s)
        out.update({f"{name}_{c}": ours[f"ours_{c}"].to_numpy() for c in ("score", "flag", "suggested")})
    # a score only (no flags): the mean of the two paths' percentile ranks
    out["ours_rank_blend_score"] = (rankdata(out["ours_in_sample_score"]) + rankdata(out["ours_cross_fit_score"])) / (
        2 * len(stack))
    for f in B.CLEANLAB_FILTERS:
        det = B.cleanlab_filter(labels, probs, filter_by=f)
        out[f"cl_{f}_score"], out[f"cl_{f}_flag"] = det.score, det.flag
        out[f"cl_{f}_suggested"] = np.asarray(classes)[det.suggested]
    return pd.DataFrame(out)


def accuracy(run: Path, m, stack: pd.DataFrame, probs: np.ndarray, truth: pd.DataFrame) -> dict:
    """Accuracy against the true labels of the cross-fitted networks on their held-out folds
    and of the in-sample network on the test split (labels it never saw); ``m``: RUN's manifest."""
    index = {c: i for i, c in enumerate(m.classes)}
    true = truth.set_index("video_id").loc[stack["video_id"], "true_label"].map(index).to_numpy()
    test = (m.df["split"] == "test").to_numpy()
    logits = np.load(run / "video_logits.npy")[test]
    return {"cross-fit": float(np.mean(probs.argmax(1) == true)),
            "in-sample": float(np.mean(logits.argmax(1) == m.df["true_label"][test].map(index).to_numpy()))}


def verdict_quality(scores: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Share of videos called hard that are truly hard and correctly labelled, and share of
    clean, easy videos flagged (noisy or hard-or-noisy)."""
    from curation.schema import FLAGGED_VERDICTS

    t = truth.set_index("video_id").loc[scores["video_id"]]
    noisy, hard = t["is_noisy"].to_numpy(bool), t["is_hard"].to_numpy(bool)
    verdict = scores["verdict"].to_numpy()
    called_hard = verdict == "hard"
    easy = ~noisy & ~hard
    flagged = np.isin(verdict, FLAGGED_VERDICTS)
    return {"hard_precision": float((hard & ~noisy)[called_hard].mean()) if called_hard.any() else float("nan"),
            "clean_easy_flagged": float(flagged[easy].mean()) if easy.any() else float("nan")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="synthetic run (made with synth defaults when absent)")
    p.add_argument("--n", type=int, default=2000, help="videos when the run is made here")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--encoder-steps", type=int, default=None, help="encoder batches (default: its config's)")
    p.add_argument("--md", help="write the results as markdown here")
    args = p.parse_args(argv)
    import torch

    from curation.audit.metrics import detection_table, hard_retention_at
    from curation.data import synth
    from curation.data.manifest import read_manifest

    if args.folds < 2:
        p.error("--folds must be 2 or more")
    torch.set_num_threads(args.threads)
    run = Path(args.run)
    if not (run / "manifest.parquet").exists():
        synth.generate(run, synth.SynthConfig(n=args.n, seed=args.seed, workers=2), progress=False)
    m = read_manifest(run)
    if "is_noisy" not in m.df.columns:
        raise SystemExit(f"{run} has no ground truth: make it with `dfer-curate synth`")
    t0 = time.time()
    in_sample = audit_path(run, args.seed, args.threads, args.encoder_steps)
    in_sample_s = time.time() - t0
    t0 = time.time()
    stack, probs = cross_fit(run, args.folds, args.seed, args.threads, args.encoder_steps)
    stack_s = time.time() - t0
    table = methods(in_sample, stack, probs, m.classes)
    truth = m.df[["video_id", "is_noisy", "is_hard", "true_label"]]
    det = detection_table(table, truth)
    det["hard_ret_at_ours_n"] = hard_retention_at(table, truth, det["method"],
                                                  int(table["ours_in_sample_flag"].sum()))
    acc = accuracy(run, m, stack, probs, truth)
    quality = {"in-sample": verdict_quality(in_sample[in_sample["split"] == "train"], truth),
               "cross-fit": verdict_quality(stack, truth)}
    pd.set_option("display.width", 200)
    print(det[list(COLUMNS)].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(quality, acc, f"in-sample {in_sample_s:.0f} s, cross-fit {stack_s:.0f} s")
    if args.md:
        write_markdown(Path(args.md), args, det, quality, acc, in_sample_s, stack_s, len(stack))
    return 0


def write_markdown(path: Path, args, det: pd.DataFrame, quality: dict, acc: dict, in_sample_s: float,
                   stack_s: float, n_train: int) -> None:
    import torch

    from curation.fileio import write_text

    def cell(v, column):
        if pd.isna(v):
            return "–"
        if column == "n_flagged":  # a count; the blend row has none, which makes the column float
            return f"{v:.0f}"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["# Cross-fitting the whole audit stack", "",
             "Written by `benchmarks/cross_fit_stack.py --md`; do not edit by hand. Reproduce with:", "", "```bash",
             f".venv/bin/python benchmarks/cross_fit_stack.py --run runs/{Path(args.run).name} --folds {args.folds} "
             f"--seed {args.seed} --threads {args.threads} --md {path.as_posix()}", "```", "",
             f"Machine: {os.cpu_count()} CPUs, {args.threads} torch thread(s), torch {torch.__version__}, Python "
             f"{platform.python_version()}. Synthetic defaults, seed {args.seed}; the table is over the {n_train} "
             "train videos (the only split with noise in this set).", "",
             f"Cost, same process: the in-sample path {in_sample_s / 60:.1f} min; {args.folds} cross-fitted stacks "
             f"{stack_s / 60:.1f} min ({stack_s / in_sample_s:.1f}x).", "",
             f"Accuracy against the true labels: the cross-fitted networks on their held-out folds "
             f"{acc['cross-fit']:.3f}, the in-sample network on the test split {acc['in-sample']:.3f}.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(r[c], c) for c in COLUMNS) + " |" for _, r in det.iterrows()]
    lines += ["", "| verdicts of | hard precision | clean, easy videos flagged |", "|---|---|---|"]
    lines += [f"| {k} | {v['hard_precision']:.3f} | {v['clean_easy_flagged']:.3f} |" for k, v in quality.items()]
    lines += ["", "`ours_in_sample`: the default path (encoder and network learned every train label, scores blended "
              "with training dynamics). `ours_cross_fit`: each train video scored by the sub-run that held its fold "
              "out. `ours_rank_blend`: the mean of the two paths' percentile ranks (a score only, no flags). "
              "`cl_*`: cleanlab's `find_label_issues` on the cross-fitted video probabilities. "
              "`hard_ret_at_ours_n`: hard retention had each method flagged as many videos as `ours_in_sample`."]
    write_text(path, "\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
