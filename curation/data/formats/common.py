"""What every format reader returns, and the helpers they share.

A reader returns a ``Listing``: one ``Candidate`` per video (label mapped to a class
*name*, path relative to the dataset root, split, fold, and the file and line it came
from) plus the problems it saw while reading (wrong columns, labels that are not numbers,
a file that looks 0-indexed, a video listed twice...). Readers never open videos and never
drop a row: a row they cannot use stays in the listing with its problem, so ingest can
report it and quarantine it. Checks common to every format (known label, path inside the
root, unique id, the video really decodes) live in ``curation.data.ingest``.

Row numbers are line numbers of the file as an editor shows them (the header is line 1).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from curation.data.video import VIDEO_EXTENSIONS
from curation.errors import ConfigError
from curation.schema import DFEW_CLASSES, MAFW_CLASSES


@dataclass
class Problem:
    """One line of the problems table."""

    file: str
    row: str  # line number in ``file``, "all" for the whole file, "" when there is no line
    problem: str
    fix: str
    video_id: str = ""


@dataclass
class Candidate:
    """A would-be manifest row; ``issues`` non-empty means it must not enter the manifest."""

    video_id: str
    path: str
    label: str | None
    split: str
    file: str
    row: str
    fold: int | None = None
    raw: str = ""
    issues: list[str] = field(default_factory=list)
    num_frames: int | None = None  # filled by ingest's video check


@dataclass
class Listing:
    """What an adapter read: candidates, problems, the format's class names in default order."""

    source: str
    classes: list[str]
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    label_fix: str = "correct the label or add the class with --classes"
    # the rows' labels are matched to ``classes`` ignoring case (fixed-class formats)
    fold_case: bool = False
    unread: list[Problem] = field(default_factory=list)

    def flag(self, cand: Candidate, problem: str, fix: str) -> None:
        """A problem of one row: one line in the table, the row quarantined."""
        cand.issues.append(problem)
        self.problems.append(Problem(cand.file, cand.row, problem, fix, cand.video_id))

    def flag_many(self, file: str, cands: list[Candidate], problem: str, fix: str) -> None:
        """A problem of a whole file: one line in the table, each of its rows quarantined."""
        for c in cands:
            c.issues.append(problem)
        self.problems.append(Problem(file, "all", problem, fix))

    def file_problem(self, file, problem: str, fix: str) -> None:
        """A file (or folder) that yields no rows at all: the table names it, and ingest
        lists it in quarantine.csv too, since its rows cannot be listed one by one."""
        p = Problem(str(file), "all", problem, fix)
        self.problems.append(p)
        self.unread.append(p)




def read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of the non-blank lines of a text file."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        return [(i, ln.strip()) for i, ln in enumerate(fh, start=1) if ln.strip()]


def split_fields(text: str) -> list[str]:
    """Fields of a whitespace- or comma-separated annotation line."""
    return [f for f in re.split(r"[,\s]+", text.strip()) if f]


def id_from_path(rel: str) -> str:
    """A readable video id from a relative path: extension dropped, '/' -> '_'."""
    p = PurePosixPath(str(rel).replace("\\", "/"))
    if p.suffix.lower() in VIDEO_EXTENSIONS:
        p = p.with_suffix("")
    return "_".join(part for part in p.parts if part not in ("", "."))


def unique_ids_from_paths(paths: list[str]) -> list[str]:
    """Ids from paths (``id_from_path``). Where different paths give one id ('a/b.mp4' and
    'a_b.mp4'), each gets a suffix -1, -2 ... in sorted path order, so ids stay unique and
    deterministic. The same path listed twice keeps one id (and is reported as a duplicate)."""
    ids = [id_from_path(p) for p in paths]
    owners: dict[str, set[str]] = defaultdict(set)
    for i, p in zip(ids, paths):
        owners[i].add(p)
    taken = set(ids)
    rename: dict[tuple[str, str], str] = {}
    for i, ps in owners.items():
        if len(ps) < 2:
            continue
        j = 0
        for p in sorted(ps):
            j += 1
            while f"{i}-{j}" in taken:
                j += 1
            rename[(i, p)] = f"{i}-{j}"
            taken.add(f"{i}-{j}")
    return [rename.get((i, p), i) for i, p in zip(ids, paths)]



def canon(label: str, classes) -> str:
    """The class name matching ``label`` ignoring case, else the label unchanged."""
    lookup = {c.lower(): c for c in classes}
    return lookup.get(label.strip().lower(), label.strip())


def resolve_class_order(spec: str | None, names: list[str] | tuple[str, ...]) -> list[str]:
    """Class order from --class-order: 'dfew', 'mafw', 'alphabetical', or a comma list.
    ``names`` are the classes known so far (their order is the default)."""
    if spec is None or spec == "":
        return list(names)
    key = spec.strip().lower()
    if key == "dfew":
        return list(DFEW_CLASSES)
    if key == "mafw":
        return list(MAFW_CLASSES)
    if key in ("alphabetical", "alpha", "sorted"):
        return sorted(names, key=str.lower)
    order = [c.strip() for c in spec.split(",") if c.strip()]
    if len(order) < 2:
        raise ConfigError(
            f"--class-order {spec!r}: give dfew, mafw, alphabetical or a comma-separated list "
            "of at least two class names"
        )
    if len(set(order)) != len(order):
        raise ConfigError(f"--class-order {spec!r} names a class twice")
    return order



def read_fields(listing: Listing, f: Path, ncols: int, expected: str) -> list[tuple[int, str, list[str]]]:
    """Lines split into fields. If most lines have the wrong number of fields, one
    whole-file problem (wrong columns) instead of a problem on every line."""
    out = [(row, text, split_fields(text)) for row, text in read_lines(f)]
    wrong = [r for r in out if len(r[2]) != ncols]
    if out and len(wrong) > len(out) / 2:
        row, text, fields = wrong[0]
        listing.file_problem(
            f, f"wrong columns: {len(wrong)} of {len(out)} lines do not have {ncols} fields "
            f"(line {row}: {text!r}); expected {expected}",
            f"check this is the right file for the format; each line must be {expected}")
        return []
    if not out:
        listing.file_problem(f, "split file is empty", "restore it or point to the right file")
    return out

