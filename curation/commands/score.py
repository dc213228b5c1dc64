"""`dfer-curate score RUN`: per-video audit scores (agreement of M clips, noise score,
hardness, verdict, suggested label); writes scores.parquet, clip_probs.npy, video_logits.npy."""

HELP = "score every video: clip agreement, noise score, hardness, verdict, suggested label"
EXAMPLE = "dfer-curate score runs/demo --clips 8 --key-clips 4"


def add_arguments(parser):
    parser.add_argument("run", help="run directory with a trained checkpoint (dfer-curate train)")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best", help="which checkpoint (default best)")
    parser.add_argument("--clips", type=int, default=8, help="uniform clips per video (default 8)")
    parser.add_argument("--key-clips", type=int, default=4, help="extra clips on key-expression positions (default 4)")
    parser.add_argument("--single-clip", action="store_true", help="ablation: one centred clip, no agreement")
    parser.add_argument("--no-dynamics", dest="use_dynamics", action="store_false", help="ignore the training dynamics (final model only)")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="scale the estimated per-class noise rates (flag more >1, fewer <1)")
    parser.add_argument("--video-weight", type=float, default=0.5,
                        help="share of the noise score from the video head's margin (rest: clip agreement; default 0.5)")
    parser.add_argument("--aum-weight", type=float, default=0.33,
                        help="share of the training videos' noise score from their area under the margin in training (default 0.33; 0 = off)")
    parser.add_argument("--min-agree", type=float, default=0.5, help="clip agreement on another class needed to call a video noisy")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")


def run(args):
    from model.config import ScoreConfig
    from model.score import score, summary
    from curation.commands.summary import print_summary
    from curation.runs import RunDir

    sc = ScoreConfig(checkpoint=args.checkpoint, uniform_clips=args.clips, key_clips=args.key_clips,
                     single_clip=args.single_clip, use_dynamics=args.use_dynamics, rate_scale=args.rate_scale,
                     min_agree=args.min_agree, video_weight=args.video_weight, aum_weight=args.aum_weight,
                     device=args.device)
    if (sc.uniform_clips < 1 or sc.key_clips < 0 or not 0.0 <= sc.video_weight <= 1.0
            or not 0.0 <= sc.aum_weight <= 1.0):
        from curation.errors import ConfigError

        raise ConfigError("--clips must be >= 1, --key-clips >= 0, and --video-weight and --aum-weight in [0, 1]")
    df = score(args.run, sc, progress=True)
    print_summary(summary(args.run, df))
    if (df["split"] == "test").any():
        from model.evaluate import evaluate

        ev = evaluate(args.run, "test", checkpoint=args.checkpoint, device=args.device)
        print(f"test UAR {ev['uar']:.3f}  WAR {ev['war']:.3f}  ({ev['n']} videos, {ev['labels']})")
    run = RunDir(args.run)
    print(f"wrote {run.scores} ({len(df)} videos), {run.clip_probs}")
    print(f"next: dfer-curate baselines {args.run}   or   dfer-curate review {args.run}")
    return 0
