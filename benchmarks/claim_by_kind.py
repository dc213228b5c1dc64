"""Where our noise score tells a mislabelled video from a hard one better than the baselines on
the same network, and where it does not: the noisy-vs-hard AUROC against each kind of hard,
correctly labelled video apart (subtle, brief, blended, occluded, distracting motion on the
synthetic faces; the unseen sets' own kinds), ours and every baseline, from runs already
audited (scores.parquet and baselines.parquet of `dfer-curate baselines`). Nothing is trained.

    .venv/bin/python benchmarks/claim_by_kind.py \\
        --set default runs/dw2000_s0_all runs/dw2000_s1_all runs/dw2000_s2_all \\
        --set toons runs/unseen/run_toons=runs/unseen/toons --md reports/CLAIM_BY_KIND.md

A set's runs are averaged (per method and kind). Train split, as the bench's claim. The
"best per kind" row takes, for each kind, the best method's AUROC: what a detector could
reach if it knew each hard video's kind and used the best of these scores for it (it cannot
know it), so a lead over the best baseline above that row's is out of reach of choosing
among these scores.
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

from unseen import run_and_set, truth_of_run  # noqa: E402


def run_table(run: Path, set_dir: Path | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """One run's ``metrics.noisy_vs_hard_by_kind`` over ours and its baselines, and the methods
    left out because their score equals an earlier one's (cleanlab's filters rank by the
    self-confidence): {left out: same as}."""
    from curation.audit import baselines as B
    from curation.audit.compare import with_baselines
    from curation.audit.metrics import noisy_vs_hard_by_kind
    from curation.runs import RunDir

    r = RunDir(run)
    base = pd.read_parquet(r.require("baselines", "baselines"))
    table = with_baselines(pd.read_parquet(r.require("scores", "score")), base)
    names, same = [], {}
    # reversed: the scores (cl_self_confidence) come before the cleanlab filters that rank by them
    for m in ["ours", *(m for m in reversed(B.METHODS) if f"{m}_score" in table.columns)]:
        twin = next((k for k in names if np.array_equal(table[f"{k}_score"].to_numpy(float),
                                                        table[f"{m}_score"].to_numpy(float), equal_nan=True)), None)
        if twin is None:
            names.append(m)
        else:
            same[m] = twin
    return noisy_vs_hard_by_kind(table, truth_of_run(run, set_dir, kinds=True), names), same


def set_table(runs) -> tuple[pd.DataFrame, dict[str, str]]:
    """Mean over a set's runs, methods sorted by ``all``, then the best-per-kind row."""
    tables, same = [], {}
    for run, set_dir in runs:
        t, s = run_table(run, set_dir)
        tables.append(t)
        same.update(s)
    d = pd.concat(tables).groupby("method", sort=False).mean()
    kinds = [c for c in d.columns if c != "all" and not c.startswith("n_")]
    d = d.sort_values("all", ascending=False)
    best = d[kinds].max()
    counts = d[[f"n_{k}" for k in kinds]].iloc[0].to_numpy(float)
    bound = {"all": float(np.dot(best.to_numpy(), counts) / counts.sum()), **best.to_dict()}
    d = pd.concat([d[["all", *kinds]], pd.DataFrame([bound], index=["best per kind"])])
    d.attrs["counts"] = dict(zip(kinds, counts))
    return d, same


def lead_row(d: pd.DataFrame) -> dict:
    """Ours minus the best baseline, per column (the best baseline may differ by column)."""
    base = d.drop(index=["ours", "best per kind"])
    return {c: float(d.loc["ours", c] - base[c].max()) for c in d.columns}


def report(sets: list[tuple[str, list]], command: str) -> str:
    from curation.pipelines.bench_report import markdown_table

    parts = ["# The claim by kind of hard video", "",
             "Written by `benchmarks/claim_by_kind.py`; do not edit by hand. Reproduce with:", "",
             f"```bash\n.venv/bin/python benchmarks/claim_by_kind.py {command}\n```", "",
             "Noisy-vs-hard AUROC (the noise score over truly mislabelled videos against hard, correctly "
             "labelled ones) against each kind of hard video apart, on the train split, every method on the "
             "same network (the run's scores and baselines); a set's runs averaged. `all` is the claim's "
             "number (the kinds weighted by their counts). *best per kind*: the best method's AUROC for each "
             "kind, and its count-weighted mean: what choosing among these scores could reach if the kind "
             "of each hard video were known. *lead*: ours minus the best baseline of that column.", ""]
    summary, sections = [], []
    for name, runs in sets:
        d, same = set_table(runs)
        lead = lead_row(d)
        base = d.drop(index=["ours", "best per kind"])
        top = base["all"].idxmax()
        counts = ", ".join(f"{k} {v:.0f}" for k, v in d.attrs["counts"].items())
        rows = d.reset_index(names="method")
        rows = pd.concat([rows, pd.DataFrame([{"method": "lead (ours - best baseline)", **lead}])], ignore_index=True)
        sections += [f"## {name}", "", f"Runs: {', '.join(f'`{r}`' for r, _ in runs)}. Hard, correctly labelled "
                  f"videos per run, by kind: {counts}."
                  + (f" Left out as equal to another row's score: {', '.join(f'{k} (= {v})' for k, v in same.items())}."
                     if same else ""), "", markdown_table(rows, 3), ""]
        summary.append({"set": name, "runs": len(runs), "ours": d.loc["ours", "all"], "best baseline": top,
                        "its AUROC": base.loc[top, "all"], "lead": lead["all"],
                        "best per kind": d.loc["best per kind", "all"],
                        "its lead": d.loc["best per kind", "all"] - base.loc[top, "all"],
                        "kinds where ours leads": sum(v > 0 for k, v in lead.items() if k != "all"),
                        "kinds": len(d.columns) - 1})
    return "\n".join([*parts, "## Summary", "", markdown_table(pd.DataFrame(summary), 3), "", *sections])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", nargs="+", action="append", required=True, metavar=("NAME", "RUN"),
                   help="a set's name, then its audited runs (RUN, or RUN=SET_DIR for a run of "
                        "benchmarks/unseen_sets.py); repeat for each set")
    p.add_argument("--md", required=True, help="write the report here")
    args = p.parse_args(argv)
    bad = [s[0] for s in args.set if len(s) < 2]
    if bad:
        p.error(f"--set {bad[0]} names no run: give --set NAME RUN [RUN ...]")
    from curation.fileio import write_text

    sets = [(s[0], [run_and_set(r) for r in s[1:]]) for s in args.set]
    write_text(Path(args.md), report(sets, shlex.join(argv if argv is not None else sys.argv[1:])))
    print(f"wrote {args.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
