"""DFER-CLIP style annotation files: lines `path num_frames label` with a class index."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from curation.data.formats.common import Candidate, Listing, id_from_path, read_fields, unique_ids_from_paths
from curation.errors import ConfigError
from curation.schema import SPLITS

DFER_CLIP_FILE_NAMES = ("train.txt / val.txt / test.txt, or *set_<fold>_train.txt / "
                        "*set_<fold>_test.txt (DFER-CLIP's DFEW_set_1_train.txt), or one *train*.txt "
                        "and one *test*.txt")


def find_dfer_clip_files(root, fold: int = 1) -> dict[str, Path]:
    """Annotation files for each split in ``root`` (see DFER_CLIP_FILE_NAMES)."""
    root = Path(root)
    plain = {s: root / f"{s}.txt" for s in SPLITS}
    if plain["train"].exists():
        return {s: p for s, p in plain.items() if p.exists()}
    txts = sorted(root.glob("*.txt"))
    for pattern in (f"set_{fold}_{{s}}.txt", f"set{fold}_{{s}}.txt"):
        found = {s: [p for p in txts if p.name.lower().endswith(pattern.format(s=s))] for s in SPLITS}
        if len(found["train"]) == 1:
            return {s: v[0] for s, v in found.items() if len(v) == 1}
    found = {s: [p for p in txts if s in p.name.lower()] for s in SPLITS}
    if len(found["train"]) == 1 and len(found["test"]) <= 1:
        return {s: v[0] for s, v in found.items() if len(v) == 1}
    raise ConfigError(
        f"{root}: cannot tell which annotation files to read (found {[p.name for p in txts]}); "
        f"expected {DFER_CLIP_FILE_NAMES}; or pass --train FILE --test FILE"
    )


def dfer_clip(root, files: dict[str, Path], classes: list[str], *,
              strip_prefix: str | None = None, label_base: int = 0) -> Listing:
    """DFER-CLIP style annotations: lines `path num_frames label`, label ``label_base`` is
    ``classes[0]`` (0-indexed by default; loaders that subtract 1 read 1-indexed files);
    ``files`` maps split -> txt file. Absolute paths inside ``root`` are made relative;
    ``strip_prefix`` rewrites paths written for another machine."""
    root = Path(root)
    n = len(classes)
    lo, hi = label_base, label_base + n - 1
    listing = Listing(source="dfer-clip", classes=list(classes),
                      label_fix=f"use an index {lo}..{hi} into the class order {classes}")
    for split, f in files.items():
        f = Path(f)
        if not f.exists():
            listing.file_problem(f, "annotation file does not exist", "fix the --train/--val/--test path")
            continue
        cands, numbers = [], {}
        for row, text, fields in read_fields(listing, f, 3, "`path num_frames label`"):
            path = _rebase(fields[0], root, strip_prefix) if fields else ""
            cand = Candidate(id_from_path(path), path, None, split, str(f), str(row), raw=text)
            cands.append(cand)
            if len(fields) != 3:
                listing.flag(cand, f"wrong columns: {len(fields)} field(s) in {text!r}, expected "
                             "`path num_frames label`", "write the line as <path> <num_frames> <label index>")
                continue
            try:
                numbers[id(cand)] = int(fields[2])
            except ValueError:
                listing.flag(cand, f"label {fields[2]!r} is not an integer index",
                             listing.label_fix)
        values = set(numbers.values())
        shifted = None
        if label_base == 0 and n in values and 0 not in values:
            shifted = (f"labels look 1-indexed: they run 1..{n} with no 0, but --label-base is 0",
                       "pass --label-base 1 if the file is 1-indexed (loaders that do label - 1), "
                       "or subtract 1 from every label")
        elif label_base == 1 and 0 in values:
            shifted = (f"labels look 0-indexed: label 0 occurs, but --label-base is 1 (labels 1..{n})",
                       "pass --label-base 0 if the file is 0-indexed, or add 1 to every label")
        if shifted:
            listing.flag_many(str(f), [c for c in cands if id(c) in numbers],
                              shifted[0] + ", so every label in this file would shift one class",
                              shifted[1])
            listing.candidates.extend(cands)
            continue
        for c in cands:
            v = numbers.get(id(c))
            if v is None:
                continue
            if lo <= v <= hi:
                c.label = classes[v - label_base]
            else:
                listing.flag(c, f"label index {v} is outside {lo}..{hi}", listing.label_fix +
                             " (set the order with --class-order)")
        listing.candidates.extend(cands)
    # ids of different paths must stay distinct
    ids = unique_ids_from_paths([c.path for c in listing.candidates])
    for c, i in zip(listing.candidates, ids):
        c.video_id = i
    return listing


def _rebase(path: str, root: Path, strip_prefix: str | None) -> str:
    """Make an annotation path relative to the dataset root where it can be done safely."""
    p = path.replace("\\", "/")
    if strip_prefix:
        pre = strip_prefix.replace("\\", "/").rstrip("/") + "/"
        if p.startswith(pre):
            return p[len(pre):]
    if p.startswith("/"):
        try:
            return str(PurePosixPath(p).relative_to(PurePosixPath(root.resolve().as_posix())))
        except ValueError:
            return p  # ingest reports it as escaping the root
    return p

