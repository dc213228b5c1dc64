"""The `dfer-curate` command line: parse arguments, call one library function per command,
turn the library's named errors into a clean message and exit code.

Each command lives in ``curation/commands/<name>.py`` with ``HELP``, ``EXAMPLE``,
``add_arguments(parser)`` and ``run(args) -> int | None``. Command modules import only
argparse-level things at import time so `--help` stays fast; heavy imports go in ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from curation.errors import CurationError, IngestError

COMMANDS = (
    "synth", "ingest", "pretrain", "embed", "train", "score", "baselines", "push", "browse",
    "review", "export", "report", "bench", "demo",
)
_MAX_PROBLEM_ROWS = 50  # the whole table is in RUN/ingest_problems.csv


def _load(name):
    return importlib.import_module(f"curation.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dfer-curate",
        description=(
            "Audit and curate labels of dynamic facial expression video datasets: "
            "tell mislabelled videos from hard ones by cross-clip agreement."
        ),
        epilog="Run `dfer-curate <command> --help` for a command's options and an example.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name in COMMANDS:
        mod = _load(name)
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=mod.HELP,
            epilog=f"example:\n  {mod.EXAMPLE}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.command:
        parser.print_help()
        return 1
    try:
        code = args._module.run(args)
    except IngestError as exc:
        if exc.problems is not None and len(exc.problems):
            shown = exc.problems.head(_MAX_PROBLEM_ROWS)
            print(shown.to_string(index=False), file=sys.stderr)
            if len(exc.problems) > len(shown):
                print(f"... and {len(exc.problems) - len(shown)} more problem(s)", file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except CurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
