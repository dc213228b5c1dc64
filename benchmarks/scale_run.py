"""A FERV39K-sized audit end to end on this machine: render a synthetic set of 40,000 videos at
32 px, then run every command the README's pipeline lists, in order, from the command line
with default options (the encoder's `--size` set to the videos' 32 px, since a bigger input
only upsamples them). Each command runs as its own process; its wall time, CPU time and
peak resident memory (that process and the children it waited for, from ``os.wait4``) are
recorded, with the run directory's size on disk after it. FiftyOne's mongod is a daemon the
push does not wait for, so its memory is not in the push row. The audit's quality on the
train split closes the report, measured against the set's truth.

    .venv/bin/python benchmarks/scale_run.py --md reports/SCALE.md            # 40,000 videos
    .venv/bin/python benchmarks/scale_run.py --n 400 --out runs/scale_small   # a rehearsal
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.pipelines.bench import cpu_model  # noqa: E402  (no torch at import)

# the README's pipeline after the data is there; {size} is the videos' frame size
STAGES = (
    ("pretrain", "{run}", "--given-labels", "--size", "{size}"),
    ("embed", "{run}"),
    ("train", "{run}", "--frozen"),
    ("score", "{run}"),
    ("baselines", "{run}"),
    ("report", "{run}"),
    ("push", "{run}", "--overwrite"),
    ("export", "{run}", "--policy", "accept-suggestions"),
)
# a rehearsal of the orchestration only (tests): few encoder batches, two epochs
SMOKE = {"pretrain": ("--steps", "20"), "train": ("--epochs", "2")}


def run_command(args: list[str], log: Path) -> dict:
    """One `dfer-curate` command of this checkout as a child process; its wall and CPU
    seconds and peak RSS (MB) from the kernel's accounting of that child."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.time()
    with open(log, "a") as fh:
        fh.write(f"\n$ dfer-curate {shlex.join(args)}\n")
        fh.flush()
        proc = subprocess.Popen([sys.executable, "-m", "curation.cli", *args], stdout=fh,
                                stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"`dfer-curate {shlex.join(args)}` exited {proc.returncode}; see {log}")
    return {"wall_s": round(time.time() - t0, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": round(usage.ru_maxrss / 1024.0, 1)}


def disk_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def stage_commands(run: Path, *, n: int, size: int, seed: int, workers: int, smoke: bool,
                   skip: set[str]) -> list[tuple[str, list[str]]]:
    """(stage name, command-line arguments) in order: synth first, then STAGES."""
    out = [("synth", ["synth", "--out", str(run), "--n", str(n), "--size", str(size), "--seed", str(seed),
                      "--workers", str(workers)])]
    for stage, *args in STAGES:
        if stage in skip:
            continue
        cmd = [stage, *(a.format(run=run, size=size) for a in args)]
        if smoke:
            cmd += SMOKE.get(stage, ())
        out.append((stage, cmd))
    return out


def quality(run: Path) -> dict:
    """Our detection figures on the train split against the synthetic truth, and the verdict counts."""
    import pandas as pd

    from curation.audit.metrics import detection_table, ours_columns, verdicts_by_split
    from curation.data.manifest import read_manifest

    truth = read_manifest(run).df
    scores = pd.read_parquet(run / "scores.parquet")
    train = scores[scores["split"] == "train"].reset_index(drop=True)
    det = detection_table(ours_columns(train), truth, names=["ours"]).iloc[0]
    keep = ("precision", "recall", "f1", "auroc", "hard_retention", "noisy_vs_hard_auroc", "n_flagged", "n_noisy")
    by_split = verdicts_by_split(scores, truth)
    return {"train": {k: float(det[k]) for k in keep},
            "verdicts": {str(k): int(v) for k, v in train["verdict"].value_counts().items()},
            "clean_easy_flagged": {r["split"]: float(r["clean_easy_flagged"]) for r in by_split.to_dict("records")},
            "hard_precision": {r["split"]: float(r["hard_precision"]) for r in by_split.to_dict("records")}}


def write_markdown(path: Path, res: dict) -> None:
    rows = ["| stage | command | wall | CPU | peak RSS | run dir on disk |", "|---|---|---|---|---|---|"]
    for r in res["stages"]:
        rows.append(f"| {r['stage']} | `dfer-curate {r['command']}` | {r['wall_s'] / 60:.1f} min | "
                    f"{r['cpu_s'] / 60:.1f} min | {r['peak_mb'] / 1024:.2f} GiB | {r['disk_mb'] / 1024:.2f} GiB |")
    total = sum(r["wall_s"] for r in res["stages"])
    q = res["quality"]
    t = q["train"]
    text = f"""# A FERV39K-sized audit on one 2-core machine

Written by `benchmarks/scale_run.py`; do not edit by hand. Reproduce with:

```bash
{res['command']}
```

Machine: {res['machine']}; started {res['started']}. Every stage is the command line a user runs (the
README's pipeline, default options; the encoder's `--size` is the videos' {res['size']} px), one process
each. Peak RSS is that process and the children it waited for (the render workers of `synth`);
FiftyOne's mongod is a daemon outside the push's count.

{res['n']:,} synthetic videos ({res['size']} px, 48 frames, 70/15/15 train/val/test, 20 % noise and 20 % hard in train), seed {res['seed']}.

{chr(10).join(rows)}

All stages: **{total / 60:.1f} min** wall; the largest peak RSS **{max(r['peak_mb'] for r in res['stages']) / 1024:.2f} GiB**.

The audit on the train split ({int(t['n_noisy'])} noisy labels): AUROC {t['auroc']:.3f}, F1 {t['f1']:.3f}
(precision {t['precision']:.3f}, recall {t['recall']:.3f}), hard retention {t['hard_retention']:.3f},
noisy-vs-hard AUROC {t['noisy_vs_hard_auroc']:.3f}; {int(t['n_flagged'])} videos flagged noisy. Verdicts:
{', '.join(f'{k} {v}' for k, v in sorted(q['verdicts'].items()))}. Clean, easy videos flagged for review:
{', '.join(f'{s} {v:.1%}' for s, v in q['clean_easy_flagged'].items())}. Share of videos called hard that are
truly hard and correctly labelled: {', '.join(f'{s} {v:.2f}' for s, v in q['hard_precision'].items())}.
"""
    path.write_text(text)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=40000, help="videos, all splits (FERV39K has 38,935)")
    p.add_argument("--size", type=int, default=32, help="frame size of the rendered videos")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="render processes of synth")
    p.add_argument("--out", default="runs/scale", help="the run directory (replaced)")
    p.add_argument("--skip", default="", help="comma list of stages to leave out (e.g. push)")
    p.add_argument("--smoke", action="store_true", help="rehearsal: 20 encoder batches, 2 epochs")
    p.add_argument("--json", help="write the measurements here")
    p.add_argument("--md", help="write the markdown report here (e.g. reports/SCALE.md)")
    args = p.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    unknown = skip - {s[0] for s in STAGES}
    if unknown:
        p.error(f"unknown stage(s) {sorted(unknown)}; choose from {[s[0] for s in STAGES]}")
    if args.md and (args.smoke or skip):
        p.error("--md reports the whole default pipeline; leave out --smoke and --skip")
    run = Path(args.out)
    if run.exists():
        shutil.rmtree(run)
    run.parent.mkdir(parents=True, exist_ok=True)
    log = run.parent / f"{run.name}.log"
    log.unlink(missing_ok=True)
    res = {"n": args.n, "size": args.size, "seed": args.seed, "stages": [],
           "command": shlex.join([".venv/bin/python", "benchmarks/scale_run.py", *(argv if argv is not None
                                                                                   else sys.argv[1:])]),
           "machine": f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, load average at start "
                      f"{os.getloadavg()[0]:.2f}",
           "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for stage, cmd in stage_commands(run, n=args.n, size=args.size, seed=args.seed, workers=args.workers,
                                     smoke=args.smoke, skip=skip):
        print(f"[{time.strftime('%H:%M:%S')}] {stage}: dfer-curate {shlex.join(cmd)}", flush=True)
        r = run_command(cmd, log)
        r.update(stage=stage, command=shlex.join(cmd).replace(str(run), "RUN"), disk_mb=disk_mb(run))
        res["stages"].append(r)
        print(f"    {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU, peak {r['peak_mb']:.0f} MB, "
              f"run dir {r['disk_mb']:.0f} MB", flush=True)
    res["quality"] = quality(run)
    print(json.dumps(res["quality"], indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.md:
        write_markdown(Path(args.md), res)
        print(f"wrote {args.md}")
    print(f"log of every command: {log}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
