"""The tool with its defaults on video sets that the project's synthetic generator did not
make: generate each set (benchmarks/unseen/), ingest it through the generic CSV layout, run
`pretrain --given-labels`, `embed`, `train --frozen`, `score` and `baselines` as the README
tells a user (the command line, no other options; ``--pixels``: `train` on pixels instead),
then measure every method on the train split against the set's truth with
``curation.audit.metrics.detection_table``, beside the synthetic reference of the same path
(reports/REPRESENTATION.md; with ``--pixels`` the `full` row of reports/MODEL_QUALITY_PIXELS.md).

    .venv/bin/python benchmarks/unseen_sets.py                       # both sets, 2,000 videos each
    .venv/bin/python benchmarks/unseen_sets.py --n 400 --sets toons   # smaller, one set
    .venv/bin/python benchmarks/unseen_sets.py --md reports/UNSEEN.md
    .venv/bin/python benchmarks/unseen_sets.py --reuse --reuse-encoder --train-args=--no-resample \
        --json runs/unseen/no_resample.json   # one train option against the defaults, same encoder
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from curation.audit.compare import with_baselines  # noqa: E402
from curation.audit.metrics import detection_table, uar_war  # noqa: E402
from unseen import SETS, generate, read_truth, truth_by_path  # noqa: E402
from unseen.common import DATA_DIR, LABELS_FILE  # noqa: E402
from unseen.report import passes, write_markdown  # noqa: E402

REFERENCE = {"pixels": ROOT / "reports" / "MODEL_QUALITY_PIXELS.md", "frozen": ROOT / "reports" / "REPRESENTATION.md",
             "second_pass": ROOT / "reports" / "REPRESENTATION.md"}
# what the README tells a user to run after the ingest, per path
FIRST_PASS = (("pretrain", "--given-labels"), ("embed",), ("train", "--frozen"), ("score",))
STAGES = {"frozen": (*FIRST_PASS, ("baselines",)),
          "second_pass": (*FIRST_PASS, ("pretrain", "--given-labels", "--exclude-flagged"), *FIRST_PASS[1:],
                          ("baselines",)),
          "pixels": (("train",), ("score",), ("baselines",))}
# the section of REPRESENTATION.md that holds the default set's figures of each frozen path
SECTION = {"frozen": "frozen_training given_labels: begin",
           "second_pass": "frozen_training given_labels second_pass=True: begin"}
THREADS = [0]  # set by --threads
COLUMNS = ("method", "n_flagged", "precision", "recall", "f1", "auroc", "ap", "noisy_vs_hard_auroc",
           "hard_retention", "relabel_acc")


def reference(path: str = "frozen") -> dict:
    """Our figures on the default synthetic set with the same path: for ``pixels`` the `full`
    row of reports/MODEL_QUALITY_PIXELS.md; for ``frozen`` the mean row of the given-label section of
    reports/REPRESENTATION.md (its noisy-vs-hard AUROC from the `ours` row of the method table)."""
    lines = REFERENCE[path].read_text().splitlines()
    if path == "pixels":
        head = next(line for line in lines if line.startswith("| variant"))
        row = next(line for line in lines if line.startswith("| full |"))
        cells = _cells(head, row)
        return {"f1": float(cells["F1"]), "auroc": float(cells["AUROC"]),
                "noisy_vs_hard_auroc": float(cells["noisy-vs-hard AUROC"]),
                "hard_retention": float(cells["hard retention"]), "precision": float(cells["precision"]),
                "recall": float(cells["recall"]), "test_uar": float(cells["test UAR"]),
                "source": "the `full` row of reports/MODEL_QUALITY_PIXELS.md (pixel training)"}
    lines = lines[next(i for i, line in enumerate(lines) if SECTION[path] in line):]
    head = next(line for line in lines if line.startswith("| seed |"))
    seeds = [line for line in lines[lines.index(head) + 2:] if line.startswith("| ")]
    row = next((line for line in seeds if line.startswith("| mean |")), seeds[0])
    cells = _cells(head, row)
    method_head = next(line for line in lines if line.startswith("| method |"))
    ours = _cells(method_head, next(line for line in lines if line.startswith("| ours |")))
    return {"f1": float(cells["F1"]), "auroc": float(cells["AUROC"]),
            "noisy_vs_hard_auroc": float(ours["noisy_vs_hard_auroc"]),
            "hard_retention": float(cells["hard retention"]), "precision": float(cells["precision"]),
            "recall": float(cells["recall"]), "test_uar": float(cells["test UAR"]),
            "source": ("the mean over seeds" if cells["seed"] == "mean" else f"seed {cells['seed']}")
            + " of the given-label" + (" second-pass" if path == "second_pass" else "")
            + " section of reports/REPRESENTATION.md"}


def run_tag(train_args: str | None, path: str, pretrain_args: str | None = None) -> str:
    """The suffix of a set's run directory (run_<set><tag>): other train or pretrain options, another path."""
    return ("_diag" if train_args or pretrain_args else "") + {"pixels": "_pixels", "second_pass": "_2pass"}.get(path, "")


