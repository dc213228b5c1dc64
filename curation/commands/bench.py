"""`dfer-curate bench`: our method against every baseline on synthetic sets with known truth."""

HELP = "benchmark our audit against cleanlab and other baselines on synthetic sets (quality, downstream, cost)"
EXAMPLE = "dfer-curate bench --quick --seed 0 --out runs/bench-quick"


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="800 videos, the default configuration only")
    parser.add_argument("--configs", nargs="+", metavar="NAME", default=None,
                        help="synthetic configurations: default noise40 hard40_noise10 symmetric "
                             "(default: all; --quick: default)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, training and baselines")
    parser.add_argument("--out", default="runs/bench", help="folder for the runs and tables (default runs/bench)")
    parser.add_argument("--n", type=int, default=None, help="videos per synthetic set (overrides the profile)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (overrides the profile)")
    parser.add_argument("--folds", type=int, default=None, help="K of cleanlab's out-of-fold models (0: no fold models; cleanlab gets in-sample probabilities)")
    parser.add_argument("--pixels", action="store_true",
                        help="audit on the path before the given-label encoder: the whole network trained on 32 px "
                             "pixels (default: pretrain --given-labels, embed, train --frozen at 64 px)")
    parser.add_argument("--no-downstream", action="store_true", help="skip the four retrainings")
    parser.add_argument("--fresh", action="store_true",
                        help="run every step again (default: resume the data and finished steps found in --out "
                             "when their settings match)")
    parser.add_argument("--report-only", action="store_true",
                        help="write BENCHMARKS.md again from the tables an earlier bench left in --out (no training)")
    parser.add_argument("--md", default=None, metavar="PATH",
                        help="also write BENCHMARKS.md to PATH (e.g. reports/BENCHMARKS.md); it is always "
                             "written into --out")

def run(args):
    from pathlib import Path

    from curation.fileio import write_text
    from curation.pipelines import bench
    from curation.pipelines.bench_config import profile
    from curation.pipelines.bench_report import criteria, rerender

    if args.report_only:
        md = rerender(args.out)
        for path in [Path(args.out) / "BENCHMARKS.md", *([Path(args.md)] if args.md else [])]:
            write_text(path, md)
            print(f"wrote {path}")
        return

    cfg = profile("quick" if args.quick else "full", pixels=args.pixels, configs=args.configs, seed=args.seed,
                  n=args.n, epochs=args.epochs, folds=args.folds)
    if args.no_downstream:
        cfg.downstream = False
    report = Path(args.md) if args.md else None
    res = bench.run_bench(cfg, args.out, report=report, resume=not args.fresh)
    print("\n".join(criteria(res)))
    print(f"\nwrote {Path(args.out) / 'BENCHMARKS.md'} and detection.csv, downstream.csv, cost.csv there"
          + (f"; and {report}" if report else ""))
    print(f"took {res['info']['wall_s'] / 60:.1f} min; the same --seed gives the same numbers (timings aside)")
