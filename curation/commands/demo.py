"""`dfer-curate demo`: the whole pipeline on a small embedded synthetic set."""

HELP = "run every stage on a small synthetic set and print how to open the results"
EXAMPLE = "dfer-curate demo --out runs/demo"


def add_arguments(parser):
    parser.add_argument("--out", default="runs/demo", help="run directory (default runs/demo)")
    parser.add_argument("--n", type=int, default=None, help="synthetic videos (default 1500)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--no-push", action="store_true", help="skip FiftyOne (no mongod)")
    parser.add_argument("--pixels", action="store_true",
                        help="train the whole network on 32 px pixels instead of on the embeddings of an "
                             "encoder trained on the given labels (slower, and it measures worse)")


def run(args):
    from dataclasses import replace

    from curation.pipelines.demo import DemoConfig, run_demo

    cfg = DemoConfig(seed=args.seed, push=not args.no_push, given_encoder=not args.pixels)
    if args.n is not None:
        cfg = replace(cfg, n=args.n)
    if args.epochs is not None:
        cfg = replace(cfg, epochs=args.epochs)
    run_demo(args.out, cfg)
    return 0
