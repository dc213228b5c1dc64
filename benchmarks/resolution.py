"""Does the 32 px input starve the frame encoder? Linear and MLP probes on frozen features,
with the TRUE labels, of the same encoder at several input sizes, and of an encoder the tool
could train itself: on the set's GIVEN (noisy) train labels over each video's most salient
frames, no truth used.

Data (as benchmarks/representation.py): the probe set is a second rendering (seed + 1000),
each video's apex frame and neutral face in the trainer's input channels; the first 1,000
faces are the test set, training sets the next 1,300 / 2,600. The given-label encoder trains
on the default set (seed 0, 2,000 videos): the 1,400 train videos' labels (20 % wrong) and,
per video, the ``--per-video`` frames that moved most from neutral (the tool's saliency).

Candidates, at each ``--px`` size:
- diff: the raw difference-from-neutral channel, no encoder;
- true_labels: SmallCNN trained on the probe's own labelled faces (±px/32 shift), frozen;
- given_labels: SmallCNN trained on the audited set's given labels as above, frozen.

    .venv/bin/python benchmarks/resolution.py --md reports/RESOLUTION.md
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.data_ceiling import fit_net, render_each_video, render_faces  # noqa: E402
from benchmarks.representation import _cached, features, grey_video, probe, probe_report_header  # noqa: E402


def _salient_frames(job, *, per_video: int, gap: int = 0):
    """The ``per_video`` most salient grey frames of one synthetic video and its neutral face;
    with ``gap``, at least that many frames apart (as `score --cross-fit` and
    `pretrain --given-labels` pick them: model.frame_folds.salient_frames)."""
    from model.data import FrameStore, frame_saliency
    from model.frame_folds import salient_frames

    small = grey_video(job)
    sal = frame_saliency(small)
    if gap:
        top = np.sort(salient_frames(FrameStore(small, np.array([0]), np.array([len(small)]), sal, ["v"]),
                                     per_video, gap)[0])
    else:
        top = np.sort(np.argsort(-sal, kind="stable")[:per_video])
    return small[top], small[:3].mean(0)


def given_label_faces(cfg, size: int, per_video: int, workers: int, splits: tuple[str, ...] = ("train",),
                      gap: int = 0) -> dict:
    """Trainer inputs and GIVEN labels of the most salient frames of the videos of ``splits``
    (train and val: what `pretrain --given-labels` learns; every split: what `score
    --cross-fit` sees)."""
    from model.data import input_channels

    truth, out = render_each_video(partial(_salient_frames, per_video=per_video, gap=gap), cfg, size, workers,
                                   chunksize=16)
    index = {c: i for i, c in enumerate(cfg.classes)}
    split = truth["split"].astype(str).to_numpy()
    train = np.flatnonzero(np.isin(split, splits))
    frames = np.stack([out[i][0] for i in train]) / 255.0  # (V, k, H, W)
    neutral = np.stack([out[i][1] for i in train])[:, None] / 255.0
    x = np.stack(input_channels(frames, np.broadcast_to(neutral, frames.shape)), axis=2)
    given = truth["label"].map(index).to_numpy()[train]
    true = truth["true_label"].map(index).to_numpy()[train]
    return {"x": x.reshape(-1, 2, size, size).astype(np.float32), "y": np.repeat(given, per_video),
            "noise": np.float64(np.mean(given != true))}


def split_key(splits: tuple[str, ...]) -> str:
    """The cache-file suffix of a set of label splits (the names earlier runs wrote kept)."""
    return {("train",): "", ("train", "val", "test"): "_all"}.get(tuple(splits), "_" + "-".join(splits))


def split_words(arg: str) -> str:
    names = ["train", "val", "test"] if arg == "all" else arg.split(",")
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--px", default="32,64", help="input sizes (the synthetic set renders at 64 px)")
    p.add_argument("--n", type=int, default=2000, help="videos of the audited set whose given labels train an encoder")
    p.add_argument("--sizes", default="1300,2600", help="labelled training faces of the probes")
    p.add_argument("--test-faces", type=int, default=1000)
    p.add_argument("--per-video", type=int, default=6, help="salient frames per video for the given-label encoder")
    p.add_argument("--given-splits", default="train",
                   help="whose given labels train that encoder: comma-separated splits, or all (default train)")
    p.add_argument("--gap", type=int, default=0, help="those salient frames at least this many frames apart (0: top-k)")
    p.add_argument("--steps", type=int, default=1000, help="batches of 32 for a true-label encoder (as data_ceiling)")
    p.add_argument("--given-steps", type=int, default=3000, help="batches of 32 for the given-label encoder")
    p.add_argument("--given-loss", default="ce,gce", help="losses of the given-label encoders (ce, gce: robust to wrong labels)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--workers", type=int, default=2, help="render processes")
    p.add_argument("--cache", default=None, help="folder to keep the rendered sets between runs")
    p.add_argument("--md", help="write the results as markdown here (e.g. reports/RESOLUTION.md)")
    args = p.parse_args(argv)
    from curation.data.synth import SynthConfig
    from curation.schema import SPLITS

    given_splits = SPLITS if args.given_splits == "all" else tuple(args.given_splits.split(","))
    if not given_splits or any(s not in SPLITS for s in given_splits):
        p.error(f"--given-splits: comma-separated splits among {', '.join(SPLITS)}, or all; got {args.given_splits}")

    t0 = time.time()
    pxs = [int(s) for s in args.px.split(",") if s]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cache = Path(args.cache) if args.cache else None
    cfg = SynthConfig(n=args.n, seed=args.seed)
    pcfg = dataclasses.replace(cfg, n=max(sizes) + args.test_faces, seed=args.seed + 1000)
    index = {c: i for i, c in enumerate(cfg.classes)}
    probes, given = {}, {}
    for px in pxs:  # render everything before torch starts its threads (the render pool forks)
        def make_probe(px=px):
            x, truth = render_faces(pcfg, px, args.workers)
            return {"x": x, "y": truth["true_label"].map(index).to_numpy()}

        probes[px] = _cached(cache / f"probe_{pcfg.n}_{pcfg.seed}_{px}.npz" if cache else None, make_probe)
        key = (f"given_{cfg.n}_{cfg.seed}_{px}_{args.per_video}" + split_key(given_splits)
               + (f"_gap{args.gap}" if args.gap else ""))
        given[px] = _cached(cache / f"{key}.npz" if cache else None,
                            lambda px=px: given_label_faces(cfg, px, args.per_video, args.workers, given_splits,
                                                            args.gap))
    render_s = time.time() - t0
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for px in pxs:
        x, y = probes[px]["x"], probes[px]["y"]
        order = np.random.default_rng(1).permutation(len(x))
        test, pool = order[: args.test_faces], order[args.test_faces:]
        shift = max(1, px // 32)
        given_feats = {}
        for loss in [name for name in args.given_loss.split(",") if name]:
            t1 = time.time()
            enc = fit_net(given[px]["x"], given[px]["y"], len(cfg.classes), steps=args.given_steps, seed=args.seed,
                          shift=shift, loss=loss)
            name = "given_labels" if loss == "ce" else f"given_labels_{loss}"
            given_feats[name] = (features(enc[0], x), time.time() - t1)
        for n in sizes:
            fit = pool[:n]
            t1 = time.time()
            net = fit_net(x[fit], y[fit], len(cfg.classes), steps=args.steps, seed=args.seed, shift=shift)
            cands = {"diff": (x[:, 1].reshape(len(x), -1), 0.0),
                     "true_labels": (features(net[0], x), time.time() - t1), **given_feats}
            for name, (f, secs) in cands.items():
                r = probe(f[fit], y[fit], f[test], y[test], seed=args.seed)
                rows.append({"px": px, "candidate": name, "faces": n, "linear": r.linear, "mlp": r.mlp,
                             "train_s": secs})
                print(rows[-1], flush=True)
    total = time.time() - t0
    print(f"total {total:.0f} s (rendering {render_s:.0f} s)")
    if args.md:
        noise = {px: float(given[px]["noise"]) for px in pxs}
        write_markdown(Path(args.md), args, rows, noise, total, render_s,
                       shlex.join(argv if argv is not None else sys.argv[1:]))
    return 0


def write_markdown(path: Path, args, rows, noise, total, render_s, command) -> None:
    sizes = list(dict.fromkeys(r["faces"] for r in rows))
    cell = {(r["px"], r["candidate"], r["faces"]): r for r in rows}
    lines = [
        *probe_report_header("Input size and label source of the frame encoder", "resolution.py", command, args,
                             total, render_s),
        "| px | candidate | " + " | ".join(f"linear @ {n}" for n in sizes) + " | "
        + " | ".join(f"MLP @ {n}" for n in sizes) + " |",
        "|" + "---|" * (2 + 2 * len(sizes)),
    ]
    for px, name in dict.fromkeys((r["px"], r["candidate"]) for r in rows):
        lin = " | ".join(f"{cell[(px, name, n)]['linear']:.3f}" for n in sizes)
        mlp = " | ".join(f"{cell[(px, name, n)]['mlp']:.3f}" for n in sizes)
        lines.append(f"| {px} | {name} | {lin} | {mlp} |")
    lines += [
        "",
        "- **diff**: the raw difference-from-neutral channel, no encoder;",
        f"- **true_labels**: the trainer's SmallCNN trained on the probe's own labelled faces "
        f"({args.steps} batches of 32, shift of px/32 pixels), frozen; an oracle (the tool has no true labels);",
        f"- **given_labels**: the same encoder trained on the default set's given "
        f"{split_words(args.given_splits)} labels "
        f"(share wrong: {', '.join(f'{v:.2f} at {k} px' for k, v in noise.items())}) over each video's "
        f"{args.per_video} most salient frames{f' at least {args.gap} frames apart' if args.gap else ''} "
        f"({args.given_steps} batches of 32), frozen: what the tool "
        "can train without any truth;",
        *(["- **given_labels_gce**: the same with the generalized cross-entropy (q = 0.7), which bounds what a "
           "wrong label can pull (the loss of `score --cross-fit`)."] if "gce" in args.given_loss.split(",") else []),
        "",
    ]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
