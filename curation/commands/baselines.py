"""`dfer-curate baselines RUN`: cleanlab, AUM, loss-GMM, cartography, FiftyOne mistakenness,
the single-clip ablation and the neighbour vote on the train split; writes
RUN/baselines.parquet."""

HELP = "run the label-noise baselines (cleanlab, AUM, loss-GMM, cartography, FiftyOne, single clip, neighbour vote)"
EXAMPLE = "dfer-curate baselines runs/demo --probs auto --seed 0"


def add_arguments(parser):
    parser.add_argument("run", help="run directory with scores.parquet, clip_probs.npy and dynamics.parquet")
    parser.add_argument("--probs", choices=("auto", "oof", "insample"), default="auto",
                        help="what cleanlab and FiftyOne get: out-of-fold probabilities from "
                             "`train --folds K` (auto: when present) or the in-sample mean of clips")
    parser.add_argument("--methods", nargs="+", metavar="M", default=None,
                        help="subset of methods (default: all); names as in the table")
    parser.add_argument("--seed", type=int, default=0, help="seed of the loss-GMM initialisation")


def run(args):
    from curation.audit import baselines as B
    from curation.audit.compare import format_table, side_by_side
    from curation.fiftyone.brain import mistakenness_scores

    cfg = B.BaselinesConfig(seed=args.seed, probs=args.probs)
    if args.methods:
        cfg.methods = list(args.methods)
    out = B.run_baselines(args.run, cfg, mistakenness=mistakenness_scores)
    print(format_table(side_by_side(args.run)))
    skipped = B.RunDir(args.run).load_config().get("baselines", {}).get("skipped", {})
    for m, why in skipped.items():
        print(f"skipped {m}: {why}")
    print(f"\nwrote {B.RunDir(args.run).baselines} ({len(out)} train videos, "
          f"{sum(c.endswith('_flag') for c in out.columns)} methods)")
    print(f"next: dfer-curate push {args.run}   or   dfer-curate report {args.run}")
