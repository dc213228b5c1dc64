"""How long `dfer-curate report` takes on a default-size run, and how big the file is.

Targets (issue 7): build < 30 s, report.html < 15 MB.

    .venv/bin/python benchmarks/report_speed.py              # synth defaults, planted scores
    .venv/bin/python benchmarks/report_speed.py --fake       # tests' make_fake_run(n=2000)
    .venv/bin/python benchmarks/report_speed.py --run RUN    # an existing scored run

The default renders `curation.data.synth` at its defaults (2,000 videos, 64 px, 48 frames, 7
classes) once into --work (reused on later runs), then plants clip probabilities from the
ground truth (no model: the report's cost does not depend on where scores come from) and
scores them with curation.audit.agreement.audit, the triage the model's scorer uses. Dynamics
(12 epochs) and baselines are planted too, so every section of the report is built.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.fileio import write_parquet  # noqa: E402
from curation.data.manifest import read_manifest  # noqa: E402
from curation.runs import RunDir  # noqa: E402
from curation.schema import SCORES_COLUMNS, conform  # noqa: E402

TARGET_S, TARGET_MB = 30.0, 15.0


def plant_scores(run: RunDir, *, clips: int = 12, uniform: int = 8, epochs: int = 12, seed: int = 0) -> None:
    """scores.parquet, clip_probs.npy and dynamics.parquet from the manifest's ground truth:
    clean clips vote for the label, noisy clips mostly for the true class, hard clips split."""
    from curation.audit import agreement

    m = read_manifest(run.path)
    df = m.df
    rng = np.random.default_rng(seed)
    n, c = len(df), len(m.classes)
    given = np.asarray(m.label_index(df["label"]))
    true = np.asarray(m.label_index(df["true_label"]))
    hard = df["is_hard"].to_numpy(bool)
    p_right = np.where(hard, rng.uniform(0.35, 0.65, n), rng.uniform(0.75, 0.95, n))
    winner = np.where(rng.uniform(size=(n, clips)) < p_right[:, None], true[:, None],
                      rng.integers(0, c, (n, clips)))
    logits = rng.normal(0, 0.6, (n, clips, c))
    np.put_along_axis(logits, winner[..., None], 2.5 + rng.normal(0, 0.4, (n, clips, 1)), axis=-1)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    res = agreement.audit(probs, given)
    scores = agreement.scores_frame(df, m.classes, res)
    a, classes = res["agreement"], np.asarray(m.classes)  # for the planted training dynamics below
    write_parquet(run.scores, conform(scores, SCORES_COLUMNS, table="scores"))
    np.save(run.clip_probs, probs.astype(np.float32))
    run.save_config("score", {"uniform_clips": uniform, "key_clips": clips - uniform, "planted": True})
    train = np.flatnonzero(df["split"].to_numpy() == "train")
    rows = []
    for e in range(epochs):
        # learning curve toward the final agreement; noisy videos are memorized late
        w = min(1.0, (e + 1) / (epochs * 0.6))
        late = max(0.0, (e - epochs * 0.7) / (epochs * 0.3))
        noisy = df["is_noisy"].to_numpy(bool)[train]
        al = np.clip(w * a.agree_label[train] + late * noisy * 0.6 + rng.normal(0, 0.05, len(train)), 0, 1)
        rows.append(pd.DataFrame({
            "epoch": e, "video_id": df["video_id"].astype(str).to_numpy()[train], "agree_label": al,
            "agree_mode": a.agree_mode[train], "consensus_label": classes[a.consensus[train]],
            "margin": a.margin[train], "loss": -np.log(np.maximum(a.label_prob[train], 1e-6)),
            "logit_margin": -a.margin[train] * 4, "label_prob": a.label_prob[train],
            "verdict": np.asarray(res["verdict"])[train],
        }))
    write_parquet(run.dynamics, pd.concat(rows, ignore_index=True))


def prepare(args) -> tuple[RunDir, str]:
    if args.run:
        return RunDir(args.run), f"existing run {args.run}"
    from tests.fakereport import write_fake_baselines

    work = Path(args.work)
    if args.fake:
        from tests.fakerun import make_fake_run

        run = RunDir(work / "fake2000")
        if not run.scores.exists():
            t = time.perf_counter()
            make_fake_run(run.path, n=2000, clips=8, frames=48, size=64, epochs=12)
            print(f"made fake run in {time.perf_counter() - t:.1f} s")
        write_fake_baselines(run)
        return run, "tests.fakerun.make_fake_run(n=2000, clips=8, frames=48, size=64, epochs=12)"
    from curation.data.synth import SynthConfig, generate

    run = RunDir(work / "synth-default")
    if not run.manifest.exists():
        t = time.perf_counter()
        generate(run.path, SynthConfig(workers=args.workers), progress=True)
        print(f"rendered synth defaults in {time.perf_counter() - t:.1f} s")
    plant_scores(run)
    write_fake_baselines(run)
    return run, "curation.data.synth defaults (2,000 videos, 64 px, 48 frames) + scores planted from ground truth"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", help="report on this scored run instead of building one")
    ap.add_argument("--fake", action="store_true", help="use tests.fakerun.make_fake_run(n=2000)")
    ap.add_argument("--work", default="runs/bench-report", help="where the benchmark's run is kept")
    ap.add_argument("--workers", type=int, default=1, help="synth render processes")
    args = ap.parse_args(argv)
    run, what = prepare(args)
    from reports.audit import build_report

    t = time.perf_counter()
    out = build_report(run.path)
    secs = time.perf_counter() - t
    mb = out.stat().st_size / 2**20
    n = len(pd.read_parquet(run.scores))
    print(f"input: {what}")
    print(f"videos: {n}")
    print(f"build time: {secs:.1f} s (target < {TARGET_S:.0f} s) {'OK' if secs < TARGET_S else 'SLOW'}")
    print(f"file size: {mb:.1f} MB (target < {TARGET_MB:.0f} MB) {'OK' if mb < TARGET_MB else 'TOO BIG'}")
    print(f"report: {out}")
    return 0 if secs < TARGET_S and mb < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
