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
import signal
import sys

from curation.errors import CurationError, IngestError

COMMANDS = (
    "synth", "ingest", "pretrain", "embed", "train", "score", "baselines", "push", "browse",
    "review", "export", "report", "bench", "demo", "doctor",
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
    previous = _terminate_cleanly()
    try:
        _check_writable(args)
        _check_root(args)
        code = args._module.run(args)
    except IngestError as exc:
        if exc.summary:
            print(f"error: {exc.summary}", file=sys.stderr)
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
    except PermissionError as exc:
        where = exc.filename or "a file"
        print(f"error: cannot write {where}: permission denied. The run directory may be "
              "read-only: copy it somewhere writable (cp -r RUN NEW) or, where the command has "
              "it, pass --out to write elsewhere", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = f": resume with `dfer-curate train {args.run} --resume`" if args.command == "train" else ""
        print(f"interrupted{hint}", file=sys.stderr)
        return 130
    except _Terminated:
        hint = f": resume with `dfer-curate train {args.run} --resume`" if args.command == "train" else ""
        print(f"terminated{hint}", file=sys.stderr)
        return 143
    finally:
        if previous is not _NOT_SET:
            signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)
    return int(code or 0)


def _check_writable(args) -> None:
    """Commands that write into RUN stop at once, with a clear message, on a read-only run."""
    what = _WRITES_RUN.get(args.command)
    run = getattr(args, "run", None)
    if what and run and os.path.isdir(run):
        from curation.runs import RunDir

        if not RunDir(run).writable():
            raise CurationError(f"{run} is read-only and `{args.command}` writes {what} into it: copy the "
                                f"run somewhere writable (cp -r {run} NEW) and run it there")


def _check_root(args) -> None:
    """Commands that read videos first check the run's stored dataset root (moved runs,
    crafted manifests), with the command that relocates it."""
    run = getattr(args, "run", None)
    if args.command in _READS_VIDEOS and run and os.path.isfile(os.path.join(run, "manifest.parquet")):
        from curation.doctor import root_problem

        why = root_problem(run)
        if why:
            raise CurationError(why)


_READS_VIDEOS = ("pretrain", "embed", "train", "score", "push", "review", "report")
_WRITES_RUN = {"pretrain": "encoder.pt", "embed": "its embedding cache", "train": "checkpoints and dynamics.parquet",
               "score": "scores.parquet", "baselines": "baselines.parquet"}


class _Terminated(BaseException):
    """SIGTERM as an exception, so that finally blocks (temp-file cleanup) run."""


def _terminate_cleanly():
    """Turn SIGTERM into _Terminated for the length of a command; returns the old handler
    (_NOT_SET outside the main thread, where Python cannot set handlers)."""
    def handler(signum, frame):
        raise _Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return _NOT_SET


_NOT_SET = object()


if __name__ == "__main__":
    sys.exit(main())
