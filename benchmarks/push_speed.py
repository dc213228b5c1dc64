"""How fast `push` writes a 1,000+ video run into FiftyOne (target: under 2 minutes for the
default synthetic run, preview rendering included). Prints videos per second.

    .venv/bin/python benchmarks/push_speed.py                 # synth defaults (2,000 mp4 videos)
    .venv/bin/python benchmarks/push_speed.py --frames        # jpg frame folders: every video needs a preview
    .venv/bin/python benchmarks/push_speed.py --source fake --n 1000

Scores and clip probabilities are planted from the synthetic truth (no model is trained):
push cost does not depend on where the numbers came from. A private mongod is started in
a temporary folder (as the tests do) unless FIFTYONE_DATABASE_URI is set.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def plant_scores(run_dir, *, clips: int = 4, seed: int = 0) -> None:
    """scores.parquet + clip_probs.npy from the manifest's truth: clean videos' clips agree
    with the label, noisy ones agree on the true class, hard ones split."""
    from curation.fileio import write_parquet
    from curation.data.manifest import read_manifest
    from curation.runs import RunDir

    run = RunDir(run_dir)
    m = read_manifest(run.path)
    df, classes = m.df, m.classes
    C, n = len(classes), len(df)
    rng = np.random.default_rng(seed)
    given = np.array(m.label_index(df["label"]))
    true = np.array(m.label_index(df["true_label"]))
    hard = df["is_hard"].to_numpy(bool)
    probs = rng.dirichlet(np.ones(C), size=(n, clips)) * 0.3
    for k in range(clips):
        c = np.where(hard & (k % 2 == 1), (true + 1) % C, true)
        probs[np.arange(n), k, c] += 0.7
    probs /= probs.sum(-1, keepdims=True)
    np.save(run.clip_probs, probs)
    mean, arg = probs.mean(1), probs.argmax(-1)
    cons = np.array([np.bincount(a, minlength=C).argmax() for a in arg])
    agree_label = (arg == given[:, None]).mean(1)
    agree_mode = (arg == cons[:, None]).mean(1)
    label_prob = mean[np.arange(n), given]
    margin = mean[np.arange(n), cons] - label_prob
    verdict = np.where((cons != given) & (agree_mode >= 0.75), "noisy",
                       np.where(agree_mode < 0.75, "hard", "clean"))
    write_parquet(run.scores, pd.DataFrame({
        "video_id": df["video_id"], "split": df["split"], "label": df["label"],
        "pred_label": [classes[i] for i in mean.argmax(1)], "pred_conf": mean.max(1),
        "label_prob": label_prob, "agree_label": agree_label, "agree_mode": agree_mode,
        "consensus_label": [classes[i] for i in cons], "margin": margin,
        "noise_score": np.clip(0.5 + margin / 2, 0, 1), "hardness": 1 - agree_mode,
        "verdict": verdict, "suggested_label": [classes[i] for i in cons],
    }))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=["synth", "fake"], default="synth")
    ap.add_argument("--n", type=int, default=None, help="videos (synth default 2,000; fake 1,000)")
    ap.add_argument("--frames", action="store_true", help="synth: jpg frame folders (all need previews)")
    ap.add_argument("--workdir", help="keep the run here (default: a temp folder)")
    args = ap.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="push-bench-"))
    from curation.fiftyone.db import start_private_database

    if not os.environ.get("FIFTYONE_DATABASE_URI"):
        start_private_database(work / "mongod")
    run_dir = work / "run"
    t = time.perf_counter()
    if not (run_dir / "scores.parquet").exists():
        if args.source == "synth":
            from curation.data.synth import SynthConfig, generate

            cfg = SynthConfig(frames=args.frames, workers=os.cpu_count() or 1)
            if args.n:
                cfg.n = args.n
            generate(run_dir, cfg, progress=False)
            plant_scores(run_dir)
        else:
            from tests.fakerun import make_fake_run

            make_fake_run(run_dir, n=args.n or 1000, frames=48, size=64)
        print(f"built the {args.source} run ({'frame folders' if args.frames else 'mp4'}) "
              f"in {time.perf_counter() - t:.1f} s: {run_dir}")

    from curation.fiftyone.push import PushConfig, push

    name = f"bench-{os.getpid()}"
    for label in ("first push", "re-push"):
        r = push(run_dir, PushConfig(dataset=name), progress=False)
        s = r.seconds
        print(f"{label}: {r.num_samples} videos in {s['total']:.1f} s = {r.num_samples / s['total']:.1f} videos/s "
              f"(prepare {s['prepare']:.1f} s incl. {r.previews_rendered} previews rendered, "
              f"{r.previews_cached} cached; database {s['write']:.1f} s)", flush=True)
    import fiftyone as fo

    fo.delete_dataset(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
