"""`dfer-curate train RUN`: train the dual-stream model with cross-clip agreement dynamics,
triage and robust training; writes checkpoints/ and dynamics.parquet."""

from pathlib import Path

from curation.commands.options import add_options, config_from_args
from curation.schema import VERDICTS
from model.config import TrainConfig  # light: dataclasses only, no torch

HELP = "train the video model (cross-clip agreement, key-expression re-sampling, robust training)"
EXAMPLE = "dfer-curate train runs/demo --epochs 12 --seed 0"

OPTIONS = ("epochs", "seed", "device", "robust", "resample", "long_term", "clips", "frames", "size", "batch_size",
           "encoder", "encoder_weights", "init", "frozen", "flag_rates", "shift", "pad_short", "threads")


def add_arguments(parser):
    parser.add_argument("run", help="run directory with manifest.parquet (from synth or ingest)")
    parser.add_argument("--folds", type=int, default=0, help="train K models and score every train video out of fold (writes scores.parquet)")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints/last.pt (same result as an uninterrupted run)")
    parser.add_argument("--rgb", action="store_true", help="use colour frames (default grey)")
    add_options(parser, TrainConfig, OPTIONS)


def build_config(args):
    """TrainConfig from the CLI arguments (unset ones keep the dataclass defaults; with
    ``--frozen`` and no ``--size``, the size of the encoder that made the embeddings, so the
    saved config says what the network saw)."""
    cfg = config_from_args(TrainConfig, args, OPTIONS)
    if args.rgb:
        cfg.grey = False
    if cfg.frozen and getattr(args, "size", None) is None:
        cfg.size = encoder_size(cfg.init or Path(args.run) / "encoder.pt") or cfg.size
    return cfg.validate()


def encoder_size(encoder_path) -> int | None:
    """The frame size in the encoder.json beside an encoder file; None when there is none."""
    import json

    meta = Path(encoder_path).with_suffix(".json")
    try:
        return int(json.loads(meta.read_text())["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run(args):
    from curation.runs import RunDir

    cfg = build_config(args)
    run_dir = RunDir(args.run)
    if args.folds and args.folds > 1:
        from curation.commands.summary import print_summary
        from model.score import summary
        from model.folds import train_folds

        scores = train_folds(args.run, folds=args.folds, config=cfg)
        s = summary(args.run, scores)
        print(f"trained {args.folds} fold models; out-of-fold scores in {run_dir.scores}")
        print_summary(s)
        print(f"next: dfer-curate baselines {args.run}")
        return 0
    from model.train import train

    out = train(args.run, cfg, progress=True, resume=args.resume)
    last = out["log"][-1] if out["log"] else {}
    print(f"trained {out['epochs']} epochs in {out['seconds']} s (best epoch {out['best_epoch']}, "
          f"{out['heldout']} accuracy {last.get('heldout_acc', float('nan')):.3f}, triage from epoch {out['triage_from']})")
    if last:
        counts = ", ".join(f"{v} {last[v]}" for v in VERDICTS if v in last)
        print(f"last epoch verdicts: {counts}; "
              f"memorization gap (train acc - held-out acc) {last['memorization']:+.3f}")
    if out.get("warning"):
        print(f"WARNING: {out['warning']}")
    print(f"checkpoints in {run_dir.checkpoints}, dynamics in {run_dir.dynamics}")
    print(f"next: dfer-curate score {args.run}")
    return 0

