"""`dfer-curate doctor RUN`: list what interrupted or crashed commands left in a run (temp
files, SQLite side files, a damaged decision log, stale scores); --fix clears it."""

HELP = "list leftovers in a run (temp files, SQLite side files, damaged log, stale scores); --fix clears them"
EXAMPLE = "dfer-curate doctor runs/demo --fix"


def add_arguments(parser):
    parser.add_argument("run", help="run directory")
    parser.add_argument("--fix", action="store_true",
                        help="remove temp files, close the decision log's side files, move a damaged "
                             "log aside (kept, never deleted); stale scores are only reported")
    parser.add_argument("--root", default=None, metavar="DIR",
                        help="the dataset moved: point the run's manifest at DIR (checked first)")
    parser.add_argument("--min-age", type=float, default=60.0, metavar="SECONDS",
                        help="temp files younger than this may belong to a running command and are "
                             "left alone (default 60)")


def run(args):
    from curation.doctor import find_leftovers, fix, relocate

    if args.root:
        print(relocate(args.run, args.root))
    findings = find_leftovers(args.run, min_age=args.min_age)
    for f in findings:
        print(f"{f.kind:17s} {f.path}: {f.problem} -> {f.fix}")
    if args.fix:
        for line in fix(findings):
            print(f"fixed: {line}")
        findings = find_leftovers(args.run, min_age=args.min_age)
    left = [f for f in findings if f.is_problem]
    if not left:
        print(f"{args.run}: nothing to clear")
        return 0
    fixable = sum(f.fixable for f in left)
    hint = f"; `dfer-curate doctor {args.run} --fix` clears {fixable} of them" if fixable and not args.fix else ""
    print(f"{args.run}: {len(left)} problem(s) remain{hint}")
    return 1
