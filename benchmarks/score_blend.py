"""What the noise score should be made of, on networks already trained: each audited run's
saved clip probabilities, video logits and training dynamics are scored again with other
shares of the video head's margin (``video_weight``) and of the training AUM
(``aum_weight``) beside the clips; nothing is retrained, so the rows of one run differ only
in the blend. Flags, AUROC, hard retention and noisy-vs-hard AUROC are of the train split,
against the truth: the manifest's (synthetic runs) or, for a run of
`benchmarks/unseen_sets.py`, the set's ``truth.csv`` given after ``=``. The best baseline's
noisy-vs-hard AUROC on the same network (the run's baselines.parquet) is beside each run.

    .venv/bin/python benchmarks/score_blend.py --runs runs/bench_nr/default/audit \\
        runs/unseen/run_toons=runs/unseen/toons --md reports/SCORE_BLEND.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pandas as pd  # noqa: E402

from model.config import ScoreConfig  # noqa: E402  (dataclasses only, no torch)
from unseen import run_and_set, truth_of_run  # noqa: E402

DEFAULT = (ScoreConfig().video_weight, ScoreConfig().aum_weight)
# (video_weight, aum_weight): the default first, then the clips alone and shares between
BLENDS = (DEFAULT, (0.0, 0.0), (0.25, 0.0), (0.0, 0.15), (0.5, 0.0), (0.0, 0.33))
METRICS = ("n_flagged", "f1", "auroc", "hard_retention", "noisy_vs_hard_auroc", "relabel_acc")


def blend_rows(run_dir: Path, truth: pd.DataFrame, blends=BLENDS) -> pd.DataFrame:
    """One row per (video_weight, aum_weight): the train split's detection quality of ours."""
    from curation.audit.metrics import detection_table, ours_columns
    from model.score import rescore, saved_score_config

    saved = saved_score_config(run_dir)
    configs = [replace(saved, video_weight=v, aum_weight=a) for v, a in blends]
    rows = []
    for (video_weight, aum_weight), scores in zip(blends, rescore(run_dir, configs)):
        det = detection_table(ours_columns(scores[scores["split"] == "train"]), truth).iloc[0]
        rows.append({"video_weight": video_weight, "aum_weight": aum_weight,
                     **{k: float(det[k]) for k in METRICS}, "n_flagged": int(det["n_flagged"])})
    return pd.DataFrame(rows)


def best_baseline(run_dir: Path, truth: pd.DataFrame) -> tuple[str, float] | None:
    """The baseline with the highest noisy-vs-hard AUROC on the run's network, and that AUROC;
    None when the run has no baselines.parquet."""
    from curation.audit.compare import strongest_baseline
    from curation.audit.metrics import detection_table

    path = Path(run_dir) / "baselines.parquet"
    if not path.exists():
        return None
    return strongest_baseline(detection_table(pd.read_parquet(path), truth))


def report(runs: list[tuple[Path, Path | None]], command: str) -> str:
    from curation.pipelines.bench_report import markdown_table

    parts = ["# What the noise score is made of", "",
             "Written by `benchmarks/score_blend.py`; do not edit by hand. Reproduce with:", "",
             f"```bash\n.venv/bin/python benchmarks/score_blend.py {command}\n```", "",
             "Each run's network is scored again from its saved outputs with the video head's margin "
             "(`video_weight`) and the training AUM (`aum_weight`) at other shares of the noise score; the "
             "rest is the clips (certainty-pooled, final model plus the training window). Train split, "
             "against the truth; `n_flagged` counts `noisy` verdicts.", ""]
    summary = []
    for run, truth_dir in runs:
        truth = truth_of_run(run, truth_dir)
        rows = blend_rows(run, truth)
        best = best_baseline(run, truth)
        name, nvh = best or (None, float("nan"))
        line = (f"Best baseline by noisy-vs-hard AUROC on this network: {name}, {nvh:.3f}." if best else
                f"No baselines.parquet: run `dfer-curate baselines {run}` to compare with the baselines.")
        parts += [f"## `{run}`", "", line, "", markdown_table(rows, 3), ""]
        first = rows.iloc[0]
        for _, r in rows.iterrows():  # the default's own row too: its lead over the best baseline
            summary.append({"run": str(run), "video_weight": r["video_weight"], "aum_weight": r["aum_weight"],
                            **{f"d_{k}": r[k] - first[k] for k in ("f1", "auroc", "hard_retention",
                                                                   "noisy_vs_hard_auroc")},
                            "nvh_minus_best_baseline": r["noisy_vs_hard_auroc"] - nvh})
    s = pd.DataFrame(summary)
    mean = s.groupby(["video_weight", "aum_weight"], sort=False).mean(numeric_only=True).reset_index()
    parts += [f"## Against the default blend (video_weight {DEFAULT[0]}, aum_weight {DEFAULT[1]}), mean over the "
              "runs", "", "Positive: the blend beats the default on that measure.", "",
              markdown_table(mean, 3), ""]
    return "\n".join(parts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="+", required=True, type=run_and_set,
                   help="scored runs (RUN, or RUN=SET_DIR for a run of benchmarks/unseen_sets.py)")
    p.add_argument("--md", required=True, help="write the report here")
    args = p.parse_args(argv)
    from curation.fileio import write_text

    write_text(Path(args.md), report(args.runs, shlex.join(argv if argv is not None else sys.argv[1:])))
    print(f"wrote {args.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
