"""Dataset adapters: read one dataset layout's split files into candidate manifest rows.

Each adapter returns a ``Listing``: one ``Candidate`` per video (label mapped to a class
*name*, path relative to the dataset root, split, fold, and the file and line it came
from) plus the problems it saw while reading (wrong columns, labels that are not numbers,
a file that looks 0-indexed, a video listed twice...). Adapters never open videos and never
drop a row: a row they cannot use stays in the listing with its problem, so ingest can
report it and quarantine it. Checks common to every format (known label, path inside the
root, unique id, the video really decodes) live in ``curation.data.ingest``.

Row numbers are line numbers of the file as an editor shows them (the header is line 1).
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from curation.schema import DFEW_CLASSES, MAFW_CLASSES, SPLITS
from curation.data.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

log = logging.getLogger(__name__)

FERV39K_CLASSES = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")
DFEW_SPLIT_DIR = "EmoLabel_DataSplit"
DFEW_FRAMES_DIR = "Clip/clip_224x224"
FERV39K_SPLIT_DIR = "4_setups/All_scenes"
FERV39K_FRAMES_DIR = "2_ClipsforFaceCrop"
MAFW_SPLIT_DIR = "split/single/no_caption"
MAFW_FRAMES_DIR = "data/frames"
MAFW_CLIPS_DIR = "data/clips"
NUM_FOLDS = 5
_SPLIT_ALIASES = {"training": "train", "validation": "val", "valid": "val", "dev": "val",
                  "testing": "test", "": "train"}


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


# ---------------------------------------------------------------------------- helpers

def _read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of the non-blank lines of a text file."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        return [(i, ln.strip()) for i, ln in enumerate(fh, start=1) if ln.strip()]


def _split_fields(text: str) -> list[str]:
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


def _canon(label: str, classes) -> str:
    """The class name matching ``label`` ignoring case, else the label unchanged."""
    lookup = {c.lower(): c for c in classes}
    return lookup.get(label.strip().lower(), label.strip())


def resolve_class_order(spec: str | None, names: list[str] | tuple[str, ...]) -> list[str]:
    """Class order from --class-order: 'dfew', 'mafw', 'alphabetical', or a comma list.
    ``names`` are the classes known so far (their order is the default)."""
    from curation.errors import ConfigError

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


# ---------------------------------------------------------------------------- DFEW / MAFW folds

@dataclass
class _Occurrence:
    set_k: int
    kind: str  # train | test
    cand: Candidate


def _merge_folds(listing: Listing, occurrences: dict[str, list[_Occurrence]], fold: int,
                 fold_files: dict[tuple[int, str], str]) -> None:
    """One candidate per video from its occurrences in the 5 folds' train/test files.

    ``fold`` of a video = the set in which it is a test video; ``split`` for this run =
    test if that set is ``fold``, else train."""
    for vid, occ in occurrences.items():
        here = [o for o in occ if o.set_k == fold]
        main = (here or occ)[0].cand
        issues = [i for o in occ for i in o.cand.issues]
        cand = Candidate(vid, main.path, main.label, "train", main.file, main.row,
                         raw=main.raw, issues=list(dict.fromkeys(issues)))
        by_file = defaultdict(list)
        for o in occ:
            by_file[(o.set_k, o.kind)].append(o.cand.row)
        for (k, kind), rows in by_file.items():
            if len(rows) > 1:
                listing.flag(cand, f"duplicated video id {vid}: listed {len(rows)} times "
                             f"in {fold_files[(k, kind)]} (rows {', '.join(rows)})",
                             "keep one line per video in that file")
        labels = {o.cand.label for o in occ if not o.cand.issues}
        if len(labels) > 1:
            where = "; ".join(f"{o.cand.label} in {Path(o.cand.file).parent.name}/"
                              f"{Path(o.cand.file).name} row {o.cand.row}" for o in occ)
            listing.flag(cand, f"video {vid} has different labels in different split files ({where})",
                         "make its label the same in every split file")
        test_sets = sorted({o.set_k for o in occ if o.kind == "test"})
        if len(test_sets) > 1:
            listing.flag(cand, f"video {vid} is a test video in sets {test_sets}; each video must be "
                         "a test video in exactly one fold",
                         "remove it from all but one test file")
        if any(o.kind == "train" for o in here) and any(o.kind == "test" for o in here):
            listing.flag(cand, f"video {vid} is in both the train and the test file of set_{fold} "
                         "(train/test leak)", f"remove it from one of the set_{fold} files")
        if not here:
            listing.flag(cand, f"video {vid} is listed in set(s) {sorted({o.set_k for o in occ})} "
                         f"but in neither file of set_{fold}",
                         f"add it to set_{fold}'s train or test file, or choose another --fold")
        cand.fold = test_sets[0] if len(test_sets) == 1 else None
        cand.split = "test" if any(o.kind == "test" for o in here) else "train"
        listing.candidates.append(cand)


def _check_fold(fold: int) -> None:
    from curation.errors import ConfigError

    if not 1 <= int(fold) <= NUM_FOLDS:
        raise ConfigError(f"--fold {fold}: the official splits have folds 1..{NUM_FOLDS}")


# ---------------------------------------------------------------------------- DFEW

def dfew(root, *, fold: int = 1) -> Listing:
    """DFEW: EmoLabel_DataSplit/{train,test}(single-labeled)/set_1..5.csv (header
    video_name,label; labels 1..7 in DFEW order), frames in Clip/clip_224x224/<5-digit id>/."""
    _check_fold(fold)
    root = Path(root)
    listing = Listing(source="dfew", classes=list(DFEW_CLASSES), fold_case=True,
                      label_fix="use a label 1..7 (Happy, Sad, Neutral, Angry, Surprise, Disgust, Fear)")
    return _read_folds(
        listing, fold,
        lambda k, kind: root / DFEW_SPLIT_DIR / f"{kind}(single-labeled)" / f"set_{k}.csv",
        lambda f, kind: _read_dfew_csv(listing, f, kind),
        f"check --root points at the DFEW folder (it must hold {DFEW_SPLIT_DIR}/) or choose another --fold")


def _read_folds(listing: Listing, fold: int, split_file, read, missing_fix: str) -> Listing:
    """Read the train and test file of every fold (``split_file(k, kind)``, parsed by
    ``read(path, kind)``), then keep the chosen fold's split; a missing file matters only
    for the chosen fold."""
    occurrences: dict[str, list[_Occurrence]] = defaultdict(list)
    fold_files = {}
    for k in range(1, NUM_FOLDS + 1):
        for kind in ("train", "test"):
            f = split_file(k, kind)
            fold_files[(k, kind)] = str(f)
            if not f.exists():
                if k == fold:
                    listing.file_problem(f, f"split file of the chosen fold {fold} is missing", missing_fix)
                continue
            for cand in read(f, kind):
                occurrences[cand.video_id].append(_Occurrence(k, kind, cand))
    _merge_folds(listing, occurrences, fold, fold_files)
    return listing


def _read_dfew_csv(listing: Listing, f: Path, kind: str) -> list[Candidate]:
    lines = _read_lines(f)
    if not lines:
        listing.file_problem(f, "split file is empty", "restore it from the DFEW download")
        return []
    header = [h.strip().lower() for h in lines[0][1].split(",")]
    if header != ["video_name", "label"]:
        listing.file_problem(
            f, f"wrong columns: header is {lines[0][1]!r}, expected 'video_name,label'",
            "restore the file from the DFEW download (two columns: video_name,label)")
        return []
    cands, numbers = [], {}
    for row, text in lines[1:]:
        fields = [x.strip() for x in text.split(",")]
        name = fields[0] if fields else ""
        vid = name.zfill(5) if name.isdigit() else name
        cand = Candidate(vid, f"{DFEW_FRAMES_DIR}/{vid}", None, kind, str(f), str(row), raw=text)
        cands.append(cand)
        if len(fields) != 2 or not name:
            listing.flag(cand, f"wrong columns: {len(fields)} field(s) in {text!r}, expected video_name,label",
                         "write the line as <video_name>,<label 1..7>")
            continue
        try:
            numbers[id(cand)] = int(float(fields[1]))
        except ValueError:
            label = _canon(fields[1], DFEW_CLASSES)
            if label in DFEW_CLASSES:
                cand.label = label  # a class name instead of a number: unambiguous, accept it
            else:
                listing.flag(cand, f"label {fields[1]!r} is not a number 1..7",
                             "use 1..7 for Happy, Sad, Neutral, Angry, Surprise, Disgust, Fear")
    zeros = [c for c in cands if numbers.get(id(c)) == 0]
    if zeros:
        listing.flag_many(
            str(f), [c for c in cands if id(c) in numbers],
            f"labels look 0-indexed: {len(zeros)} row(s) have label 0 (first at row {zeros[0].row}) "
            "but DFEW labels are 1..7, so every label in this file would shift one class",
            "add 1 to every label of this file (1=Happy ... 7=Fear), or ingest 0-indexed "
            "annotations with --format dfer-clip")
        return cands
    for c in cands:
        n = numbers.get(id(c))
        if n is None:
            continue
        if 1 <= n <= len(DFEW_CLASSES):
            c.label = DFEW_CLASSES[n - 1]
        else:
            listing.flag(c, f"label {n} is outside 1..7", "use 1..7 (Happy ... Fear); DFEW's 0 "
                         "means 'no single label' and those videos are not in the single-labeled set")
    return cands


# ---------------------------------------------------------------------------- FERV39K

def ferv39k(root) -> Listing:
    """FERV39K: 4_setups/All_scenes/{train,test}_All.csv with lines `Scene/Emotion/id Label`,
    frames in 2_ClipsforFaceCrop/<Scene>/<Emotion>/<id>/."""
    root = Path(root)
    listing = Listing(source="ferv39k", classes=list(FERV39K_CLASSES), fold_case=True,
                      label_fix=f"use one of {', '.join(FERV39K_CLASSES)}")
    for split in ("train", "test"):
        f = root / FERV39K_SPLIT_DIR / f"{split}_All.csv"
        if not f.exists():
            listing.file_problem(f, "split file is missing",
                                 f"check --root points at the FERV39K folder (it must hold {FERV39K_SPLIT_DIR}/)")
            continue
        rows = _read_fields(listing, f, 2, "`Scene/Emotion/id Label`")
        for row, text, fields in rows:
            vid = id_from_path(fields[0]) if fields else ""
            cand = Candidate(vid, f"{FERV39K_FRAMES_DIR}/{fields[0]}" if fields else "", None,
                             split, str(f), str(row), raw=text)
            listing.candidates.append(cand)
            if len(fields) != 2:
                listing.flag(cand, f"wrong columns: {len(fields)} field(s) in {text!r}, expected "
                             "`Scene/Emotion/id Label`", "write the line as <Scene>/<Emotion>/<id> <Label>")
                continue
            if fields[1].lstrip("-").isdigit():
                listing.flag(cand, f"label {fields[1]!r} is a number; FERV39K split files name the class",
                             f"use one of {', '.join(FERV39K_CLASSES)}")
                continue
            cand.label = _canon(fields[1], FERV39K_CLASSES)
    return listing


def _read_fields(listing: Listing, f: Path, ncols: int, expected: str, *,
                 header: bool = False) -> list[tuple[int, str, list[str]]]:
    """Lines split into fields. If most lines have the wrong number of fields, one
    whole-file problem (wrong columns) instead of a problem on every line."""
    lines = _read_lines(f)
    if header and lines:
        lines = lines[1:]
    out = [(row, text, _split_fields(text)) for row, text in lines]
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


# ---------------------------------------------------------------------------- MAFW

def mafw(root, *, fold: int = 1) -> Listing:
    """MAFW: split/single/no_caption/set_1..5/{train,test}.txt with lines `03747.mp4 anger`,
    frames in data/frames/<id>/ (or the clip data/clips/<id>.mp4 when no frame folder)."""
    _check_fold(fold)
    root = Path(root)
    listing = Listing(source="mafw", classes=list(MAFW_CLASSES), fold_case=True,
                      label_fix=f"use one of the 11 MAFW classes: {', '.join(MAFW_CLASSES)}")
    return _read_folds(
        listing, fold,
        lambda k, kind: root / MAFW_SPLIT_DIR / f"set_{k}" / f"{kind}.txt",
        lambda f, kind: _read_mafw_txt(listing, root, f, kind),
        f"check --root points at the MAFW folder (it must hold {MAFW_SPLIT_DIR}/) or choose another --fold")


def _read_mafw_txt(listing: Listing, root: Path, f: Path, kind: str) -> list[Candidate]:
    cands = []
    for row, text, fields in _read_fields(listing, f, 2, "`<id>.mp4 <class name>`"):
        name = fields[0] if fields else ""
        vid = PurePosixPath(name).stem if name else ""
        path = f"{MAFW_FRAMES_DIR}/{vid}"
        if not (root / path).exists() and (root / MAFW_CLIPS_DIR / name).is_file():
            path = f"{MAFW_CLIPS_DIR}/{name}"
        cand = Candidate(vid, path, None, kind, str(f), str(row), raw=text)
        cands.append(cand)
        if len(fields) != 2:
            listing.flag(cand, f"wrong columns: {len(fields)} field(s) in {text!r}, expected "
                         "`<id>.mp4 <class name>`", "write the line as <id>.mp4 <class name>")
        elif fields[1].lstrip("-").isdigit():
            listing.flag(cand, f"label {fields[1]!r} is a number; MAFW split files name the class",
                         f"use one of {', '.join(MAFW_CLASSES)}")
        else:
            cand.label = _canon(fields[1], MAFW_CLASSES)
    return cands


# ---------------------------------------------------------------------------- DFER-CLIP txt

DFER_CLIP_FILE_NAMES = ("train.txt / val.txt / test.txt, or *set_<fold>_train.txt / "
                        "*set_<fold>_test.txt (DFER-CLIP's DFEW_set_1_train.txt), or one *train*.txt "
                        "and one *test*.txt")


def find_dfer_clip_files(root, fold: int = 1) -> dict[str, Path]:
    """Annotation files for each split in ``root`` (see DFER_CLIP_FILE_NAMES)."""
    from curation.errors import ConfigError

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
        for row, text, fields in _read_fields(listing, f, 3, "`path num_frames label`"):
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


# ---------------------------------------------------------------------------- generic CSV

def generic_csv(root, csv_file) -> Listing:
    """A CSV with columns path,label[,split][,video_id][,fold]; paths relative to ``root``;
    a missing split means train; a missing video_id is derived from the path."""
    f = Path(csv_file)
    listing = Listing(source="csv", classes=[])
    if not f.exists():
        listing.file_problem(f, "CSV file does not exist", "pass --csv FILE (default: <root>/labels.csv)")
        return listing
    with open(f, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            listing.file_problem(f, "CSV file is empty", "write a header path,label[,split][,video_id]")
            return listing
        records = [(reader.line_num, r) for r in reader]
    missing = [c for c in ("path", "label") if c not in header]
    known = {"path", "label", "split", "video_id", "fold"}
    if missing:
        listing.file_problem(
            f, f"wrong columns: header {','.join(header)!r} lacks {', '.join(missing)}",
            "the header must name path,label and may add split, video_id, fold")
        return listing
    extra = [h for h in header if h not in known]
    if extra:
        log.warning("%s: ignoring column(s) %s (ingest reads %s)", f, extra, sorted(known))
    col = {h: i for i, h in enumerate(header)}
    cands = []
    for row, rec in records:
        if not any(x.strip() for x in rec):
            continue
        get = lambda name: rec[col[name]].strip() if name in col and col[name] < len(rec) else ""  # noqa: E731
        split = _SPLIT_ALIASES.get(get("split").lower(), get("split").lower())
        cand = Candidate(get("video_id"), get("path").replace("\\", "/"), get("label") or None,
                         split, str(f), str(row), raw=",".join(rec))
        cands.append(cand)
        if len(rec) != len(header):
            listing.flag(cand, f"wrong columns: {len(rec)} field(s) but the header has {len(header)}",
                         "give every row the header's columns (quote fields that hold commas)")
        elif not cand.path:
            listing.flag(cand, "path is empty", "give the video file or frame folder relative to --root")
        elif not cand.label:
            listing.flag(cand, "label is empty", "give the class name")
        fold = get("fold")
        if fold:
            try:
                cand.fold = int(fold)
            except ValueError:
                listing.flag(cand, f"fold {fold!r} is not an integer", "leave fold empty or give a number")
    need = [i for i, c in enumerate(cands) if not c.video_id]
    for i, vid in zip(need, unique_ids_from_paths([cands[i].path for i in need])):
        cands[i].video_id = vid
    listing.candidates = cands
    listing.classes = sorted({c.label for c in cands if c.label and not c.issues})
    return listing


# ---------------------------------------------------------------------------- folder per class

def folder(root) -> Listing:
    """ROOT/<class>/<video file or frame folder>, or ROOT/<split>/<class>/<...> when the
    top-level folders are train/val/test."""
    root = Path(root)
    listing = Listing(source="folder", classes=[], label_fix="rename or move the class folder")
    if not root.is_dir():
        listing.file_problem(root, "dataset root is not a folder", "pass --root DIR")
        return listing
    tops = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if tops and {p.name.lower() for p in tops} <= set(SPLITS):
        groups = [(p.name.lower(), p) for p in tops]
    else:
        groups = [("train", root)]
    for split, base in groups:
        for cls_dir in sorted(p for p in base.iterdir() if not p.name.startswith(".")):
            if not cls_dir.is_dir():
                listing.file_problem(cls_dir.relative_to(root),
                                     "a file where a class folder is expected",
                                     "move it into a class folder or out of the dataset root")
                continue
            for item in sorted(p for p in cls_dir.iterdir() if not p.name.startswith(".")):
                rel = item.relative_to(root).as_posix()
                cand = Candidate("", rel, cls_dir.name, split, rel, "")
                listing.candidates.append(cand)
                if item.is_file() and item.suffix.lower() not in VIDEO_EXTENSIONS:
                    kind = "an image" if item.suffix.lower() in IMAGE_EXTENSIONS else "not a video"
                    listing.flag(cand, f"{kind} file where a video file or frame folder is expected",
                                 "put frames of one video in their own folder, or remove the file")
    ids = unique_ids_from_paths([c.path for c in listing.candidates])
    for c, i in zip(listing.candidates, ids):
        c.video_id = i
    listing.classes = sorted({c.label for c in listing.candidates})
    return listing