def _cells(head: str, row: str) -> dict:
    return dict(zip([c.strip() for c in head.strip("|").split("|")], [c.strip() for c in row.strip("|").split("|")]))


def cli(args: list[str], log: Path) -> float:
    """One `dfer-curate` command of this checkout; its output goes to ``log``; seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if THREADS[0]:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(THREADS[0])
    t0 = time.time()
    with open(log, "a") as fh:
        fh.write(f"\n$ dfer-curate {' '.join(args)}\n")
        fh.flush()
        code = subprocess.call([sys.executable, "-m", "curation.cli", *args], stdout=fh, stderr=subprocess.STDOUT,
                               env=env, cwd=ROOT)
    if code:
        raise SystemExit(f"`dfer-curate {' '.join(args)}` exited {code}; see {log}")
    return round(time.time() - t0, 1)


def run_set(name: str, work: Path, *, n: int, seed: int, workers: int, reuse: bool = False,
            train_args: tuple[str, ...] = (), pretrain_args: tuple[str, ...] = (), tag: str = "",
            path: str = "frozen", reuse_encoder: bool = False) -> dict:
    """Generate (or, with ``reuse``, keep a set made with the same arguments), ingest, run the
    stages of ``path``; then the measures. ``train_args`` and ``pretrain_args`` are extra `train`
    and `pretrain` options (not defaults). ``reuse_encoder``: train, score and baselines only, on
    the encoder and embeddings of the set's default run (run_<set>), so only the options differ."""
    out, run = work / name, work / f"run_{name}{tag}"
    log = work / f"{name}{tag}.log"
    log.unlink(missing_ok=True)
    times = {}
    if reuse_encoder:
        return _rerun_network(name, work, run, log, train_args)
    t0 = time.time()
    made = {"n": n, "seed": seed}
    stamp = out / "set.json"
    if not (reuse and stamp.exists() and json.loads(stamp.read_text()) == made):
        if out.exists():
            shutil.rmtree(out)
        generate(name, out, n=n, seed=seed, workers=workers)
        stamp.write_text(json.dumps(made))
    times["generate"] = round(time.time() - t0, 1)
    if run.exists():
        shutil.rmtree(run)
    data = out / DATA_DIR
    times["ingest"] = cli(["ingest", "--format", "csv", "--root", str(data), "--csv", str(data / LABELS_FILE),
                           "--out", str(run)], log)
    for stage, *options in STAGES[path]:
        extra = {"train": train_args, "pretrain": pretrain_args}.get(stage, ())
        key = stage if stage not in times else f"{stage} (second pass)"
        times[key] = cli([stage, str(run), *options, *extra], log)
    res = measure(run, read_truth(out))
    res["times"] = times
    res["n"] = n
    return res


def _rerun_network(name: str, work: Path, run: Path, log: Path, train_args: tuple[str, ...]) -> dict:
    """The network stages of the frozen path with ``train_args``, in a run that shares the
    default run's manifest, frame cache, encoder and embeddings."""
    from curation.data.manifest import read_manifest
    from curation.runs import fresh_sibling_run

    base = work / f"run_{name}"
    if not (base / "embeddings.npy").exists() and not (base / "embeddings.npz").exists():
        raise SystemExit(f"{base} has no embeddings; run this set once without --reuse-encoder first")
    fresh_sibling_run(base, run)
    times = {stage: cli([stage, str(run), *options, *(train_args if stage == "train" else ())], log)
             for stage, *options in (*FIRST_PASS[2:], ("baselines",))}
    res = measure(run, read_truth(work / name))
    res["times"] = times
    res["n"] = len(read_manifest(run).df)
    return res


