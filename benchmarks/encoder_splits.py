"""Whose labels the given-label encoder should learn, measured where every split's labels are
noisy (DFEW, FERV39K and MAFW test labels come from the same annotators as train's): the
default path (`pretrain --given-labels`, `embed`, `train --frozen`, `score`) with the encoder
learning train + val labels, against every split's, on the same synthetic sets.

    .venv/bin/python benchmarks/encoder_splits.py --root runs/encsplits --seeds 0,1 \\
        --md reports/ENCODER_SPLITS.md

Per seed it renders one set (`synth --n N --noise-splits train,val,test`, N 1,200 unless
--n) into ROOT_s<seed>_trainval and audits it there with `--given-splits train,val`;
ROOT_s<seed>_all shares its videos and audits with `--given-splits train,val,test`.
`--variants all` audits only the default (every split's labels), rendering into
ROOT_s<seed>_all: with `--n 2000`, the default set of the issue's done-when with every split
noisy. Finished runs (scores present, encoder of the asked splits) are reused. Each run also
gets `dfer-curate baselines` once, for the claim on the train split: noisy-vs-hard AUROC
against the best baseline and F1 against cleanlab's best filter, on the same network.
Detection per split and over all splits:
flags are the `noisy` verdict, as in the bench; "clean, easy to review" counts `noisy` and
`hard-or-noisy` among clean, easy videos (what an annotator would be sent for nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

VARIANTS = {"trainval": "train,val", "all": "train,val,test"}
SCOPES = ("train", "val", "test", "all splits")
SHOWN = (("f1", "F1"), ("auroc", "AUROC"), ("noisy_vs_hard_auroc", "noisy-vs-hard AUROC"),
         ("hard_retention", "hard retention"), ("relabel_acc", "relabel acc."),
         ("clean_easy_flagged", "clean, easy to review"), ("hard_precision", "hard precision"))


def audit(run: Path, seed: int, splits: str, *, n: int, data_run: Path | None) -> float:
    """Make ``run`` audited with an encoder of ``splits`` (reused when done); seconds spent."""
    from curation import cli
    from curation.runs import fresh_sibling_run
    from model.given_encoder import learned_splits

    if (run / "scores.parquet").exists() and learned_splits(run / "encoder.json") == tuple(splits.split(",")):
        return 0.0
    t0 = time.time()
    if data_run is not None:  # the same videos, labels and decoded frames as the data run
        fresh_sibling_run(data_run, run)
    elif ok := cli.main(["synth", "--out", str(run), "--n", str(n), "--seed", str(seed),
                         "--noise-splits", "train,val,test", "--overwrite"]):
        raise SystemExit(f"{run}: `dfer-curate synth` failed (exit {ok})")
    # the encoder and the network at their default seed, as a user would run them
    for argv in (["pretrain", str(run), "--given-labels", "--given-splits", splits], ["embed", str(run)],
                 ["train", str(run), "--frozen"], ["score", str(run)]):
        ok = cli.main(argv)
        if ok:
            raise SystemExit(f"{run}: `dfer-curate {' '.join(argv)}` failed (exit {ok})")
    return time.time() - t0


def measure(run: Path) -> dict:
    from curation.runs import RunDir

    r = RunDir(run)
    out = measure_scores(pd.read_parquet(r.scores), r.read_manifest().df)
    if r.baselines.exists():
        from curation.audit.compare import side_by_side

        out["baselines"] = against_baselines(side_by_side(run))
    return out


def run_baselines(run: Path) -> None:
    """`dfer-curate baselines RUN` (its defaults) unless the run has baselines newer than its
    scores: the claim's comparison on the same network."""
    from curation import cli
    from curation.runs import RunDir

    r = RunDir(run)
    if r.baselines.exists() and r.baselines.stat().st_mtime >= r.scores.stat().st_mtime:
        return
    if ok := cli.main(["baselines", str(run)]):
        raise SystemExit(f"{run}: `dfer-curate baselines` failed (exit {ok})")


def against_baselines(table: pd.DataFrame) -> dict:
    """Ours against the baselines of ``compare.side_by_side`` (train split, same network): the
    best baseline by noisy-vs-hard AUROC, and cleanlab's best filter by F1."""
    from curation.audit.baselines import CLEANLAB_FILTERS
    from curation.audit.compare import strongest_baseline

    ours = table.set_index("method").loc["ours"]
    best, best_nvh = strongest_baseline(table, "noisy_vs_hard_auroc")
    cl, cl_f1 = strongest_baseline(table, "f1", methods=[f"cl_{f}" for f in CLEANLAB_FILTERS])
    return {"ours_nvh": float(ours["noisy_vs_hard_auroc"]), "best_baseline": best, "best_nvh": best_nvh,
            "ours_f1": float(ours["f1"]), "cleanlab_filter": cl, "cleanlab_f1": cl_f1}


