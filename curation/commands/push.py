"""`dfer-curate push`: the run's scores, clip evidence, baselines and decisions into FiftyOne."""

HELP = "push a scored run into a persistent FiftyOne video dataset (idempotent)"
EXAMPLE = "dfer-curate push runs/demo --decisions"


def add_arguments(parser):
    parser.add_argument("run", help="run directory (needs scores.parquet from `dfer-curate score`)")
    parser.add_argument("--dataset", metavar="NAME", help="dataset name (default: the run directory's name)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a dataset of that name that belongs to another run")
    parser.add_argument("--decisions", action="store_true",
                        help="also write the review decisions from RUN/review.sqlite")
    parser.add_argument("--preview-fps", type=int, default=16, metavar="FPS",
                        help="frame rate of previews rendered from frame folders (default 16)")


def run(args):
    from curation.fiftyone.db import describe_database
    from curation.fiftyone.push import PushConfig, push

    cfg = PushConfig(dataset=args.dataset, overwrite=args.overwrite, decisions=args.decisions,
                     preview_fps=args.preview_fps)
    r = push(args.run, cfg)
    verb = "created" if r.created else "updated"
    print(f"{verb} FiftyOne dataset {r.dataset!r}: {r.num_samples} videos in {r.seconds['total']:.1f} s "
          f"({r.previews_rendered} previews rendered, {r.previews_cached} cached) in {describe_database()}")
    print(f"saved views: {', '.join(r.views)}")
    print(f"next: dfer-curate browse {args.run}")
