"""Does a cross-fitted frame classifier audit every split better than the in-sample network?

K frame classifiers (model/frame_folds.py, what `score --cross-fit K` runs: the shipped
SmallCNN + a linear head) are trained on the GIVEN labels of the most salient frames of K-1
folds of ALL videos (every split) and score the held-out fold's clips (the same 8 uniform + 4
key clips `score` uses, each the mean of its frames' probabilities). Every video is then judged by a model that never saw its label.
Our audit (label support, confident-joint flag counts, clip routing) and the baselines that
need only probabilities (cleanlab filters and ranks, one centred clip) run on the SAME
out-of-fold probabilities; when the run has a frame-embedding cache (`dfer-curate embed`),
the neighbour vote (knn_vote) runs on it with the SAME folds and clips. The table carries
noisy-vs-hard AUROC, the number the product lives by.

    .venv/bin/python benchmarks/out_of_fold.py --run runs/default0 --md reports/OUT_OF_FOLD.md

RUN is a synthetic run (`dfer-curate synth`, which writes the truth); its frames are decoded
into RUN/cache once.
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


def embedding_features(run, store, starts, *, frames: int, stride: int):
    """(N, 2D) neighbour-vote features of the same clips from RUN's frame-embedding cache,
    and what they are; or None and why there are none."""
    from curation.audit.neighbours import video_features
    from curation.errors import CurationError

    try:
        emb, meta = run.read_embeddings()
    except CurationError as exc:
        return None, str(exc)
    if meta["video_ids"] != list(store.video_ids) or not np.array_equal(meta["lengths"], store.lengths):
        return None, f"{run.embeddings} was made for other videos"
    return (video_features(emb, meta["offsets"], starts, frames=frames, stride=stride),
            f"encoder {meta['encoder_sha256'][:12]}")


def methods_table(df: pd.DataFrame, classes, clip_probs: np.ndarray, labels: np.ndarray, *, fold=None,
                  features=None) -> pd.DataFrame:
    """``detection_table``'s input: ours and the probability-only baselines, one row per video;
    with ``features`` (N, D) and ``fold`` also the neighbour vote (knn_vote)."""
    from curation.audit import agreement as A
    from curation.audit import baselines as B

    res = A.audit_out_of_fold(clip_probs, labels)
    video = clip_probs.mean(1)
    cols = {"video_id": df["video_id"].to_numpy(), "ours_score": res["noise_score"],
            "ours_flag": res["verdict"] == "noisy", "ours_suggested": np.asarray(classes)[res["suggested"]],
            "ours_or_undecided_score": res["noise_score"],
            "ours_or_undecided_flag": np.isin(res["verdict"], ["noisy", "hard-or-noisy"])}
    neutral = A.neutral_class(classes)
    if neutral is not None:  # a measured variant: clips that look neutral are no evidence against an expression
        aware = A.audit_out_of_fold(clip_probs, labels, best_clip_weight=0.0, neutral=neutral)
        cols["ours_neutral_aware_score"] = aware["noise_score"]
        cols["ours_neutral_aware_flag"] = aware["verdict"] == "noisy"
    for f in B.CLEANLAB_FILTERS:
        d = B.cleanlab_filter(labels, video, filter_by=f)
        cols[f"cl_{f}_score"], cols[f"cl_{f}_flag"] = d.score, d.flag
    for r in ("self_confidence", "normalized_margin"):
        d = B.cleanlab_rank(labels, video, method=r)
        cols[f"cl_{r}_score"], cols[f"cl_{r}_flag"] = d.score, d.flag
    d = B.single_clip(labels, clip_probs, clip=clip_probs.shape[1] // 4)  # a centred uniform clip
    cols["single_clip_score"], cols["single_clip_flag"] = d.score, d.flag
    if features is not None:
        d = B.knn_vote(labels, features, fold, num_classes=len(classes))
        cols["knn_vote_score"], cols["knn_vote_flag"] = d.score, d.flag
        cols["knn_vote_suggested"] = np.asarray(classes)[d.suggested]
    return pd.DataFrame(cols), res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="a synthetic run (dfer-curate synth)")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--steps", type=int, default=1000, help="training batches of 32 frames per fold")
    p.add_argument("--per-video", type=int, default=4, help="salient training frames per video")
    p.add_argument("--shift", type=int, default=1, help="random translation in pixels while training")
    p.add_argument("--loss", choices=["ce", "gce"], default="ce", help="fold classifiers' loss (gce: robust to wrong labels)")
    p.add_argument("--size", type=int, default=32, help="frame size in pixels (the synthetic set renders at 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core machine)")
    p.add_argument("--md", help="write the results as markdown here (e.g. reports/OUT_OF_FOLD.md)")
    p.add_argument("--save-probs", help="also keep the out-of-fold clip probabilities, starts and folds here (npz)")
    args = p.parse_args(argv)
    import torch

    from curation.audit import crossfit
    from curation.audit.metrics import detection_table
    from curation.audit.neighbours import DEFAULT_K
    from curation.runs import RunDir
    from model import data, frame_folds, oof

    torch.set_num_threads(args.threads)
    t0 = time.time()
    run = RunDir(args.run)
    m = run.read_manifest()
    df = m.df
    if "true_label" not in df.columns:
        raise SystemExit(f"{run.path} has no ground truth: make it with `dfer-curate synth`")
    store = data.load_frames(m, size=args.size, grey=True, cache_dir=run.path / "cache", progress=True)
    labels = np.asarray(m.label_index(df["label"]), np.int64)
    cfg = oof.OofConfig()
    starts = oof.clip_layout(store, cfg)
    fold = crossfit.manifest_folds(m, crossfit.CrossfitConfig(folds=args.folds, seed=args.seed))
    fcfg = frame_folds.FrameFoldsConfig(folds=args.folds, size=args.size, per_video=args.per_video, steps=args.steps,
                                        shift=args.shift, loss=args.loss, seed=args.seed, clips=cfg)
    cp = frame_folds.cross_fitted_clip_probs(store, labels, fold, starts, fcfg, classes=len(m.classes), progress=True)
    if args.save_probs:
        np.savez(args.save_probs, clip_probs=cp, starts=starts, fold=fold, labels=labels)
    features, what = embedding_features(run, store, starts, frames=cfg.frames, stride=cfg.stride)
    knn_note = (f"`knn_vote`: the neighbour vote on the frame embeddings ({what}), same folds and clips, "
                f"{DEFAULT_K} neighbours." if features is not None else f"`knn_vote` left out: {what}.")
    print(knn_note)
    table, res = methods_table(df, m.classes, cp, labels, fold=fold, features=features)
    truth = df[["video_id", "is_noisy", "is_hard", "true_label"]]
    train = (df["split"] == "train").to_numpy()
    det = detection_table(table[train].reset_index(drop=True), truth)
    true = np.asarray(m.label_index(df["true_label"]))
    verdicts = pd.Series(res["verdict"]).value_counts().to_dict()
    minutes = (time.time() - t0) / 60
    print(det.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"out-of-fold accuracy against the truth {np.mean(cp.mean(1).argmax(1) == true):.3f}; verdicts {verdicts}; "
          f"{minutes:.1f} min")
    if args.md:
        from curation.fileio import write_text

        synth = run.load_config().get("synth", {})
        shown = f"runs/{run.path.name}"  # the run as the README's commands name it
        cols = ["method", "n_flagged", "precision", "recall", "f1", "auroc", "noisy_vs_hard_auroc", "hard_retention",
                "relabel_acc"]
        lines = ["# Out-of-fold audit with a cross-fitted frame classifier", "",
                 "Written by `benchmarks/out_of_fold.py --md`; do not edit by hand. Reproduce with:", "", "```bash",
                 f".venv/bin/dfer-curate synth --out {shown} --n {synth.get('n', len(df))} --seed {synth.get('seed', 0)}",
                 f".venv/bin/python benchmarks/out_of_fold.py --run {shown} --folds {args.folds} --steps {args.steps} "
                 f"--per-video {args.per_video} --shift {args.shift} --size {args.size} --loss {args.loss} --md {args.md}", "```", "",
                 f"Machine: {os.cpu_count()} CPUs, {args.threads} torch thread(s), torch {torch.__version__}, "
                 f"Python {platform.python_version()}; {minutes:.1f} min. Run: {len(df)} videos, every split scored "
                 f"out of fold; the table is over the train split (the only one with noise in this set).", "",
                 f"Out-of-fold accuracy against the true labels: {np.mean(cp.mean(1).argmax(1) == true):.3f}. "
                 f"Verdicts over every split: {', '.join(f'{k} {v}' for k, v in verdicts.items())}.", "",
                 "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for _, r in det.iterrows():
            lines.append("| " + " | ".join(str(r[c]) if c == "method" else
                                           ("–" if pd.isna(r[c]) else f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]))
                                           for c in cols) + " |")
        lines += ["", "`ours` flags the verdict noisy; `ours_or_undecided` also flags hard-or-noisy (the same score: "
                  "the clips' mean and best support for the label). `ours_neutral_aware`: the same audit with "
                  "clips that look Neutral counted as no evidence against an expression label "
                  "(`label_support_score(neutral=...)`, not the default). "
                  f"{knn_note} The in-sample path with training dynamics on this set: reports/MODEL_QUALITY_PIXELS.md."]
        write_text(args.md, "\n".join(lines) + "\n")
        print(f"wrote {args.md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
