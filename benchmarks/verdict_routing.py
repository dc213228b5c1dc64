"""Where the verdicts send each kind of video, on audited runs whose manifest holds the truth
(the bench's `runs/bench/<config>/audit`, or any `frozen_training.py` run). No training: it
reads scores.parquet and the manifest.

    .venv/bin/python benchmarks/verdict_routing.py --runs runs/bench/default/audit \\
        runs/bench/noise40/audit --md reports/VERDICT_ROUTING.md

It answers four questions the bench's tables do not: how many truly noisy videos each verdict
holds (train split); what the flags' F1 and hard retention would be had `hard-or-noisy`,
which annotators see, counted as a flag; how precise the `hard` verdict would be with a
stricter cut on the share of clips that agree with the label (every split); and what the
same network's outputs give when the flags are routed by clip votes or by the pooled
probabilities (TriageConfig.route) or guarded by a lower `min_score`, re-scored from the
run's saved clip probabilities, video logits and training dynamics.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from curation.schema import FLAGGED_VERDICTS, VERDICTS  # noqa: E402
from unseen import run_and_set  # noqa: E402

HARD_CUTS = (0.75, 0.625, 0.5, 0.375)  # 0.5 is TriageConfig.hard_agree's default, 0.75 the earlier one
# the other rule measured for `hard`: an unflagged video whose noise score reaches the cut
# (the label is weakly supported) rather than one whose clips split
HARD_SCORE_CUTS = (0.5, 0.45, 0.4, 0.35)


def truth_kind(df: pd.DataFrame) -> np.ndarray:
    """noisy / hard (and correctly labelled) / easy, per row."""
    noisy, hard = df["is_noisy"].to_numpy(bool), df["is_hard"].to_numpy(bool)
    return np.where(noisy, "noisy", np.where(hard, "hard", "easy"))


def with_truth(scores: pd.DataFrame, truth: pd.DataFrame, *, train_only: bool = False) -> pd.DataFrame:
    """``scores`` with each video's is_noisy, is_hard and (when ``truth``, the manifest, has it)
    true_label."""
    cols = [c for c in ("video_id", "is_noisy", "is_hard", "true_label") if c in truth.columns]
    d = scores.merge(truth[cols], on="video_id", validate="one_to_one")
    return d[d["split"] == "train"] if train_only else d


def routing_table(scores: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Train split: one row per verdict, how many easy, hard and noisy videos it holds."""
    d = with_truth(scores, truth, train_only=True)
    t = pd.crosstab(pd.Categorical(d["verdict"], VERDICTS), pd.Categorical(truth_kind(d), ["easy", "hard", "noisy"]),
                    dropna=False)
    t.index.name, t.columns.name = "verdict", None
    return t.reset_index()


