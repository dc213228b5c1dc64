"""`dfer-curate export RUN`: the curated dataset in RUN/exports/<UTC stamp>/."""

HELP = "export the curated manifest (parquet, csv, DFER-CLIP and MAE-DFER lists) with provenance"
EXAMPLE = "dfer-curate export runs/demo --policy keep-given --format parquet,csv,dfer-clip,mae-dfer"

POLICIES = ("keep-given", "accept-suggestions", "exclude-unreviewed", "exclude-unreviewed-noisy", "reviewed-only")


def add_arguments(parser):
    parser.add_argument("run", help="run directory with manifest.parquet, scores.parquet (and review.sqlite)")
    parser.add_argument("--policy", default="keep-given", choices=POLICIES,
                        help="what happens to flagged videos nobody reviewed: keep their given label "
                             "(default), accept the suggested label (noisy ones), or exclude them "
                             "(reviewed-only = exclude-unreviewed); decisions always win")
    parser.add_argument("--format", default="parquet,csv,dfer-clip,mae-dfer",
                        help="comma list of parquet, csv, dfer-clip, mae-dfer (default: all)")
    parser.add_argument("--out", default=None, help="export folder (default RUN/exports/<UTC stamp>); must not exist")
    parser.add_argument("--who", default=None, help="name recorded in provenance.json (default: OS user)")


def run(args):
    from curation.review.export import export
    from curation.fileio import read_json

    out = export(args.run, policy=args.policy, formats=args.format, out=args.out, who=args.who)
    c = read_json(out / "provenance.json")["counts"]
    print(f"exported {c['kept']} videos ({c['changed']} relabelled, {c['excluded']} excluded) "
          f"with policy {args.policy} to {out}")
    print(f"retrain on {out / 'manifest.parquet'} (DFER-CLIP lists in {out / 'dfer-clip'}, "
          f"MAE-DFER in {out / 'mae-dfer'}); provenance in {out / 'provenance.json'}")
