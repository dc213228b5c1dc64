"""How the clips pool into the noise score (`score --clip-pooling`), side by side on the same
trained networks: each run is scored once per pooling (the network, its clips, its training
dynamics and every baseline stay the same), and every method is measured on the train split
against the truth. Runs of the default synthetic set carry their truth in the manifest; a run
of a set the generator did not make names its set folder (benchmarks/unseen_sets.py), whose
truth.csv the run never read.

    .venv/bin/python benchmarks/clip_pooling.py --runs runs/fz runs/fz_seed1 \\
        runs/unseen/run_toons:runs/unseen/toons --md reports/CLIP_POOLING.md

Each run is left scored with the default pooling.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COLUMNS = ("n_flagged", "precision", "recall", "f1", "auroc", "noisy_vs_hard_auroc", "hard_retention")


def truth_frame(run: Path, truth_set: str | None) -> pd.DataFrame:
    """video_id, is_noisy, is_hard, true_label of every video of ``run``: from the manifest, or
    from ``truth_set``'s truth.csv matched by path."""
    from curation.data.manifest import read_manifest

    df = read_manifest(run).df
    if not truth_set:
        if "is_noisy" not in df.columns:
            raise SystemExit(f"{run} has no truth in its manifest; name its set as {run}:SET_FOLDER")
        return df
    from unseen import read_truth, truth_by_path

    return truth_by_path(df, read_truth(Path(truth_set)), run)


def measure_run(run: Path, truth: pd.DataFrame, poolings: list[str]) -> list[dict]:
    """One row per pooling: our detection on the train split and the best baseline's
    noisy-vs-hard AUROC on the same network."""
    from curation.audit.baselines import run_baselines
    from curation.audit.compare import strongest_baseline, with_baselines
    from curation.audit.metrics import detection_table
    from curation.runs import RunDir
    from model.config import ScoreConfig
    from model.score import score

    baselines = RunDir(run).baselines
    if not baselines.exists():  # baselines read the clips and the video head, not the pooling
        run_baselines(run)
    base = pd.read_parquet(baselines)
    names = ["ours", *(c[: -len("_score")] for c in base.columns if c.endswith("_score"))]
    rows = []
    for pooling in poolings:
        scores = score(run, ScoreConfig(clip_pooling=pooling), progress=False)
        det = detection_table(with_baselines(scores, base), truth, names=names)
        best, best_nvh = strongest_baseline(det)
        ours = det.set_index("method").loc["ours"]
        rows.append({"run": run.name, "pooling": pooling, **ours[list(COLUMNS)].to_dict(),
                     "best baseline": f"{best} {best_nvh:.3f}",
                     "lead": float(ours["noisy_vs_hard_auroc"] - best_nvh)})
    return rows


def main(argv=None) -> int:
    from curation.audit.agreement import POOLINGS
    from model.config import ScoreConfig

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", required=True, metavar="RUN[:SET]",
                   help="trained, scored runs; RUN:SET for a run of a benchmarks/unseen set made in SET")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--md", help="write the tables here")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    default = ScoreConfig().clip_pooling
    poolings = [x for x in POOLINGS if x != default] + [default]  # the default last: runs stay scored with it
    t0 = time.time()
    rows = []
    for spec in args.runs:
        run, _, truth_set = spec.partition(":")
        rows += measure_run(Path(run), truth_frame(Path(run), truth_set or None), poolings)
        print(pd.DataFrame(rows[-len(poolings):]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    if args.md:
        write_markdown(Path(args.md), table, default, command=shlex.join(argv if argv is not None else sys.argv[1:]),
                       minutes=(time.time() - t0) / 60, threads=args.threads)
    return 0


def mean_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Each pooling's mean over the runs (the lead too; the best baseline named per run only)."""
    numeric = [*COLUMNS, "lead"]
    mean = table.groupby("pooling", sort=False)[numeric].mean().reset_index()
    mean["n_flagged"] = mean["n_flagged"].round()
    return mean.assign(run="mean", **{"best baseline": "–"})[table.columns]


def write_markdown(path: Path, table: pd.DataFrame, default: str, *, command: str, minutes: float,
                   threads: int) -> None:
    import torch

    from curation.fileio import write_text
    from curation.pipelines.bench_report import markdown_table

    shown = pd.concat([table, mean_rows(table)], ignore_index=True)
    shown["n_flagged"] = shown["n_flagged"].map(lambda v: f"{v:.0f}")
    lines = ["# Clip pooling: how the clips make the noise score", "",
             "Written by `benchmarks/clip_pooling.py --md`; do not edit by hand. Reproduce with:", "", "```bash",
             f".venv/bin/python benchmarks/clip_pooling.py {command}", "```", "",
             f"Machine: {os.cpu_count()} CPUs, {threads} torch thread(s), torch {torch.__version__}, Python "
             f"{platform.python_version()}; {minutes:.1f} min in all.", "",
             "Each run is scored once per pooling with the same trained network, the same clips and training "
             "dynamics; only the clips' part of the noise score changes (the video head's margin and the training "
             "AUM are blended in as always). `mean`: the margin of the clips' mean probabilities, blended half "
             "and half with the share of clips that do not vote for the label. `certainty`: the margin of the "
             "clips' probabilities averaged with each clip weighted by one minus its normalised entropy, so clips "
             f"that saw no clear expression say little. Default: `{default}`. Train split only; `lead`: our "
             "noisy-vs-hard AUROC minus the best baseline's on the same network (cleanlab's scores, AUM, "
             "loss-GMM, cartography, one centred clip, the neighbour vote). The runs come from "
             "`benchmarks/frozen_training.py --encoder given_labels --seeds 0,1,2` (synthetic seeds; "
             "`benchmarks/model_quality.py` retrains their network in place) and `benchmarks/unseen_sets.py` (the "
             "sets the generator did not make), each with the defaults.", "",
             markdown_table(shown, 3), ""]
    write_text(path, "\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
