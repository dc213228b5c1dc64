"""The demo: every stage on a small embedded synthetic set, timed, in one run directory.

An orchestration adapter (like ``bench``): it calls each stage's library function in the
order a user would, prints what each produced, and ends with the commands to look at it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

from curation.commands.summary import print_summary
from curation.fileio import write_csv
from curation.runs import RunDir

log = logging.getLogger(__name__)


@dataclass
class DemoConfig:
    n: int = 1500            # synthetic videos over all splits (70/15/15); fewer barely train
    size: int = 64           # frame size of the synthetic videos, pixels (the model resizes)
    num_frames: int = 48     # frames per video
    epochs: int = 20         # training epochs (early stopping may end sooner)
    # the README's path: `pretrain --given-labels`, `embed`, `train --frozen` (noise AUROC 0.950
    # against 0.892 for pixel training on the default set; reports/REPRESENTATION.md); False:
    # `train` on pixels at 32 px
    given_encoder: bool = True
    encoder_steps: int = 3000  # batches of the given-label encoder
    seed: int = 0
    push: bool = True        # push to FiftyOne (starts the bundled mongod)
    dataset: str = "dfer-curate-demo"  # FiftyOne dataset the demo owns (replaced on every run)


def _step(name: str, times: dict, fn, *args, **kwargs):
    print(f"\n== {name} ==", flush=True)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    times[name] = time.perf_counter() - t0
    print(f"   ({name}: {times[name]:.1f} s)", flush=True)
    return out


def _clear_previous_demo(run: RunDir) -> None:
    """A rerun of the demo replaces its own export and an empty decision log, so `make demo`
    can run twice. A log with decisions is annotators' work: it stays, and synth refuses."""
    import shutil

    from curation.review.decisions import DecisionLog

    if run.review_db.exists() and DecisionLog(run.review_db).stamp()[0] > 0:
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run.review_db}{suffix}").unlink(missing_ok=True)
    if run.exports.exists():
        shutil.rmtree(run.exports)


def run_demo(out, config: DemoConfig | None = None) -> dict[str, float]:
    """Run synth, ingest, (pretrain, embed,) train, score, baselines, push, export and report
    into ``out``."""
    from curation.audit.compare import compare_table
    from curation.review.export import export, review_command
    from curation.data.ingest import IngestConfig, ingest
    from curation.data.manifest import read_manifest
    from curation.data.synth import SynthConfig, generate
    from model.config import TrainConfig
    from model.score import score, summary
    from reports.audit import build_report

    cfg = config or DemoConfig()
    run = RunDir(out)
    _clear_previous_demo(run)
    times: dict[str, float] = {}

    _step("synth", times, generate, run.path, SynthConfig(
        n=cfg.n, size=cfg.size, num_frames=cfg.num_frames, seed=cfg.seed), overwrite=True)

    # The same videos through the generic CSV ingest, as a user's own data would arrive.
    manifest = read_manifest(run.path)
    csv = run.path / "labels.csv"
    write_csv(csv, manifest.df[["path", "label", "split", "video_id"]])
    ingested = run.path.parent / f"{run.path.name}-ingested"
    res = _step("ingest", times, ingest, ingested, IngestConfig(
        format="csv", root=manifest.root, csv=str(csv), class_order="dfew"), progress=False)
    print(f"   ingested {len(res.manifest.df)} videos from {csv} into {ingested} "
          f"({len(res.problems)} problems)")

    from model.train import train

    train_cfg = TrainConfig(epochs=cfg.epochs, seed=cfg.seed)
    if cfg.given_encoder:
        from model.embed import embed
        from model.given_encoder import GivenEncoderConfig, train_given_encoder

        enc = GivenEncoderConfig(steps=cfg.encoder_steps, seed=cfg.seed)
        _step("pretrain", times, train_given_encoder, run.path, enc)
        _step("embed", times, embed, run.path)
        train_cfg = replace(train_cfg, size=enc.size, frozen=True)
    _step("train", times, train, run.path, train_cfg)
    scores = _step("score", times, score, run.path)
    s = summary(run.path, scores)
    print_summary(s)

    from curation.fiftyone.brain import mistakenness_scores

    table = _step("baselines", times, compare_table, run.path, mistakenness=mistakenness_scores)
    print(table)

    if cfg.push:
        from curation.fiftyone.push import PushConfig, push

        r = _step("push", times, push, run.path, PushConfig(dataset=cfg.dataset, overwrite=True), progress=False)
        print(f"   FiftyOne dataset {r.dataset!r}: {r.num_samples} videos, views {', '.join(r.views)}")

    exported = _step("export", times, export, run.path)
    report = _step("report", times, build_report, run.path)  # after the export, so the report lists it

    total = sum(times.values())
    print("\n== done ==")
    print(f"pipeline time {total:.0f} s ({', '.join(f'{k} {v:.0f}s' for k, v in times.items())})")
    print(f"run directory:  {run.path}")
    print(f"audit report:   {Path(report).resolve() if report else run.report}")
    print(f"curated export: {exported}")
    if cfg.push:
        print(f"FiftyOne App:   dfer-curate browse {run.path}")
    print(f"review:         {review_command(run.path)}")
    return times
