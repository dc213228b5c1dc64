"""What interrupted writes, crashed processes and a re-ingest leave in a run directory, and
how to clear it (`dfer-curate doctor RUN [--fix]`).

Leftovers found:
- temp files and folders of atomic writes (``.<name>.<random>.tmp``, e.g.
  ``checkpoints/.last.pt.x1y2.tmp`` from a killed checkpoint write, or an export's temp
  folder): removed by ``fix`` once older than ``min_age`` seconds (a younger one may belong
  to a command still running);
- SQLite side files (``review.sqlite-wal``/``-shm``) that no process holds: ``fix`` opens
  and closes the log, so SQLite itself folds the ``-wal`` events into the file and removes
  them (deleting a ``-wal`` by hand would lose decisions);
- a damaged decision log: ``fix`` moves it aside (``review.damaged-<time>.sqlite``, never
  deleted), so that a new log starts beside it;
- stale results: scores that do not describe the manifest (a new ingest into a scored run).
  Not fixed here: the message names the commands that make them again.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from curation.errors import CurationError, RunError
from curation.review.decisions import DamagedLogError, check_log_file
from curation.runs import RunDir

TEMP_NAME = re.compile(r"^\..+\.tmp$")  # curation.fileio.atomic_path and export temp folders
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


@dataclass
class Finding:
    kind: str        # temp-file | sqlite-side-file | damaged-log | stale-results | note
    path: Path
    problem: str
    fix: str         # what `fix` does, or what to run
    fixable: bool    # whether `fix` clears it

    @property
    def is_problem(self) -> bool:
        return self.kind != "note"


def find_leftovers(run_dir, *, min_age: float = 60.0) -> list[Finding]:
    """Everything worth clearing in ``run_dir`` (reads only)."""
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise RunError(f"{run.path} is not a run directory (no such folder)")
    return [*_temp_files(run.path, min_age), *_logs(run), *_stale(run)]


def fix(findings: list[Finding]) -> list[str]:
    """Clear the fixable findings; returns one line per action taken."""
    done = []
    for f in findings:
        if not f.fixable:
            continue
        if f.kind == "temp-file":
            if f.path.is_dir() and not f.path.is_symlink():
                shutil.rmtree(f.path)
            else:
                f.path.unlink(missing_ok=True)
            done.append(f"removed {f.path}")
        elif f.kind == "sqlite-side-file":
            done.append(_close_log(f.path))
        elif f.kind == "damaged-log":
            done.append(_move_aside(f.path))
    return done


# -- finders -------------------------------------------------------------------------------
def _temp_files(root: Path, min_age: float) -> list[Finding]:
    out = []
    now = time.time()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            if not TEMP_NAME.match(name):
                continue
            p = Path(dirpath) / name
            age = now - p.lstat().st_mtime
            if age >= min_age:
                out.append(Finding("temp-file", p, f"temp file of an interrupted write ({_age(age)} old)",
                                   "remove it", True))
            else:
                out.append(Finding("temp-file", p, f"temp file only {_age(age)} old: a command may still be writing it",
                                   "run doctor again when no command runs on this run", False))
        dirnames[:] = [d for d in dirnames if not TEMP_NAME.match(d)]
    return out


def _logs(run: RunDir) -> list[Finding]:
    db = run.review_db
    out = []
    sides = [db.with_name(db.name + s) for s in SIDE_SUFFIXES if db.with_name(db.name + s).exists()]
    if db.exists():
        try:
            check_log_file(db)
        except DamagedLogError as exc:
            held = _holders(db)
            return [Finding("damaged-log", db, str(exc).split("; it was left")[0],
                            "move it aside and start a new log beside it" if not held
                            else f"stop process(es) {', '.join(map(str, held))} first, then run doctor --fix",
                            not held)]
    for side in sides:
        if not db.exists():
            out.append(Finding("sqlite-side-file", side, f"side file without its database {db.name}",
                               "remove it", True))
            continue
        held = _holders(db)
        if held:
            out.append(Finding("note", side, f"in use by process(es) {', '.join(map(str, held))}",
                               "nothing to do while the dashboard or a command runs", False))
        else:
            out.append(Finding("sqlite-side-file", side, "left by a process that did not close the log",
                               "open and close the log (SQLite folds the -wal events in)", True))
    return out


def _stale(run: RunDir) -> list[Finding]:
    if not (run.manifest.exists() and run.scores.exists()):
        return []
    try:
        run.read_scores()
    except CurationError as exc:
        return [Finding("stale-results", run.scores, str(exc).split("; re-run")[0],
                        f"run `dfer-curate train {run.path}` and `dfer-curate score {run.path}` again "
                        f"(`dfer-curate ingest ... --overwrite` removes every derived artifact)", False)]
    if run.manifest.stat().st_mtime > run.scores.stat().st_mtime + 1:
        return [Finding("note", run.scores, "manifest.parquet is newer than scores.parquet (same videos and labels)",
                        f"if the videos changed, run `dfer-curate score {run.path}` again", False)]
    return []


# -- fixes ---------------------------------------------------------------------------------
def _close_log(side: Path) -> str:
    db = side.with_name(side.name[: -len(next(s for s in SIDE_SUFFIXES if side.name.endswith(s)))])
    if not side.exists():
        return f"{side} was already gone"
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    left = [s for s in SIDE_SUFFIXES if db.with_name(db.name + s).exists()]
    if left:
        return f"{db}: side file(s) {', '.join(left)} remain (another process opened the log meanwhile)"
    return f"closed {db}: its side files are gone, every event is in the file"


def _move_aside(db: Path) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = db.with_name(f"{db.stem}.damaged-{stamp}{db.suffix}")
    n = 2
    while target.exists():
        target = db.with_name(f"{db.stem}.damaged-{stamp}-{n}{db.suffix}")
        n += 1
    for s in SIDE_SUFFIXES:
        side = db.with_name(db.name + s)
        if side.exists():
            os.rename(side, target.with_name(target.name + s))
    os.rename(db, target)
    return f"moved the damaged log to {target} (kept); a new log starts at {db}"


def _holders(path: Path) -> list[int]:
    """Process ids holding ``path`` (or its side files) open, from /proc; [] where unknown."""
    names = {str(path.resolve())} | {str(path.resolve()) + s for s in SIDE_SUFFIXES}
    pids = []
    proc = Path("/proc")
    if not proc.is_dir():
        return pids
    for p in proc.iterdir():
        if not p.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in names for fd in (p / "fd").iterdir()):
                pids.append(int(p.name))
        except OSError:
            continue
    return pids


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


# -- the dataset root ----------------------------------------------------------------------
SAMPLE = 5  # videos looked up to tell a moved dataset from a few missing files


def root_problem(run_dir) -> str | None:
    """Why the run's stored dataset root cannot serve its videos here, or None.

    Checked before commands that read videos: the root must be a folder other than the
    filesystem root (a crafted manifest could otherwise name any file), and some of the
    first listed videos must be found in it."""
    from curation.data.manifest import read_manifest

    run = RunDir(run_dir)
    m = read_manifest(run.path)
    root = m.root
    fix = f"if the videos moved, point the run at them: `dfer-curate doctor {run.path} --root NEW_ROOT`"
    if root.resolve() == Path(root.anchor or "/"):
        return (f"the dataset root stored in {run.manifest} is {root}, the filesystem root: its paths "
                f"could name any file on this machine; ingest the dataset again with --root its folder")
    if not root.is_dir():
        return f"the dataset root {root} stored in {run.manifest} does not exist on this machine; {fix}"
    paths = m.df["path"].astype(str).head(SAMPLE).tolist()
    if paths and not any((root / p).exists() for p in paths):
        return (f"none of the first {len(paths)} videos of {run.manifest} is under its dataset root {root} "
                f"(e.g. {paths[0]}); {fix}")
    return None


def relocate(run_dir, new_root) -> str:
    """Point the run's manifest at the dataset in ``new_root`` (checked first); returns what was done."""
    from curation.data.manifest import Manifest, read_manifest, write_manifest

    run = RunDir(run_dir)
    m = read_manifest(run.path)
    new = Path(new_root).expanduser().resolve()
    if not new.is_dir():
        raise RunError(f"--root {new}: no such folder")
    paths = m.df["path"].astype(str).tolist()
    sample = paths[:: max(1, len(paths) // 50)][:50]
    missing = [p for p in sample if not (new / p).exists()]
    if len(missing) == len(sample) and sample:
        raise RunError(f"--root {new} does not hold the run's videos (e.g. {new / missing[0]} does not exist); "
                       "pass the folder the manifest paths are relative to")
    write_manifest(run.path, Manifest(m.df, m.classes, new))
    note = f" ({len(missing)} of {len(sample)} sampled videos missing there)" if missing else ""
    return f"the dataset root of {run.path} is now {new} (was {m.root}){note}"