def measure_scores(scores: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Detection per split and over all splits, and what an annotator meets there. ``truth``:
    video_id, is_noisy, is_hard, true_label."""
    from curation.audit.metrics import detection_table, ours_columns, verdicts_by_split

    out = {}
    for scope in SCOPES:
        s = scores if scope == "all splits" else scores[scores["split"] == scope]
        row = detection_table(ours_columns(s), truth, names=["ours"]).iloc[0].to_dict()
        v = verdicts_by_split(s.assign(split="x"), truth).iloc[0]
        out[scope] = {**{k: float(row[k]) for k, _ in SHOWN if k in row},
                      "clean_easy_flagged": float(v["clean_easy_flagged"]), "hard_precision": float(v["hard_precision"]),
                      "n_flagged": int(row["n_flagged"]), "n_noisy": int(row["n_noisy"])}
    return out


def write_markdown(results: dict, path: Path, command: str, minutes: float, *, n: int, variants: dict) -> None:
    import platform

    import torch

    seeds = sorted(results)
    title = ("Whose labels the given-label encoder learns" if len(variants) > 1
             else f"The default path, its encoder learning {variants[next(iter(variants))]}")
    lines = [f"# {title} (every split noisy)", "",
             "Written by `benchmarks/encoder_splits.py --md`; do not edit by hand. Reproduce with:", "",
             "```bash", f".venv/bin/python {command}", "```", "",
             f"Machine: {os.cpu_count()} CPUs, torch {torch.__version__}, Python {platform.python_version()}; "
             f"{minutes:.0f} min of audits in this invocation (finished runs are reused).", "",
             f"Sets: `dfer-curate synth --n {n} --noise-splits train,val,test --seed S` (20 % wrong labels in "
             f"every split, 20 % hard videos), seeds {', '.join(map(str, seeds))}; then the default path (encoder and "
             "network at their default seed) with "
             "`pretrain --given-labels --given-splits` train,val (`trainval`) or train,val,test (`all`). The video "
             "network trains on the train split in both and stops early on val; val and test are scored as splits it "
             "never trained on. Flags: the `noisy` verdict; clean, easy to review: `noisy` or `hard-or-noisy` among "
             "videos with a correct label that are not hard; hard precision: the share of videos called `hard` "
             "that are hard with a correct label.", "",
             f"Mean over seeds {', '.join(map(str, seeds))}:", "",
             "| scope | encoder learns | " + " | ".join(h for _, h in SHOWN) + " |",
             "|---|---|" + "---|" * len(SHOWN)]
    for scope in SCOPES:
        for tag, splits in variants.items():
            vals = [sum(results[s][tag][scope][k] for s in seeds) / len(seeds) for k, _ in SHOWN]
            lines.append(f"| {scope} | {splits} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    lines += ["", "Per seed (all splits):", "", "| seed | encoder learns | flagged / noisy | "
              + " | ".join(h for _, h in SHOWN) + " |", "|---|---|---|" + "---|" * len(SHOWN)]
    for s in seeds:
        for tag, splits in variants.items():
            r = results[s][tag]["all splits"]
            lines.append(f"| {s} | {splits} | {r['n_flagged']} / {r['n_noisy']} | "
                         + " | ".join(f"{r[k]:.3f}" for k, _ in SHOWN) + " |")
    rows = [(s, tag) for s in seeds for tag in variants if "baselines" in results[s][tag]]
    if rows:
        lines += ["", "The claim on the train split, against `dfer-curate baselines` on the same network (its defaults: "
                  "cleanlab on the network's in-sample clip probabilities; AUM, loss-GMM and cartography on its training "
                  "dynamics): noisy-vs-hard AUROC of ours and of the best baseline, F1 of ours and of cleanlab's best "
                  "filter:", "", "| seed | encoder learns | ours noisy-vs-hard | best baseline | its noisy-vs-hard | lead "
                  "| ours F1 | cleanlab's best filter | its F1 |", "|---|---|---|---|---|---|---|---|---|"]
        for s, tag in rows:
            b = results[s][tag]["baselines"]
            lines.append(f"| {s} | {variants[tag]} | {b['ours_nvh']:.3f} | {b['best_baseline']} | {b['best_nvh']:.3f} | "
                         f"{b['ours_nvh'] - b['best_nvh']:+.3f} | {b['ours_f1']:.3f} | {b['cleanlab_filter']} | "
                         f"{b['cleanlab_f1']:.3f} |")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="runs/encsplits", help="run directories are ROOT_s<seed>_<trainval|all>")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--n", type=int, default=1200, help="videos per set")
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"encoders to compare, of {', '.join(VARIANTS)} (`all` alone: the default path's numbers)")
    p.add_argument("--json", default=None, help="also write the numbers here")
    p.add_argument("--md", default=None, help="write the markdown report here")
    args = p.parse_args(argv)
    tags = args.variants.split(",")
    if any(t not in VARIANTS for t in tags):
        p.error(f"--variants takes a comma-separated subset of {', '.join(VARIANTS)}, got {args.variants!r}")
    variants = {t: VARIANTS[t] for t in VARIANTS if t in tags}
    results, spent = {}, 0.0
    for seed in (int(s) for s in args.seeds.split(",")):
        data_run = None  # the first variant renders the set; the others share its videos
        for tag, splits in variants.items():
            run = Path(f"{args.root}_s{seed}_{tag}")
            spent += audit(run, seed, splits, n=args.n, data_run=data_run)
            run_baselines(run)
            data_run = data_run or run
        results[seed] = {tag: measure(Path(f"{args.root}_s{seed}_{tag}")) for tag in variants}
    for seed, r in results.items():
        for tag in variants:
            a = r[tag]["all splits"]
            print(f"seed {seed} {tag:8s} all splits: " + ", ".join(f"{h} {a[k]:.3f}" for k, h in SHOWN))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.md:
        command = "benchmarks/encoder_splits.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        write_markdown(results, Path(args.md), command, spent / 60, n=args.n, variants=variants)
        print(f"wrote {args.md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