def flag_rows(scores: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Train split: the flags' quality counting `noisy` only (what the bench counts) and
    counting every verdict sent to an annotator as possibly mislabelled."""
    from curation.audit.metrics import detection_metrics

    d = with_truth(scores, truth, train_only=True)
    rows = []
    for name, verdicts in (("noisy", ("noisy",)), (" + ".join(FLAGGED_VERDICTS), FLAGGED_VERDICTS)):
        m = detection_metrics(d["is_noisy"].to_numpy(bool), d["verdict"].isin(verdicts).to_numpy(),
                              is_hard=d["is_hard"].to_numpy(bool))
        rows.append({"flag": name, **{k: m[k] for k in ("n_flagged", "precision", "recall", "f1", "hard_retention")}})
    return pd.DataFrame(rows)


def hard_cut_rows(scores: pd.DataFrame, truth: pd.DataFrame, cuts=HARD_CUTS,
                  score_cuts=HARD_SCORE_CUTS) -> pd.DataFrame:
    """Every split: the unflagged videos each rule would call hard (``agree_label`` below a
    `hard_agree` cut, or ``noise_score`` at or above a cut), the share of them truly hard and
    correctly labelled, the share of those it finds, and the share of them mislabelled (which
    robust training would up-weight)."""
    d = with_truth(scores, truth)
    noisy = d["is_noisy"].to_numpy(bool)
    truly = d["is_hard"].to_numpy(bool) & ~noisy
    kept = ~d["verdict"].isin(FLAGGED_VERDICTS).to_numpy()
    rules = [(f"agree_label < {c}", d["agree_label"].to_numpy(float) < c) for c in cuts]
    rules += [(f"noise_score >= {c}", d["noise_score"].to_numpy(float) >= c) for c in score_cuts]
    rows = []
    for name, rule in rules:
        called = kept & rule
        rows.append({"hard_rule": name, "called_hard": int(called.sum()),
                     "precision": float(truly[called].mean()) if called.any() else float("nan"),
                     "recall": float(called[truly & kept].mean()) if (truly & kept).any() else float("nan"),
                     "mislabelled": float(noisy[called].mean()) if called.any() else float("nan")})
    return pd.DataFrame(rows)


# re-triage settings (TriageConfig field, value): the route, then the guard that no video
# scored below min_score is flagged, whatever its class's calibrated count
RETRIAGE = (("route", "pooled"), ("route", "votes"), ("min_score", 0.5), ("min_score", 0.4), ("min_score", 0.3),
            ("min_score", 0.0))


def retriage_rows(run_dir: Path, truth: pd.DataFrame, settings=RETRIAGE) -> pd.DataFrame:
    """The run's saved outputs triaged as its `score` did (config.json), then again with one
    TriageConfig field changed per row (settings equal to the run's own are skipped); nothing
    in the run changes. Flag quality is of the `noisy` verdicts of the train split;
    ``easy_flagged_*`` is the share of clean, easy videos sent to an annotator (`noisy` or
    `hard-or-noisy`) in train and in val+test. Robust training is not redone, so a changed
    default would also move the network a little."""
    from dataclasses import replace

    from curation.audit.metrics import detection_metrics, relabel_accuracy, verdicts_by_split
    from model.score import rescore, saved_score_config

    sc = saved_score_config(run_dir)
    own = f"as scored (route={sc.triage.route}, min_score={sc.triage.min_score})"
    changes = [(own, {})] + [(f"{k}={v}", {k: v}) for k, v in settings if getattr(sc.triage, k) != v]
    configs = [replace(sc, triage=replace(sc.triage, **change)) for _, change in changes]
    rows = []
    for (name, _), scores in zip(changes, rescore(run_dir, configs)):
        held_out_pooled = scores.assign(split=np.where(scores["split"] == "train", "train", "val_test"))
        easy_flagged = verdicts_by_split(held_out_pooled, truth).set_index("split")["clean_easy_flagged"]
        t = with_truth(scores, truth, train_only=True)
        flag, is_noisy = (t["verdict"] == "noisy").to_numpy(), t["is_noisy"].to_numpy(bool)
        m = detection_metrics(is_noisy, flag, is_hard=t["is_hard"].to_numpy(bool))
        rows.append({"triage": name, **{k: m[k] for k in ("n_flagged", "precision", "recall", "f1",
                                                          "hard_retention")},
                     "hard_or_noisy": int((t["verdict"] == "hard-or-noisy").sum()),
                     "relabel_acc": relabel_accuracy(flag, t["suggested_label"].to_numpy(),
                                                     t["true_label"].to_numpy(), is_noisy=is_noisy),
                     "easy_flagged_train": easy_flagged.get("train", np.nan),
                     "easy_flagged_val_test": easy_flagged.get("val_test", np.nan)})
    return pd.DataFrame(rows)


def report(runs: list[tuple[Path, Path | None]], command: str) -> str:
    """The markdown: one section per run (``(run, None)``: truth in its manifest; ``(run,
    set_dir)``: an unseen set's run and its folder), refusing by name a run without truth."""
    from curation.pipelines.bench_report import markdown_table
    from curation.runs import RunDir
    from unseen import truth_of_run

    parts = ["# Where the verdicts send each video", "",
             "Written by `benchmarks/verdict_routing.py`; do not edit by hand. Reproduce with:", "",
             f"```bash\n.venv/bin/python benchmarks/verdict_routing.py {command}\n```", "",
             "Truth: `noisy` = given label wrong; `hard` = hard and correctly labelled; `easy` = the rest. "
             "The bench counts only the verdict `noisy` as a flag; `hard-or-noisy` goes to an annotator too.", ""]
    for run, set_dir in runs:
        truth = truth_of_run(run, set_dir)
        scores = RunDir(run).read_scores()
        parts += [f"## `{run}`", "", "Verdicts of the train split against the truth:", "",
                  markdown_table(routing_table(scores, truth), 3), "", "Flags on the train split:", "",
                  markdown_table(flag_rows(scores, truth), 3), "",
                  "The `hard` verdict by other rules (unflagged videos of every split whose share of clips "
                  "on the label is below the cut, or whose noise score reaches the cut; the run's own cut is "
                  "its config's `hard_agree`):", "", markdown_table(hard_cut_rows(scores, truth), 3), "",
                  "The same network's outputs triaged again, one setting changed per row (the first as the "
                  "run was scored): flags routed by clip votes or by the pooled probabilities, and the `min_score` "
                  "guard on the noise score (`noisy` verdicts of the train split; easy_flagged: share of clean, "
                  "easy videos sent to an annotator):", "",
                  markdown_table(retriage_rows(run, truth), 3) if RunDir(run).video_logits.exists()
                  else "(left out: the run has no video_logits.npy, which only `dfer-curate score` writes)", ""]
    return "\n".join(parts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="+", required=True, type=run_and_set,
                   help="audited runs whose manifest holds the truth, or RUN=SET_DIR for a run of "
                        "benchmarks/unseen_sets.py")
    p.add_argument("--md", required=True, help="write the report here")
    args = p.parse_args(argv)
    from curation.fileio import write_text

    text = report(args.runs, shlex.join(argv if argv is not None else sys.argv[1:]))
    write_text(Path(args.md), text)
    print(f"wrote {args.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
