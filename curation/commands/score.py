"""`dfer-curate score RUN`: per-video audit scores (agreement of M clips, noise score,
hardness, verdict, suggested label); writes scores.parquet, clip_probs.npy, video_logits.npy."""

from curation.commands.options import add_options, config_from_args
from model.config import ScoreConfig  # light: dataclasses only, no torch

HELP = "score every video: clip agreement, noise score, hardness, verdict, suggested label"
EXAMPLE = "dfer-curate score runs/demo --clips 8 --key-clips 4"

OPTIONS = ("checkpoint", "uniform_clips", "key_clips", "single_clip", "use_dynamics", "triage.rate_scale",
           "clip_pooling", "video_weight", "aum_weight", "triage.route", "triage.min_agree", "device")
_HELP = {
    "triage.rate_scale": "scale the estimated per-class noise rates (flag more >1, fewer <1)",
    "triage.min_agree": "with --route votes: clip agreement on another class needed to call a video noisy",
}


def add_arguments(parser):
    parser.add_argument("run", help="run directory with a trained checkpoint (dfer-curate train)")
    add_options(parser, ScoreConfig, OPTIONS, help=_HELP)
    parser.add_argument("--out-of-fold", type=int, default=0, metavar="K",
                        help="score every split with K linear heads on the cached embeddings (dfer-curate embed), "
                             "each video by a head that never saw its label; 0 = the trained network (default)")
    parser.add_argument("--cross-fit", type=int, default=0, metavar="K",
                        help="score every split with K frame classifiers trained on the other folds' given labels "
                             "from pixels (no `train` needed; about 10 min for 2,000 videos on 2 CPU cores)")
    parser.add_argument("--cross-fit-size", type=int, default=64, metavar="PX",
                        help="input size of the cross-fitted classifiers (default 64)")
    parser.add_argument("--cross-fit-steps", type=int, default=3000, metavar="N",
                        help="training batches of 32 frames per cross-fitted classifier (default 3000)")


def run(args):
    from curation.commands.summary import print_summary
    from curation.runs import RunDir
    from model.score import score, summary

    sc = config_from_args(ScoreConfig, args, OPTIONS).validate()
    if args.out_of_fold and args.cross_fit:
        from curation.errors import ConfigError

        raise ConfigError("--out-of-fold and --cross-fit are two ways to score out of fold; pick one")
    if args.out_of_fold:
        return _run_out_of_fold(args, sc)
    if args.cross_fit:
        return _run_cross_fit(args, sc)
    df = score(args.run, sc, progress=True)
    print_summary(summary(args.run, df))
    if (df["split"] == "test").any():
        from model.evaluate import evaluate

        ev = evaluate(args.run, "test", checkpoint=sc.checkpoint, device=sc.device)
        print(f"test UAR {ev['uar']:.3f}  WAR {ev['war']:.3f}  ({ev['n']} videos, {ev['labels']})")
        if not ev["held_out"]:
            print("  (the frame encoder learned the test labels, so this is no held-out measurement: for one, "
                  "`pretrain --given-labels --given-splits train,val`, then `embed`, `train --frozen`)")
    run = RunDir(args.run)
    print(f"wrote {run.scores} ({len(df)} videos), {run.clip_probs}")
    print(f"next: dfer-curate baselines {args.run}   or   dfer-curate review {args.run}")
    return 0


def _run_out_of_fold(args, sc):
    import dataclasses

    from curation.audit.crossfit import CrossfitConfig
    from curation.commands.summary import print_summary
    from curation.errors import ConfigError
    from model.embed import current_encoder_hash, open_embeddings
    from model.oof import OofConfig, score_out_of_fold
    from model.score import summary

    if args.out_of_fold < 2:
        raise ConfigError(f"--out-of-fold {args.out_of_fold}: use 2 or more folds (or 0 for the trained network)")
    cfg = OofConfig(uniform_clips=sc.uniform_clips, key_clips=sc.key_clips, triage=sc.triage,
                    crossfit=dataclasses.replace(CrossfitConfig(), folds=args.out_of_fold))
    store = open_embeddings(args.run, encoder_hash=current_encoder_hash(args.run))
    df = score_out_of_fold(args.run, store, cfg, progress=True)
    print_summary(summary(args.run, df))
    print(f"scored {len(df)} videos of every split out of fold ({args.out_of_fold} heads)")
    print(f"next: dfer-curate baselines {args.run}   or   dfer-curate review {args.run}")
    return 0


def _run_cross_fit(args, sc):
    import dataclasses

    from curation.commands.summary import print_summary
    from model.frame_folds import FrameFoldsConfig, score_frame_folds
    from model.oof import OofConfig
    from model.score import summary

    cfg = FrameFoldsConfig(folds=args.cross_fit, size=args.cross_fit_size, steps=args.cross_fit_steps,
                           clips=dataclasses.replace(OofConfig(), uniform_clips=sc.uniform_clips,
                                                     key_clips=sc.key_clips, triage=sc.triage))
    df = score_frame_folds(args.run, cfg, progress=True)
    print_summary(summary(args.run, df))
    print(f"scored {len(df)} videos of every split out of fold ({args.cross_fit} frame classifiers at "
          f"{args.cross_fit_size} px)")
    print(f"next: dfer-curate baselines {args.run}   or   dfer-curate review {args.run}")
    return 0
