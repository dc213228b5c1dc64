"""How much can any frame model of this size learn from the synthetic set? An upper bound
for issue 3's detection targets, and a learning curve that says whether data is the limit.

1. Ceiling: the shipped frame encoder (SmallCNN, 32 px grey + difference from neutral) sees
   each video's apex frame (its position taken from the generator's truth, which the tool
   never has) and trains on the TRUE labels of the other half of the train split plus val and
   test. Every train video is scored out of fold, averaged over seeds, and the margin of the
   best other class over the given label ranks the noisy labels. No noise in training, no
   memorization, the apex known: an estimate of the best ranking a model of this size can give
   (the tool sees every frame, which one apex frame does not, so not a strict bound).
2. Learning curve: the same classifier on true labels, trained on growing sets of a second
   rendering (other seed), tested on held-out faces (1,000 by default). Accuracy that keeps
   rising with the number of training faces means the set is too small for this encoder, not
   too hard.

    .venv/bin/python benchmarks/data_ceiling.py --md reports/DATA_CEILING.md
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAIRS = (("Sad", "Neutral"), ("Fear", "Surprise"), ("Angry", "Disgust"))


def _apex_and_neutral(job):
    """Grey (size, size) apex frame and neutral reference (mean of the first 3 frames) of one video."""
    from PIL import Image

    from curation.data import synth

    cfg, row, index, size = job
    spec = synth.video_spec_for(row, cfg, index)
    frames = synth.render_video(spec).astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    apex = frames[(spec.apex[0] + spec.apex[1]) // 2]
    neutral = frames[:3].mean(0)

    def shrink(img):
        return np.asarray(Image.fromarray(img.astype(np.float32)).resize((size, size), Image.BOX), np.float32)

    return shrink(apex), shrink(neutral)


def render_each_video(render, cfg, size: int, workers: int, *, chunksize: int = 32):
    """(truth table, [render((cfg, truth row, index, size)) for every video]) in a process pool."""
    from curation.data import synth

    truth = synth.sample_truth(cfg)
    jobs = [(cfg, truth.iloc[i], i, size) for i in range(cfg.n)]
    if workers <= 1:
        return truth, [render(j) for j in jobs]
    with ProcessPoolExecutor(workers) as ex:
        return truth, list(ex.map(render, jobs, chunksize=chunksize))


def render_faces(cfg, size: int, workers: int):
    """(inputs (n, 2, size, size) float32 as the trainer builds them, truth table)."""
    from model.data import input_channels

    truth, out = render_each_video(_apex_and_neutral, cfg, size, workers)
    apex = np.stack([a for a, _ in out]) / 255.0
    neutral = np.stack([b for _, b in out]) / 255.0
    x = np.stack(input_channels(apex, neutral), axis=1)  # as the trainer's batches
    return x.astype(np.float32), truth


def fit_predict(x_fit, y_fit, x_eval, classes: int, *, steps: int, seed: int):
    """Softmax probabilities on x_eval of the shipped frame encoder + a linear head, trained
    with AdamW and flips for ``steps`` batches of 32."""
    import torch

    net = fit_net(x_fit, y_fit, classes, steps=steps, seed=seed)
    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(x_eval)), 1).numpy()


def fit_net(x_fit, y_fit, classes: int, *, steps: int, seed: int, shift: int = 0, loss: str = "ce"):
    """The shipped frame encoder + a linear head, trained (model.frame_folds.fit_frame_classifier;
    torch is imported only here, after the render pool has forked)."""
    from model.frame_folds import fit_frame_classifier

    return fit_frame_classifier(x_fit, y_fit, classes, steps=steps, seed=seed, shift=shift, loss=loss)


def ceiling(x, truth, classes: list[str], *, seeds: int, steps: int) -> dict:
    import pandas as pd

    from curation.audit.agreement import video_margin_score
    from curation.audit.metrics import detection_metrics, noisy_vs_hard_by_kind

    index = {c: i for i, c in enumerate(classes)}
    true = truth["true_label"].map(index).to_numpy()
    given = truth["label"].map(index).to_numpy()
    train = np.flatnonzero(truth["split"].to_numpy() == "train")
    other = np.flatnonzero(truth["split"].to_numpy() != "train")
    half = np.random.default_rng(0).permutation(len(train)) % 2
    probs = np.zeros((len(truth), len(classes)))
    for fold in (0, 1):
        fit = np.concatenate([train[half != fold], other])
        held = train[half == fold]
        for seed in range(seeds):
            probs[held] += fit_predict(x[fit], true[fit], x[held], len(classes), steps=steps, seed=seed) / seeds
    p, lab = probs[train], given[train]
    noisy = truth["is_noisy"].to_numpy()[train].astype(bool)
    hard = truth["is_hard"].to_numpy()[train].astype(bool)
    score = video_margin_score(p, lab)  # (1 + best other class prob - given label prob) / 2
    cuts = [detection_metrics(noisy, score > t, score, is_hard=hard) for t in np.linspace(0.025, 0.975, 77)]
    best = max(cuts, key=lambda d: d["f1"])
    by_kind = {}
    kinds = noisy_vs_hard_by_kind(pd.DataFrame({"video_id": truth["video_id"].to_numpy()[train], "ceiling_score": score}),
                                  truth, ["ceiling"]).iloc[0]
    kind = truth["noise_kind"].astype(str).to_numpy()[train]
    for k in ("uniform", "structured"):
        sel = (kind == k) | ~noisy
        by_kind[k] = detection_metrics(noisy[sel], score[sel] > 0.5, score[sel])["auroc"]
    return {"fit_faces": int(len(train) // 2 + len(other)), "oof_accuracy": float(np.mean(p.argmax(1) == true[train])),
            "auroc": best["auroc"], "best_f1": best["f1"], "best_precision": best["precision"],
            "best_recall": best["recall"], "best_hard_retention": best["hard_retention"],
            "auroc_uniform": by_kind["uniform"], "auroc_structured": by_kind["structured"],
            "noisy_vs_hard_auroc": float(kinds["all"]),
            "noisy_vs_hard_by_kind": {k: float(v) for k, v in kinds.drop(["method", "all"]).items()
                                      if not k.startswith("n_")}}


def learning_curve(x, truth, classes: list[str], sizes: list[int], *, steps: int, test_faces: int) -> list[dict]:
    index = {c: i for i, c in enumerate(classes)}
    true = truth["true_label"].map(index).to_numpy()
    easy = ~truth["is_hard"].to_numpy().astype(bool)
    order = np.random.default_rng(1).permutation(len(truth))
    test, pool = order[:test_faces], order[test_faces:]
    rows = []
    for n in sizes:
        fit = pool[:n]
        pred = fit_predict(x[fit], true[fit], x[test], len(classes), steps=steps, seed=0).argmax(1)
        ok = pred == true[test]
        row = {"train_faces": int(n), "accuracy": float(ok.mean()), "easy_accuracy": float(ok[easy[test]].mean())}
        for a, b in PAIRS:
            if a in index and b in index:
                sel = np.isin(true[test], [index[a], index[b]]) & easy[test]
                row[f"{a}/{b} error"] = float(np.mean(~ok[sel])) if sel.any() else float("nan")
        rows.append(row)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000, help="videos of the audited set (synth default 2000)")
    p.add_argument("--curve", default="1300,2600,5200", help="training-set sizes of the learning curve ('' for none)")
    p.add_argument("--seeds", type=int, default=2, help="models averaged per fold of the ceiling")
    p.add_argument("--test-faces", type=int, default=1000, help="held-out faces of the learning curve")
    p.add_argument("--steps", type=int, default=1000, help="training batches per model (1000 = 25 epochs of 1,300 faces)")
    p.add_argument("--size", type=int, default=32, help="frame size (the trainer's default)")
    p.add_argument("--seed", type=int, default=0, help="synth seed of the audited set (the curve uses seed + 1000)")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    p.add_argument("--md", help="write the results as markdown here (e.g. reports/DATA_CEILING.md)")
    args = p.parse_args(argv)
    import torch

    from curation.data.synth import SynthConfig

    t0 = time.time()
    cfg = SynthConfig(n=args.n, seed=args.seed)
    classes = list(cfg.classes)
    sizes = [int(s) for s in args.curve.split(",") if s]
    # render both sets before torch starts its threads (the render pool forks)
    x, truth = render_faces(cfg, args.size, args.workers)
    if sizes:
        cfg2 = dataclasses.replace(cfg, n=max(sizes) + args.test_faces, seed=args.seed + 1000)
        x2, truth2 = render_faces(cfg2, args.size, args.workers)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    ceil = ceiling(x, truth, classes, seeds=args.seeds, steps=args.steps)
    print("ceiling:", {k: round(v, 3) if isinstance(v, float) else v for k, v in ceil.items()}, flush=True)
    curve = []
    if sizes:
        curve = learning_curve(x2, truth2, classes, sizes, steps=args.steps, test_faces=args.test_faces)
        for row in curve:
            print("curve:", {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    total = time.time() - t0
    print(f"total {total:.0f} s")
    if args.md:
        write_markdown(Path(args.md), args, ceil, curve, total, shlex.join(argv if argv is not None else sys.argv[1:]))
    return 0


def write_markdown(path: Path, args, ceil: dict, curve: list[dict], total: float, command: str) -> None:
    import torch

    lines = [
        "# How far a frame model of this size can go on the synthetic set", "",
        "Written by `benchmarks/data_ceiling.py --md`; do not edit by hand. Reproduce with:", "",
        "```bash", f".venv/bin/python benchmarks/data_ceiling.py {command}".rstrip(), "```", "",
        f"Machine: {os.cpu_count()} CPUs, torch {torch.__version__}, Python {platform.python_version()}; "
        f"{total / 60:.1f} min.", "",
        "## Ceiling for noise detection", "",
        f"The shipped frame encoder on each video's **apex frame** (known from the generator), trained on the "
        f"**true labels** of {ceil['fit_faces']} faces (the other half of the train split, plus val and test), "
        f"scores every train video out of fold ({args.seeds} seeds averaged, {args.steps} batches each). "
        "The tool trains on noisy labels, does not know where the apex is and scores its own training videos; it does see every frame, which one apex frame does not. So this is an estimate of the ceiling, not a proof.", "",
        "| out-of-fold accuracy | AUROC | AUROC, uniform flips | AUROC, confusion-pair flips | best F1 | "
        "its precision | its recall | its hard retention |", "|" + "---|" * 8,
        f"| {ceil['oof_accuracy']:.3f} | {ceil['auroc']:.3f} | {ceil['auroc_uniform']:.3f} | "
        f"{ceil['auroc_structured']:.3f} | {ceil['best_f1']:.3f} | {ceil['best_precision']:.3f} | "
        f"{ceil['best_recall']:.3f} | {ceil['best_hard_retention']:.3f} |", "",
        "Best F1 is the best over 77 thresholds on the margin, chosen with the truth.", "",
        "## Ceiling for the claim", "",
        "Noisy-vs-hard AUROC of the same out-of-fold margin (truly mislabelled train videos against "
        "hard, correctly labelled ones), over all hard videos and against each kind apart. A model that "
        "never saw a wrong label, looking at the apex: how far a single prediction goes in telling a wrong "
        "label from a difficult video.", "",
        "| all | " + " | ".join(ceil["noisy_vs_hard_by_kind"]) + " |", "|" + "---|" * (1 + len(ceil["noisy_vs_hard_by_kind"])),
        f"| {ceil['noisy_vs_hard_auroc']:.3f} | " + " | ".join(f"{v:.3f}" for v in ceil["noisy_vs_hard_by_kind"].values())
        + " |", "",
    ]
    if curve:
        keys = [k for k in curve[0] if k.endswith("error")]
        lines += [
            f"## Learning curve (true labels, apex frames, {args.test_faces} test faces)", "",
            "| training faces | accuracy | accuracy, easy videos | " + " | ".join(f"easy {k}" for k in keys) + " |",
            "|" + "---|" * (3 + len(keys)),
            *[f"| {r['train_faces']} | {r['accuracy']:.3f} | {r['easy_accuracy']:.3f} | "
              + " | ".join(f"{r[k]:.3f}" for k in keys) + " |" for r in curve], "",
            "Every size gets the same number of training batches.", "",
        ]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
