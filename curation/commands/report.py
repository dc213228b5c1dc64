"""`dfer-curate report`: write the run's audit report, one self-contained HTML file."""

from __future__ import annotations

HELP = "write RUN/report.html: the audit report (summary, figures, videos to review), opens offline"
EXAMPLE = "dfer-curate report runs/demo --png runs/demo/figures"


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="run directory (needs scores.parquet from `dfer-curate score`)")
    parser.add_argument("--out", metavar="FILE", default=None, help="write the report here instead of RUN/report.html")
    parser.add_argument("--png", metavar="DIR", default=None,
                        help="also write every figure as a PNG into DIR (kaleido + Chromium, about 3 s a figure)")
    parser.add_argument("--top", type=int, default=30, metavar="K", help="videos listed per table (default 30)")


def run(args):
    from reports.audit import ReportConfig, build_report

    out = build_report(args.run, out=args.out, png_dir=args.png, config=ReportConfig(top_k=args.top),
                       progress=True)
    size = out.stat().st_size / 2**20
    print(f"report: {out} ({size:.1f} MB)")
    if args.png:
        print(f"figures as PNG: {args.png}")
    print(f"open it in a browser: file://{out.resolve()}")
    return 0
