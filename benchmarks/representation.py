"""Which frame representation should the audit model start from? Linear and small-MLP probes
on FROZEN features with the TRUE labels, at growing numbers of labelled faces.

Data (as benchmarks/data_ceiling.py): the probe set is a second rendering of the synthetic
set (seed + 1000): each video's apex frame and neutral face at 32 px, in the trainer's input
channels; the first 1,000 faces are the test set, training sets are the next 1,300 / 2,600 /
5,200. Self-supervised candidates pretrain on every frame of the default set (seed 0, 2,000
videos x 48 frames), labels unused, as `dfer-curate pretrain` would on a user's run.

Candidates:
- diff pixels: the raw difference-from-neutral channel (1,024 numbers), no encoder;
- random init: the trainer's SmallCNN, untrained;
- supervised: the same encoder trained end to end on the probe's own labelled faces
  (a fresh one per size), then frozen;
- neutral code: self-supervised (model/pretrain.py): rebuild the difference from neutral
  out of the neutral face plus a small code of the frame.

    .venv/bin/python benchmarks/representation.py --md reports/REPRESENTATION.md
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.data_ceiling import fit_net, render_each_video, render_faces  # noqa: E402


def grey_video(job) -> np.ndarray:
    """Every frame of one synthetic video, grey float32 in [0, 255], BOX-shrunk to ``size``."""
    from PIL import Image

    from curation.data import synth

    cfg, row, index, size = job
    frames = synth.render_video(synth.video_spec_for(row, cfg, index)).astype(np.float32)
    grey = frames @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.stack([np.asarray(Image.fromarray(g).resize((size, size), Image.BOX), np.float32) for g in grey])


def _video_frames(job):
    """Every frame of one synthetic video, grey uint8 at ``size`` (as the decoded-frame cache)."""
    return grey_video(job).round().clip(0, 255).astype(np.uint8)


def render_corpus(cfg, size: int, workers: int):
    """A pretraining Corpus of every frame of the synthetic set ``cfg`` (labels dropped)."""
    from model.data import FrameStore, frame_saliency
    from model.pretrain import Corpus

    truth, videos = render_each_video(_video_frames, cfg, size, workers, chunksize=16)
    lengths = np.array([len(v) for v in videos], np.int64)
    store = FrameStore(np.concatenate(videos), np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths,
                       np.concatenate([frame_saliency(v) for v in videos]), list(truth["video_id"]))
    return Corpus.from_store(store)


def _cached(path: Path | None, make):
    """``make()`` -> dict of arrays, stored at ``path`` (npz) for the next run."""
    if path is not None and path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    out = make()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
    return out


@dataclasses.dataclass
class Probe:
    linear: float
    mlp: float


def probe(f_fit, y_fit, f_test, y_test, *, seed: int) -> Probe:
    """Accuracy on the test faces of a logistic regression and of a one-hidden-layer MLP on
    standardized frozen features."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(f_fit)
    a, b = sc.transform(f_fit), sc.transform(f_test)
    lin = LogisticRegression(C=0.1, max_iter=3000).fit(a, y_fit)
    with warnings.catch_warnings():  # a fixed budget of 200 epochs, converged or not
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((256,), alpha=1e-1, max_iter=200, random_state=seed).fit(a, y_fit)
    return Probe(float(np.mean(lin.predict(b) == y_test)), float(np.mean(mlp.predict(b) == y_test)))


def features(encoder, x: np.ndarray) -> np.ndarray:
    import torch

    encoder.eval()
    with torch.no_grad():
        return np.concatenate([encoder(torch.from_numpy(x[i: i + 512])).numpy() for i in range(0, len(x), 512)])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1300,2600,5200", help="labelled training faces of the probes")
    p.add_argument("--test-faces", type=int, default=1000)
    p.add_argument("--corpus-n", type=int, default=2000, help="videos of the unlabelled pretraining corpus (synth default)")
    p.add_argument("--steps", type=int, default=3000, help="pretraining batches")
    p.add_argument("--sup-steps", type=int, default=1000, help="batches of the supervised encoder (as data_ceiling)")
    p.add_argument("--candidates", default="diff,random,supervised,neutral_code")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: on a shared 2-core machine two threads ran 9x slower)")
    p.add_argument("--workers", type=int, default=2, help="render processes")
    p.add_argument("--cache", default=None, help="folder to keep the rendered sets between runs")
    p.add_argument("--md", help="write the results as markdown here (e.g. reports/REPRESENTATION.md)")
    args = p.parse_args(argv)
    from curation.data.synth import SynthConfig

    t0 = time.time()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cache = Path(args.cache) if args.cache else None
    cfg = SynthConfig(n=args.corpus_n, seed=args.seed)
    pcfg = dataclasses.replace(cfg, n=max(sizes) + args.test_faces, seed=args.seed + 1000)

    def make_probe_set():
        x, truth = render_faces(pcfg, 32, args.workers)
        index = {c: i for i, c in enumerate(cfg.classes)}
        return {"x": x, "y": truth["true_label"].map(index).to_numpy()}

    def make_corpus():
        c = render_corpus(cfg, 32, args.workers)
        return {"frames": c.frames, "video": c.video, "neutral": c.neutral, "saliency": c.saliency}

    # render before torch starts its threads (the render pool forks)
    ps = _cached(cache / f"probe_{pcfg.n}_{pcfg.seed}.npz" if cache else None, make_probe_set)
    cands = args.candidates.split(",")
    corpus = None
    if any(c not in ("diff", "random", "supervised", "supervised_shift") for c in cands):
        from model.pretrain import Corpus

        corpus = Corpus(**_cached(cache / f"corpus_{cfg.n}_{cfg.seed}.npz" if cache else None, make_corpus))
    render_s = time.time() - t0
    import torch

    torch.set_num_threads(args.threads)
    x, y = ps["x"], ps["y"]
    order = np.random.default_rng(1).permutation(len(x))
    test, pool = order[: args.test_faces], order[args.test_faces:]
    rows, timing = [], {}
    for cand in cands:
        t1 = time.time()
        fixed = None  # features that do not depend on the number of labelled faces
        if cand == "diff":
            fixed = x[:, 1].reshape(len(x), -1)
        elif cand == "random":
            from model.network import SmallCNN

            torch.manual_seed(args.seed)
            fixed = features(SmallCNN(2, 32, 128), x)
        elif cand not in ("supervised", "supervised_shift"):
            fixed = features(pretrain_candidate(cand, corpus, args), x)
        timing[cand] = time.time() - t1
        for n in sizes:
            fit = pool[:n]
            if cand in ("supervised", "supervised_shift"):
                net = fit_net(x[fit], y[fit], len(cfg.classes), steps=args.sup_steps, seed=args.seed,
                              shift=1 if cand == "supervised_shift" else 0)
                f = features(net[0], x)
            else:
                f = fixed
            r = probe(f[fit], y[fit], f[test], y[test], seed=args.seed)
            rows.append({"candidate": cand, "faces": n, "linear": r.linear, "mlp": r.mlp})
            print(rows[-1], flush=True)
        timing[cand] = time.time() - t1
        print(f"{cand}: {timing[cand]:.0f} s", flush=True)
    total = time.time() - t0
    print(f"total {total:.0f} s (rendering {render_s:.0f} s)")
    if args.md:
        write_markdown(Path(args.md), args, rows, timing, total, render_s,
                       shlex.join(argv if argv is not None else sys.argv[1:]))
    return 0


