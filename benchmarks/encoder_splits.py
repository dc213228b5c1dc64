"""Whose labels the given-label encoder should learn, measured where every split's labels are
noisy (DFEW, FERV39K and MAFW test labels come from the same annotators as train's): the
default path (`pretrain --given-labels`, `embed`, `train --frozen`, `score`) with the encoder
learning train + val labels, against every split's, on the same synthetic sets.

    .venv/bin/python benchmarks/encoder_splits.py --root runs/encsplits --seeds 0,1 \\
        --md reports/ENCODER_SPLITS.md

Per seed it renders one set (`synth --n 1200 --noise-splits train,val,test`) into
ROOT_s<seed>_trainval and audits it there with `--given-splits train,val`; ROOT_s<seed>_all
shares its videos and audits with `--given-splits train,val,test`. Finished runs (scores
present, encoder of the asked splits) are reused. Detection per split and over all splits:
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
    return measure_scores(pd.read_parquet(r.scores), r.read_manifest().df)


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


def write_markdown(results: dict, path: Path, command: str, minutes: float) -> None:
    import platform

    import torch

    seeds = sorted(results)
    lines = ["# Whose labels the given-label encoder learns (every split noisy)", "",
             "Written by `benchmarks/encoder_splits.py --md`; do not edit by hand. Reproduce with:", "",
             "```bash", f".venv/bin/python {command}", "```", "",
             f"Machine: {os.cpu_count()} CPUs, torch {torch.__version__}, Python {platform.python_version()}; "
             f"{minutes:.0f} min of audits in this invocation (finished runs are reused).", "",
             f"Sets: `dfer-curate synth --n 1200 --noise-splits train,val,test --seed S` (20 % wrong labels in "
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
        for tag, splits in VARIANTS.items():
            vals = [sum(results[s][tag][scope][k] for s in seeds) / len(seeds) for k, _ in SHOWN]
            lines.append(f"| {scope} | {splits} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    lines += ["", "Per seed (all splits):", "", "| seed | encoder learns | flagged / noisy | "
              + " | ".join(h for _, h in SHOWN) + " |", "|---|---|---|" + "---|" * len(SHOWN)]
    for s in seeds:
        for tag, splits in VARIANTS.items():
            r = results[s][tag]["all splits"]
            lines.append(f"| {s} | {splits} | {r['n_flagged']} / {r['n_noisy']} | "
                         + " | ".join(f"{r[k]:.3f}" for k, _ in SHOWN) + " |")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="runs/encsplits", help="run directories are ROOT_s<seed>_<trainval|all>")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--n", type=int, default=1200, help="videos per set")
    p.add_argument("--json", default=None, help="also write the numbers here")
    p.add_argument("--md", default=None, help="write the markdown report here")
    args = p.parse_args(argv)
    results, spent = {}, 0.0
    for seed in (int(s) for s in args.seeds.split(",")):
        data_run = Path(f"{args.root}_s{seed}_trainval")
        spent += audit(data_run, seed, VARIANTS["trainval"], n=args.n, data_run=None)
        spent += audit(Path(f"{args.root}_s{seed}_all"), seed, VARIANTS["all"], n=args.n, data_run=data_run)
        results[seed] = {tag: measure(Path(f"{args.root}_s{seed}_{tag}")) for tag in VARIANTS}
    for seed, r in results.items():
        for tag in VARIANTS:
            a = r[tag]["all splits"]
            print(f"seed {seed} {tag:8s} all splits: " + ", ".join(f"{h} {a[k]:.3f}" for k, h in SHOWN))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.md:
        command = "benchmarks/encoder_splits.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        write_markdown(results, Path(args.md), command, spent / 60)
        print(f"wrote {args.md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