def measure(run: Path, truth_rows: list[dict]) -> dict:
    """Every method's detection table on the train split, per-kind hard retention of ours,
    and the model's own quality (best held-out UAR, test UAR against the true labels)."""
    manifest = pd.read_parquet(run / "manifest.parquet")
    scores = pd.read_parquet(run / "scores.parquet")
    base = pd.read_parquet(run / "baselines.parquet")
    truth = truth_by_path(manifest, truth_rows, run)
    train = scores[scores["split"] == "train"].set_index("video_id").loc[base["video_id"]].reset_index()
    table = with_baselines(scores, base)
    names = ["ours", *(c[: -len("_score")] for c in base.columns if c.endswith("_score"))]
    det = detection_table(table, truth, names=names)
    t = truth.set_index("video_id").loc[train["video_id"]]
    flag = (train["verdict"] == "noisy").to_numpy()
    kinds = {}
    for k in sorted(set(t["hard_kind"].fillna(""))):
        if not k:
            continue
        keep = (t["hard_kind"] == k).to_numpy() & ~t["is_noisy"].to_numpy(bool)
        kinds[k] = {"n": int(keep.sum()), "retention": float(np.mean(~flag[keep])) if keep.any() else float("nan")}
    noisy = t["is_noisy"].to_numpy(bool)
    by_kind = {k: noisy & (t["noise_kind"] == k).to_numpy() for k in ("structured", "uniform")}
    recall_by = {k: float(np.mean(flag[m])) for k, m in by_kind.items() if m.any()}
    test = scores[scores["split"] == "test"].merge(truth[["video_id", "true_label"]], on="video_id")
    if (test["label"] != test["true_label"]).any():
        raise SystemExit(f"{run}: test labels differ from the truth; the test split should be clean")
    clip_uar, _ = uar_war(test["true_label"], test["pred_label"])
    from model.evaluate import evaluate  # the video head on the clean test split, as reports/MODEL_QUALITY_PIXELS.md

    ev = evaluate(run, "test")
    log = json.loads((run / "checkpoints" / "train_log.json").read_text())
    heldout = max((r.get("heldout_uar", float("nan")) for r in log.get("log", [])), default=float("nan"))
    return {"table": det[list(COLUMNS)].to_dict("records"), "hard_kinds": kinds, "recall_by_noise": recall_by,
            "noise_counts": {k: int(m.sum()) for k, m in by_kind.items()},
            "test_uar": float(ev["uar"]), "test_uar_held_out": bool(ev["held_out"]), "test_war": float(ev["war"]), "test_uar_clip_consensus": clip_uar, "heldout_uar": float(heldout),
            "epochs": len(log.get("log", [])), "verdicts": train["verdict"].value_counts().to_dict(),
            "n_train": int(len(train)), "n_noisy": int(noisy.sum()),
            "n_hard_clean": int((t["is_hard"].to_numpy(bool) & ~noisy).sum())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", default=",".join(SETS), help=f"comma list from {list(SETS)}")
    p.add_argument("--n", type=int, default=2000,
                   help="videos per set, all splits (default: the size of the reference synthetic set)")
    p.add_argument("--seed", type=int, default=0, help="seed of every set")
    p.add_argument("--work", default="runs/unseen", help="folder for the sets, runs and logs")
    p.add_argument("--workers", type=int, default=2, help="processes that render videos")
    p.add_argument("--threads", type=int, default=0,
                   help="OMP_NUM_THREADS for the commands (0: unset, torch's choice); 1 avoids thread thrashing "
                        "on cores shared with another job")
    p.add_argument("--reuse", action="store_true", help="keep sets already generated in --work with the same --n and --seed")
    p.add_argument("--train-args", default="",
                   help="extra `train` options, for diagnosis only (e.g. '--epochs 60'); runs go to run_<set>_diag, "
                        "and --md, which reports the defaults, is refused")
    p.add_argument("--pretrain-args", default="",
                   help="extra `pretrain --given-labels` options, for diagnosis only (e.g. '--mixup 0'); runs go "
                        "to run_<set>_diag, and --md is refused")
    p.add_argument("--reuse-encoder", action="store_true",
                   help="with --train-args: train, score and baselines only, on each set's default run's encoder "
                        "and embeddings (run that first), so the options alone differ")
    p.add_argument("--pixels", action="store_true",
                   help="audit with `train` on pixels (the path before the given-label encoder) instead of "
                        "`pretrain --given-labels`, `embed`, `train --frozen`; runs go to run_<set>_pixels")
    p.add_argument("--second-pass", action="store_true",
                   help="audit twice: after the first `score`, `pretrain --given-labels --exclude-flagged`, `embed`, "
                        "`train --frozen`, `score` again (against the second-pass section of REPRESENTATION.md)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--results", help="write --md from this --json of an earlier invocation instead of running")
    p.add_argument("--also", nargs="+", default=[], metavar="JSON",
                   help="with --md: append the --json of --train-args runs as a diagnosis section")
    p.add_argument("--remeasure", action="store_true",
                   help="with --results: measure its runs in --work again (same runs, new measures; times kept)")
    p.add_argument("--md", help="write the markdown report here (e.g. reports/UNSEEN.md)")
    args = p.parse_args(argv)
    names = [s for s in args.sets.split(",") if s]
    bad = [s for s in names if s not in SETS]
    if bad:
        p.error(f"unknown set(s) {bad}; choose from {list(SETS)}")
    if (args.train_args or args.pretrain_args) and args.md:
        p.error("--md reports the defaults; drop --train-args and --pretrain-args (or --md and keep --json)")
    if args.reuse_encoder and (not args.train_args or args.pretrain_args or args.pixels or args.second_pass):
        p.error("--reuse-encoder compares train options on the frozen path: give --train-args, "
                "and neither --pretrain-args, --pixels nor --second-pass")
    if args.pretrain_args and args.pixels:
        p.error("--pretrain-args needs the frozen path; drop --pixels")
    if args.results:
        results = json.loads(Path(args.results).read_text())
        path = results.get("path", "pixels")  # results written before the frozen path were pixel runs
        results["reference"] = {**reference(path), **results["reference"]}  # figures added since, same file
        for name, res in results["sets"].items() if args.remeasure else ():
            work = Path(args.work)
            tag = run_tag(results.get("train_args"), path, results.get("pretrain_args"))
            res.update(measure(work / f"run_{name}{tag}", read_truth(work / name)))
            print_set(name, res, results["reference"])
        if args.remeasure and args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    else:
        THREADS[0] = args.threads
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        load = os.getloadavg()[0]
        if args.pixels and args.second_pass:
            p.error("--second-pass is a pass of the frozen path; drop --pixels")
        path = "pixels" if args.pixels else ("second_pass" if args.second_pass else "frozen")
        results = {"reference": reference(path), "sets": {}, "machine": machine(load), "threads": args.threads,
                   "train_args": args.train_args, "pretrain_args": args.pretrain_args, "path": path,
                   "reuse_encoder": args.reuse_encoder,
                   "stages": [" ".join(stage) for stage in STAGES[path]],
                   "command": shlex.join(["benchmarks/unseen_sets.py", *(argv if argv is not None else sys.argv[1:])])}
        for name in names:
            results["sets"][name] = run_set(name, work, n=args.n, seed=args.seed, workers=args.workers,
                                            reuse=args.reuse, train_args=tuple(shlex.split(args.train_args)),
                                            pretrain_args=tuple(shlex.split(args.pretrain_args)),
                                            tag=run_tag(args.train_args, path, args.pretrain_args),
                                            path=path, reuse_encoder=args.reuse_encoder)
            print_set(name, results["sets"][name], results["reference"])
            results["total_s"] = round(time.time() - t0, 1)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if args.md:
        write_markdown(results, Path(args.md), also=tuple(json.loads(Path(f).read_text()) for f in args.also))
    return 0 if all(passes(r, results["reference"])[0] for r in results["sets"].values()) else 1


def machine(load: float) -> str:
    return (f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), load average {load:.2f} at the "
            f"start, torch {version('torch')}, Python {platform.python_version()}")


def print_set(name: str, res: dict, ref: dict) -> None:
    print(f"\n== {name}: {res['n']} videos; stage seconds {res['times']}")
    print(pd.DataFrame(res["table"]).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"hard retention by kind (ours): {res['hard_kinds']}")
    print(f"recall by noise kind (ours): {res['recall_by_noise']}")
    print(f"model: best held-out UAR {res['heldout_uar']:.3f}, test UAR {res['test_uar']:.3f}, epochs {res['epochs']}")
    ok, why = passes(res, ref)
    print(f"requirement: {'PASS' if ok else 'FAIL'} ({why})")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