def pretrain_candidate(name: str, corpus, args):
    """The frozen encoder of a self-supervised candidate ``name`` (``neutral_code`` or
    ``neutral_code:field=value:...`` overriding PretrainConfig fields)."""
    from model.pretrain import PretrainConfig, pretrain_corpus

    head, *opts = name.split(":")
    over = {}
    for o in opts:
        k, v = o.split("=")
        over[k] = type(getattr(PretrainConfig(), k))(v)
    if head != "neutral_code":
        raise SystemExit(f"unknown candidate {name!r}")
    cfg = dataclasses.replace(PretrainConfig(steps=args.steps, seed=args.seed), **over)
    model = pretrain_corpus(corpus, cfg, progress=sys.stderr.isatty())
    print(f"{name}: final loss {np.mean(model.loss_history[-100:]):.4f}", flush=True)
    return model.encoder


def probe_report_header(title: str, script: str, command: str, args, total: float, render_s: float) -> list[str]:
    """The lines a probe report starts with: how to reproduce it, the machine, the test set."""
    import torch

    return [
        f"# {title}", "",
        f"Written by `benchmarks/{script} --md`; do not edit by hand. Reproduce with:", "",
        "```bash", f".venv/bin/python benchmarks/{script} {command}".rstrip(), "```", "",
        f"Machine: {os.cpu_count()} CPUs, {args.threads} torch threads, torch {torch.__version__}, "
        f"Python {platform.python_version()}; {total / 60:.1f} min ({render_s:.0f} s rendering).", "",
        f"Test: {args.test_faces} apex faces of a second rendering (seed {args.seed + 1000}); accuracy "
        "of a logistic regression (linear) and a one-hidden-layer MLP on standardized frozen features, true labels.", "",
    ]


def write_markdown(path: Path, args, rows, timing, total, render_s, command) -> None:
    names = list(dict.fromkeys(r["candidate"] for r in rows))
    sizes = list(dict.fromkeys(r["faces"] for r in rows))
    cell = {(r["candidate"], r["faces"]): r for r in rows}
    lines = [
        *probe_report_header("Frame representations: probes on frozen features", "representation.py", command,
                             args, total, render_s),
        "| candidate | " + " | ".join(f"linear @ {n}" for n in sizes) + " | "
        + " | ".join(f"MLP @ {n}" for n in sizes) + " | time (s) |",
        "|" + "---|" * (2 + 2 * len(sizes)),
    ]
    legend = {"diff": "the raw difference-from-neutral channel (1,024 pixels), no encoder",
              "random": "the trainer's SmallCNN, untrained",
              "supervised": "the same encoder trained on the probe's own labelled faces (true labels), frozen",
              "supervised_shift": "as supervised, with random translations of up to 1 px",
              "neutral_code": "self-supervised on the default set's 96,000 unlabelled frames (model/pretrain.py)"}
    for c in names:
        lin = " | ".join(f"{cell[(c, n)]['linear']:.3f}" for n in sizes)
        mlp = " | ".join(f"{cell[(c, n)]['mlp']:.3f}" for n in sizes)
        lines.append(f"| {c} | {lin} | {mlp} | {timing[c]:.0f} |")
    lines += ["", *[f"- **{c}**: {legend.get(c.split(':')[0], c)}" for c in names], "",
              "Target: a linear probe of at least 0.87 with 1,300 faces for the shipped representation.", ""]
    keep = ""  # the section benchmarks/frozen_training.py writes
    if path.exists() and "<!-- frozen_training: begin -->" in path.read_text():
        text = path.read_text()
        keep = "\n" + text[text.index("<!-- frozen_training: begin -->"):]
    path.write_text("\n".join(lines) + keep)


if __name__ == "__main__":
    sys.exit(main())
