"""`dfer-curate train RUN`: train the dual-stream model with cross-clip agreement dynamics,
triage and robust training; writes checkpoints/ and dynamics.parquet."""

from model.config import TrainConfig  # light: dataclasses only, no torch

HELP = "train the video model (cross-clip agreement, key-expression re-sampling, robust training)"
EXAMPLE = "dfer-curate train runs/demo --epochs 12 --seed 0"

_D = TrainConfig()  # defaults shown in --help come from the config itself


def add_arguments(parser):
    parser.add_argument("run", help="run directory with manifest.parquet (from synth or ingest)")
    parser.add_argument("--epochs", type=int, default=None, help=f"maximum epochs (default {_D.epochs}; early stopping may end sooner)")
    parser.add_argument("--folds", type=int, default=0, help="train K models and score every train video out of fold (writes scores.parquet)")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints/last.pt (same result as an uninterrupted run)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (default auto)")
    parser.add_argument("--no-robust", dest="robust", action="store_false", default=None, help="no triage-driven robust training")
    parser.add_argument("--no-resample", dest="resample", action="store_false", default=None, help="uniform clips only (no key-expression re-sampling)")
    parser.add_argument("--no-long-term", dest="long_term", action="store_false", default=None, help="no long-term stream (mean of clip tokens)")
    parser.add_argument("--clips", type=int, default=None, help=f"clips per video per step, K (default {_D.clips})")
    parser.add_argument("--frames", type=int, default=None, help=f"frames per clip, T (default {_D.frames})")
    parser.add_argument("--size", type=int, default=None, help=f"frame size the videos are resized to (default {_D.size})")
    parser.add_argument("--rgb", action="store_true", help="use colour frames (default grey)")
    parser.add_argument("--batch-size", type=int, default=None, help=f"videos per step (default {_D.batch_size})")
    parser.add_argument("--encoder", choices=("small_cnn", "resnet18", "tv_resnet18", "tv_resnet50"), default=None,
                        help="frame encoder (default small_cnn; tv_resnet18/50 take torchvision-format --encoder-weights, e.g. ImageNet or face-recognition checkpoints, at --size 112 --rgb)")
    parser.add_argument("--encoder-weights", default=None, help="local state_dict file for the frame encoder")
    parser.add_argument("--init", default=None, help="start the frame encoder from this `pretrain` file (e.g. RUN/encoder.pt) and fine-tune it")
    parser.add_argument("--frozen", action="store_true",
                        help="train only the streams and heads on the cached embeddings of `dfer-curate embed` (no pixels; fast)")
    parser.add_argument("--shift", type=int, default=None,
                        help=f"augmentation: random translation in pixels, same for every frame of a video (default {_D.shift}; 0 = off)")
    parser.add_argument("--pad-short", action="store_true", help="pad videos shorter than one clip by repeating the last frame")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


def build_config(args):
    """TrainConfig from the CLI arguments (unset ones keep the dataclass defaults)."""
    import dataclasses

    from model.config import TrainConfig

    names = ("epochs", "seed", "device", "robust", "resample", "long_term", "clips", "frames", "size",
             "batch_size", "encoder", "encoder_weights", "threads", "shift", "init")
    over = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if args.rgb:
        over["grey"] = False
    if args.pad_short:
        over["pad_short"] = True
    if getattr(args, "frozen", False):
        over["frozen"] = True
    return dataclasses.replace(TrainConfig(), **over).validate()


def run(args):
    from curation.runs import RunDir

    cfg = build_config(args)
    run_dir = RunDir(args.run)
    if args.folds and args.folds > 1:
        from model.score import summary
        from model.train import train_folds

        scores = train_folds(args.run, folds=args.folds, config=cfg)
        s = summary(args.run, scores)
        print(f"trained {args.folds} fold models; out-of-fold scores in {run_dir.scores}")
        _print_summary(s)
        print(f"next: dfer-curate baselines {args.run}")
        return 0
    from model.train import train

    out = train(args.run, cfg, progress=True, resume=args.resume)
    last = out["log"][-1] if out["log"] else {}
    print(f"trained {out['epochs']} epochs in {out['seconds']} s (best epoch {out['best_epoch']}, "
          f"{out['heldout']} accuracy {last.get('heldout_acc', float('nan')):.3f}, triage from epoch {out['triage_from']})")
    if last:
        print(f"last epoch verdicts: clean {last['clean']}, hard {last['hard']}, noisy {last['noisy']}; "
              f"memorization gap (train acc - held-out acc) {last['memorization']:+.3f}")
    if out.get("warning"):
        print(f"WARNING: {out['warning']}")
    print(f"checkpoints in {run_dir.checkpoints}, dynamics in {run_dir.dynamics}")
    print(f"next: dfer-curate score {args.run}")
    return 0


def _print_summary(s):
    c = s["counts"]
    print(f"verdicts: clean {c['clean']}, hard {c['hard']}, noisy {c['noisy']}")
    if s.get("warning"):
        print(f"WARNING: {s['warning']}")
    d = s.get("detection")
    if d:
        print(f"noise detection (train split): precision {d['precision']:.3f} recall {d['recall']:.3f} "
              f"F1 {d['f1']:.3f} AUROC {d['auroc']:.3f} | hard retention {d['hard_retention']:.3f} "
              f"| relabel accuracy {d['relabel_accuracy']:.3f}")
