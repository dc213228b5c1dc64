"""What the pretrained encoder buys the audit: pretraining + embedding time on the default
synthetic set, `train --frozen` epoch time against today's pixel training at equal clip
sampling (side by side, same process), and the network's noise AUROC with frozen embeddings.

Writes its section of reports/REPRESENTATION.md (the probes' section is kept).

    .venv/bin/python benchmarks/frozen_training.py --run runs/default --md reports/REPRESENTATION.md
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BEGIN, END = "<!-- frozen_training: begin -->", "<!-- frozen_training: end -->"


def epoch_seconds(run_dir, cfg, *, frozen: bool, epochs: int) -> float:
    """Seconds per training epoch (training steps plus the end-of-epoch held-out pass) of
    ``cfg`` on pixels or on cached embeddings, in a scratch checkpoint folder."""
    import tempfile

    import model.train as T
    from curation.data.manifest import read_manifest
    from curation.runs import RunDir

    run = RunDir(run_dir)
    manifest = read_manifest(run.path)
    c = dataclasses.replace(cfg, frozen=frozen, epochs=epochs, robust=False)
    plan = T.make_plan(manifest, c)
    with tempfile.TemporaryDirectory() as tmp:
        if frozen:
            from model.embed import store_for_training

            store = store_for_training(run.path, manifest, c)
        else:
            from model import data

            store = data.load_frames(manifest, size=c.size, grey=c.grey, cache_dir=run.path / "cache")
        t0 = time.time()
        T.fit(run, manifest, plan, c, Path(tmp), progress=False, resume=False, write_dynamics=False, store=store)
        return (time.time() - t0) / epochs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="run directory for the default synthetic set (made if absent)")
    p.add_argument("--n", type=int, default=2000, help="videos (synth default)")
    p.add_argument("--steps", type=int, default=None, help="pretraining batches (default: PretrainConfig's)")
    p.add_argument("--timing-epochs", type=int, default=1, help="epochs timed per side")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--md", help="markdown file whose frozen-training section is (re)written")
    args = p.parse_args(argv)
    import torch

    from curation.data import synth
    from model.config import TrainConfig
    from model.embed import embed
    from model.pretrain import PretrainConfig, pretrain
    from model.score import score, summary
    from model.train import train

    t_all = time.time()
    run = Path(args.run)
    if not (run / "manifest.parquet").exists():
        synth.generate(run, synth.SynthConfig(n=args.n, seed=args.seed, workers=2), progress=False)
    torch.set_num_threads(args.threads)
    pcfg = PretrainConfig(seed=args.seed, threads=args.threads)
    if args.steps:
        pcfg = dataclasses.replace(pcfg, steps=args.steps)
    res = {}
    t0 = time.time()
    pre = pretrain(run, pcfg, progress=False)
    res["pretrain_s"] = time.time() - t0
    res["pretrain_frames"] = pre["frames"]
    emb = embed(run, progress=False, device="cpu", force=True)
    res["embed_s"], res["embed_fps"] = emb["seconds"], emb["fps"]
    print(res, flush=True)
    cfg = TrainConfig(seed=args.seed, threads=args.threads)
    res["pixel_epoch_s"] = epoch_seconds(run, cfg, frozen=False, epochs=args.timing_epochs)
    res["frozen_epoch_s"] = epoch_seconds(run, cfg, frozen=True, epochs=args.timing_epochs)
    print(res, flush=True)
    t0 = time.time()
    out = train(run, dataclasses.replace(cfg, frozen=True), progress=False)
    scores = score(run, progress=False)
    det = summary(run, scores)["detection"]
    res.update(frozen_train_s=time.time() - t0, frozen_epochs=out["epochs"], auroc=det["auroc"], f1=det["f1"],
               precision=det["precision"], recall=det["recall"], hard_retention=det["hard_retention"],
               heldout=out["best_heldout"])
    print(res, flush=True)
    res["total_s"] = time.time() - t_all
    if args.md:
        write_section(Path(args.md), args, pcfg, res, shlex.join(argv if argv is not None else sys.argv[1:]))
    return 0


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def write_section(path: Path, args, pcfg, r: dict, command: str) -> None:
    import torch

    lines = [
        BEGIN, "", "## The pretrained encoder in the audit (default synthetic set)", "",
        "Written by `benchmarks/frozen_training.py --md`; reproduce with:", "",
        "```bash", f".venv/bin/python benchmarks/frozen_training.py {command}".rstrip(), "```", "",
        f"Machine: {os.cpu_count()} CPUs shared with other jobs, {args.threads} torch thread(s), torch "
        f"{torch.__version__}, Python {platform.python_version()}; {r['total_s'] / 60:.1f} min in all.", "",
        "| step | result |", "|---|---|",
        f"| pretrain ({pcfg.steps} batches of {pcfg.batch_size} frames, {r['pretrain_frames']:,} frames decoded) "
        f"| {r['pretrain_s']:.0f} s |",
        f"| embed (every frame, CPU) | {r['embed_s']:.0f} s ({r['embed_fps']:,.0f} frames/s) |",
        f"| pretrain + embed | {(r['pretrain_s'] + r['embed_s']) / 60:.1f} min |",
        f"| one pixel epoch (today's training) | {r['pixel_epoch_s']:.1f} s |",
        f"| one `--frozen` epoch, same clips | {r['frozen_epoch_s']:.1f} s ({r['pixel_epoch_s'] / r['frozen_epoch_s']:.1f}x faster) |",
        f"| `train --frozen` + `score` ({r['frozen_epochs']} epochs) | {r['frozen_train_s']:.0f} s |",
        f"| noise AUROC (train split; 0.892 today) | {r['auroc']:.3f} |",
        f"| F1 / precision / recall / hard retention | {r['f1']:.3f} / {r['precision']:.3f} / {r['recall']:.3f} / "
        f"{r['hard_retention']:.3f} |",
        f"| best held-out accuracy | {r['heldout']:.3f} |", "",
        "Targets: pretrain + embed within 10 min: " + _met((r["pretrain_s"] + r["embed_s"]) <= 600)
        + "; a frozen epoch at least 5x faster than a pixel epoch: " + _met(r["pixel_epoch_s"] >= 5 * r["frozen_epoch_s"])
        + "; noise AUROC at least 0.95 (today's pixel training: 0.892 on the same set and seed, "
        "reports/MODEL_QUALITY.md): " + _met(r["auroc"] >= 0.95) + ". The pretrain time includes decoding the "
        "videos once into the run's frame cache, which `train` then reuses.", "", END, "",
    ]
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + text[text.index(END) + len(END):].lstrip("\n")
    path.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
