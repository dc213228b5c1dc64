"""The bad-input corpus: hostile or damaged files a new user meets, each run through the real
CLI (tests/test_bad_inputs.py). A case builds its files in a temp folder and returns the
command line; it states the exit code it must end with (0 with a correct result, or 2 with a
message naming the file/row/field and the fix) and what the output must say.

Cases live in cases_ingest.py (datasets and label files) and cases_run.py (run directories:
manifests, scores, decision logs, read-only runs, leftovers)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class Assets:
    """Files built once per session and copied into each case."""

    video: Path   # a good 6-frame 16 px mp4
    run: Path     # a schema-conformant run with scores and a decision log (tests/fakerun.py)

    def copy_run(self, dest: Path) -> Path:
        shutil.copytree(self.run, dest, symlinks=True)
        return dest

    def copy_video(self, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.video, dest)
        return dest


@dataclass
class Case:
    id: str
    build: Callable[[Path, Assets], list[str]]  # (tmp folder, assets) -> CLI arguments
    code: int                                   # expected exit code: 0, or 2 for a handled error
    says: tuple[str, ...] = ()                  # what the output must contain (file/field, fix)
    check: Callable[[Path], None] | None = None  # for exit 0: the result is right (gets tmp)
    rows: int | None = None                     # --skip-bad: input rows = manifest + quarantine
    readonly: str | None = None                 # a folder (relative to tmp) mounted read-only
    tags: tuple[str, ...] = field(default_factory=tuple)


def csv_root(tmp: Path, a: Assets, rows: list[str], *, videos=("ok.mp4", "ok2.mp4"),
             header: str = "path,label,split,video_id", name: str = "labels.csv") -> Path:
    """A csv-layout dataset in tmp/data with good videos and the given label rows."""
    root = tmp / "data"
    for v in videos:
        a.copy_video(root / v)
    text = "".join(f"{line}\n" for line in ([header] if header else []) + list(rows))
    (root / name).write_text(text, encoding="utf-8")
    return root


def ingest_args(root: Path, tmp: Path, fmt: str = "csv", *extra: str) -> list[str]:
    """The ingest command; the tiny csv/folder datasets here have classes of one or two videos,
    so --min-class-videos 1 unless a case sets it (cases of small classes do)."""
    small = ["--min-class-videos", "1"] if fmt in ("csv", "folder") and "--min-class-videos" not in extra else []
    return ["ingest", "--format", fmt, "--root", str(root), "--out", str(tmp / "run"), "--workers", "1",
            *small, *extra]
