"""Ingest: turn a dataset in one of the known layouts into the canonical manifest.

A format reader (curation.data.formats) lists candidate rows; this module checks what every
format needs (label a known class, path inside the root, unique id, the video opens and has
frames), gathers EVERY problem into one table (file, row, video_id, problem, fix) and then
either refuses (IngestError carrying the table) or, with ``skip_bad``, writes the good rows
and a quarantine.csv of the rest. Nothing is dropped without a line in that table.

Video checks are cheap on purpose (header + first frame, ``check="header"``): a dataset of
40k videos is probed in minutes, not decoded in hours. ``check="full"`` decodes everything.
"""

from __future__ import annotations

import codecs
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from curation.data import classnames, formats
from curation.data.formats import Candidate, Listing, Problem
from curation.errors import ConfigError, IngestError, ManifestError, VideoError
from curation.fileio import write_csv
from curation.data.manifest import Manifest, check_relative, write_manifest
from curation.data.pathhints import missing_paths_hint
from curation.runs import RunDir
from curation.schema import DEFAULT_CLIP_FRAMES, DFEW_CLASSES, SPLITS
from curation.data.video import probe_video

log = logging.getLogger(__name__)

FORMATS = ("dfew", "ferv39k", "mafw", "dfer-clip", "csv", "folder")
PROBLEM_COLUMNS = ["file", "row", "video_id", "problem", "fix"]
QUARANTINE_COLUMNS = ["video_id", "path", "label", "split", "fold", "file", "row", "raw", "problem"]
PROBLEMS_FILE = "ingest_problems.csv"


@dataclass
class IngestConfig:
    """How a dataset was ingested (saved in config.json under 'ingest')."""

    format: str                      # one of FORMATS
    root: str                        # dataset root; manifest paths are relative to it
    fold: int = 1                    # DFEW/MAFW: the set whose test videos form the test split
    class_order: str | None = None   # dfew | mafw | alphabetical | comma list (dfer-clip: index order)
    classes: list[str] | None = None  # csv/folder/dfer-clip: the allowed class names
    skip_bad: bool = False           # write good rows + quarantine.csv instead of failing
    csv: str | None = None           # csv: the label file (default <root>/labels.csv)
    train: str | None = None         # dfer-clip: explicit annotation files
    val: str | None = None
    test: str | None = None
    strip_prefix: str | None = None  # dfer-clip: prefix of absolute paths to drop
    label_base: int = 0              # dfer-clip: the number of the first class (0 or 1)
    check: str = "header"            # header: header + first frame; full: decode every frame
    workers: int = 4                 # threads probing videos (PyAV releases the GIL)
    encoding: str | None = None      # of the label files; None = detect (curation.data.textfiles)
    min_class_videos: int = 5        # csv/folder without --classes: a smaller class is a problem (a typo?)
    overwrite: bool = False          # ingest into a run with results: remove every derived artifact first


@dataclass
class IngestResult:
    manifest: Manifest | None
    problems: pd.DataFrame
    quarantine: pd.DataFrame
    listing_size: int
    notes: list[str] = field(default_factory=list)
    summary: str | None = None  # one line before the table: most listed paths are missing


def collect(config: IngestConfig, *, progress: bool = False) -> IngestResult:
    """Read, check and assemble a dataset without writing anything.

    The returned manifest holds only rows without problems (None if none are left)."""
    _check_config(config)
    root = Path(config.root).expanduser()
    if not root.is_dir():
        raise ConfigError(f"--root {root}: no such folder; point it at the dataset's top folder")
    root = root.resolve()
    listing = _list(config, root)
    notes: list[str] = list(listing.notes)
    _normalise_labels(config, listing, notes)
    _check_small_classes(config, listing)
    classes = _classes(config, listing)
    _check_rows(listing, classes, root)
    _check_videos(listing, root, full=config.check == "full", workers=config.workers,
                  progress=progress, notes=notes)
    summary = missing_paths_hint(root, [c.path for c in listing.candidates if c.missing], len(listing.candidates))
    if summary:
        notes.insert(0, summary)
    good = [c for c in listing.candidates if not c.issues]
    bad = [c for c in listing.candidates if c.issues]
    problems = pd.DataFrame([vars(p) for p in sorted(listing.problems, key=_problem_order)],
                            columns=PROBLEM_COLUMNS)
    quarantine = pd.DataFrame(
        [{**{k: getattr(c, k) for k in QUARANTINE_COLUMNS if k != "problem"},
          "problem": "; ".join(c.issues)} for c in bad]
        + [{"file": p.file, "row": "all", "raw": "(no row could be read from this file)",
            "problem": p.problem} for p in listing.unread],
        columns=QUARANTINE_COLUMNS)
    manifest = None
    if good:
        df = pd.DataFrame({
            "video_id": [c.video_id for c in good],
            "path": [c.path for c in good],
            "label": [c.label for c in good],
            "split": [c.split for c in good],
            "fold": pd.array([c.fold for c in good], dtype="Int64"),
            "num_frames": pd.array([c.num_frames for c in good], dtype="Int64"),
            "source": listing.source,
        })
        manifest = Manifest(df, classes, root)
        empty = [s for s in SPLITS if s != "val" and not (df["split"] == s).any()]
        if empty:
            notes.append(f"split(s) {', '.join(empty)} have no videos")
    return IngestResult(manifest, problems, quarantine, len(listing.candidates), notes, summary)


def ingest(out, config: IngestConfig, *, progress: bool = True) -> IngestResult:
    """Ingest a dataset into run directory ``out``: manifest.parquet, classes.json, the
    config, and (when there were problems) ingest_problems.csv and, with skip_bad,
    quarantine.csv. Raises IngestError with the problems table if any problem is found and
    ``skip_bad`` is off, or if no usable video is left."""
    run = RunDir(out)
    derived = run.derived_artifacts()
    if derived and not config.overwrite:
        names = ", ".join(p.name for p in derived)
        raise IngestError(
            f"{run.path} already holds results of an earlier dataset ({names}); a new manifest would "
            f"leave them stale. Pass --overwrite to remove them first (the decision log and exports "
            f"are kept), or choose a new --out")
    result = collect(config, progress=progress)
    problems_path = run.path / PROBLEMS_FILE
    n_bad = int((result.quarantine["row"] != "all").sum()) if len(result.quarantine) else 0
    n_good = result.listing_size - n_bad
    if len(result.problems):
        write_csv(problems_path, result.problems)
    else:
        for stale in (problems_path, run.quarantine):
            if stale.exists():
                log.info("removing %s left by an earlier ingest", stale)
                stale.unlink()
    if len(result.problems) and not config.skip_bad:
        raise IngestError(
            f"{len(result.problems)} problem(s) found ({n_bad} of {result.listing_size} videos "
            f"affected); nothing was ingested. The table is also in {problems_path}. Fix them, or "
            f"re-run with --skip-bad to write the {n_good} good videos and quarantine the rest.",
            result.problems, summary=result.summary)
    if result.manifest is None:
        raise IngestError(
            f"no usable video found under {config.root} ({len(result.problems)} problem(s), "
            f"table in {problems_path})", result.problems, summary=result.summary)
    if derived:
        log.info("--overwrite: removing %s", ", ".join(str(p) for p in run.remove_derived()))
    if len(result.quarantine) or len(result.problems):
        write_csv(run.quarantine, result.quarantine)
    write_manifest(run.path, result.manifest)
    run.save_config("ingest", config)
    log.info("ingested %d videos (%d quarantined) into %s", len(result.manifest.df), n_bad, run.manifest)
    return result


# ---------------------------------------------------------------------------- internals

def _problem_order(p: Problem):
    """File by file, whole-file problems first, then by line number."""
    return (p.file, -1 if p.row == "all" else int(p.row) if p.row.isdigit() else 0)


def _check_config(config: IngestConfig) -> None:
    if config.format not in FORMATS:
        raise ConfigError(f"--format {config.format!r}: use one of {', '.join(FORMATS)}")
    if config.check not in ("header", "full"):
        raise ConfigError(f"--check {config.check!r}: use header or full")
    if config.label_base not in (0, 1):
        raise ConfigError(f"--label-base {config.label_base}: use 0 or 1")
    if config.workers < 1:
        raise ConfigError(f"--workers {config.workers}: must be >= 1")
    if config.encoding:
        try:
            codecs.lookup(config.encoding)
        except LookupError as exc:
            raise ConfigError(f"--encoding {config.encoding!r} is not an encoding Python knows; "
                              "use e.g. utf-8, utf-16, latin-1, cp1252, gbk") from exc


def _list(config: IngestConfig, root: Path) -> Listing:
    fmt = config.format
    if fmt == "dfew":
        return formats.dfew(root, fold=config.fold, encoding=config.encoding)
    if fmt == "ferv39k":
        return formats.ferv39k(root, encoding=config.encoding)
    if fmt == "mafw":
        return formats.mafw(root, fold=config.fold, encoding=config.encoding)
    if fmt == "csv":
        return formats.generic_csv(root, Path(config.csv) if config.csv else root / "labels.csv",
                                   encoding=config.encoding)
    if fmt == "folder":
        return formats.folder(root)
    # dfer-clip
    explicit = {s: getattr(config, s) for s in SPLITS if getattr(config, s)}
    if explicit and "train" not in explicit and "test" not in explicit:
        raise ConfigError("--format dfer-clip: --val alone is not enough; give --train and/or --test")
    files = ({s: Path(p) for s, p in explicit.items()} if explicit
             else formats.find_dfer_clip_files(root, config.fold))
    names = list(config.classes) if config.classes else list(DFEW_CLASSES)
    order = formats.resolve_class_order(config.class_order or ("dfew" if not config.classes else None), names)
    if config.classes and set(order) != set(config.classes):
        raise ConfigError(f"--class-order {config.class_order} does not name the same classes as --classes {config.classes}")
    return formats.dfer_clip(root, files, order, strip_prefix=config.strip_prefix,
                             label_base=config.label_base, encoding=config.encoding)


def _classes(config: IngestConfig, listing: Listing) -> list[str]:
    """The run's ordered class list; fixed-class formats may only be reordered."""
    fixed = config.format in ("dfew", "ferv39k", "mafw")
    if fixed:
        if config.classes:
            raise ConfigError(f"--classes cannot change {config.format}'s classes "
                              f"({', '.join(listing.classes)}); use --class-order to reorder them")
        order = formats.resolve_class_order(config.class_order, listing.classes)
        if sorted(order) != sorted(listing.classes):
            raise ConfigError(
                f"--class-order {config.class_order!r} gives {order}, which are not "
                f"{config.format}'s classes {listing.classes}")
        return order
    if config.format == "dfer-clip":
        return listing.classes
    names = list(config.classes) if config.classes else listing.classes
    order = formats.resolve_class_order(config.class_order, names)
    if config.classes and set(order) != set(names):
        raise ConfigError(f"--class-order {config.class_order} does not name the same classes as --classes")
    if not order and listing.candidates and not listing.problems:
        raise IngestError("no valid label found, so no class list can be built", None)
    return order


def _normalise_labels(config: IngestConfig, listing: Listing, notes: list[str]) -> None:
    """Read class names once: trimmed, compared without case (curation.data.classnames); the
    spellings merged are reported. dfer-clip labels are indices, already class names."""
    if config.format == "dfer-clip":
        return
    known = config.classes or (listing.classes if listing.fold_case else None)
    mapping, merges = classnames.normalise([c.label for c in listing.candidates], known=known)
    for c in listing.candidates:
        if c.label is not None:
            c.label = mapping.get(c.label, c.label.strip())
    notes.extend(f"class names merged: {m}" for m in merges)
    if not listing.fold_case:
        listing.classes = sorted({c.label for c in listing.candidates if c.label and not c.issues})


def _check_small_classes(config: IngestConfig, listing: Listing) -> None:
    """In the generic layouts a class is whatever a row says, so a typo makes a new class: a
    class with fewer than ``min_class_videos`` videos is a problem on each of its rows."""
    if config.format not in ("csv", "folder") or config.classes or config.min_class_videos <= 1:
        return
    rows = [c for c in listing.candidates if c.label and not c.issues]
    small = classnames.small_classes([c.label for c in rows], config.min_class_videos)
    big = [k for k in listing.classes if k not in small]
    for c in rows:
        if c.label in small:
            guess = classnames.did_you_mean(c.label, big)
            listing.flag(c, f"class {c.label!r} has only {small[c.label]} video(s), fewer than "
                            f"--min-class-videos {config.min_class_videos}: a typo, or too few to learn",
                         (f"did you mean {guess!r}? " if guess else "") + "correct the label, name the "
                         "classes with --classes, or lower --min-class-videos")
    listing.classes = big


def _check_rows(listing: Listing, classes: list[str], root: Path) -> None:
    """Label known, path inside the root, id unique: the checks every format shares."""
    known = set(classes)
    lookup = {c.lower(): c for c in classes}
    for c in listing.candidates:
        if c.issues:
            continue
        if c.label is not None and listing.fold_case:
            c.label = lookup.get(c.label.lower(), c.label)
        if c.label not in known:
            guess = classnames.did_you_mean(c.label, classes) if c.label else None
            listing.flag(c, f"label {c.label!r} is not a known class ({', '.join(classes)})"
                         + (f"; did you mean {guess!r}?" if guess else ""), listing.label_fix)
        if c.split not in SPLITS:
            listing.flag(c, f"split {c.split!r} is not one of {', '.join(SPLITS)}",
                         "use train, val or test (or leave it empty for train)")
        try:
            check_relative(c.path)
        except ManifestError:
            c.missing = True
            listing.flag(c, f"path {c.path!r} escapes the dataset root {root}",
                         "give paths relative to --root, inside it (dfer-clip: --strip-prefix "
                         "drops the old absolute prefix)")
            continue
        real = (root / c.path).resolve()  # symbolic links followed: where the file really is
        if real != root and root not in real.parents:
            listing.flag(c, f"path {c.path!r} leads outside the dataset root {root} through a "
                            f"symbolic link (to {real})",
                         "copy the video into the root, or pass the folder that really holds the "
                         "videos as --root")
    _check_duplicates(listing)


def _check_duplicates(listing: Listing) -> None:
    """A video id listed more than once: later exact copies are flagged; if the copies
    disagree (label, path or split) every copy is flagged, since none can be trusted."""
    seen: dict[str, list[Candidate]] = {}
    for c in listing.candidates:
        if c.video_id:
            seen.setdefault(c.video_id, []).append(c)
    for vid, group in seen.items():
        if len(group) < 2:
            continue
        where = ", ".join(f"{Path(g.file).name} row {g.row} ({g.split})" if g.row else g.file for g in group)
        same = len({(g.label, g.path, g.split) for g in group}) == 1
        targets = group[1:] if same else group
        what = "listed again with the same label" if same else "listed with different label/path/split"
        for g in targets:
            listing.flag(g, f"duplicated video id {vid}: {what} ({where})",
                         "keep one row per video (give distinct video_id values if they are different videos)")
    for c in listing.candidates:
        if not c.video_id and not c.issues:
            listing.flag(c, "video id is empty", "give a video_id or a path to derive it from")


def _check_videos(listing: Listing, root: Path, *, full: bool, workers: int, progress: bool,
                  notes: list[str]) -> None:
    """Open every remaining video (header + first frame) to get its frame count and catch
    missing, empty, unreadable and zero-frame videos."""
    todo = [c for c in listing.candidates if not c.issues]

    def probe(c: Candidate):
        try:
            return probe_video(root / c.path, full=full)
        except VideoError as exc:
            return exc

    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="checking videos", unit="video")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for c, res in zip(todo, pool.map(probe, todo)):
            if bar is not None:
                bar.update()
            if isinstance(res, VideoError):
                _flag_video(listing, c, root, res)
            else:
                c.num_frames = res.num_frames
    if bar is not None:
        bar.close()
    short = [c for c in todo if c.num_frames is not None and 0 < c.num_frames < DEFAULT_CLIP_FRAMES]
    if short:
        notes.append(f"{len(short)} video(s) have fewer than {DEFAULT_CLIP_FRAMES} frames, one clip of the "
                     f"default training (e.g. {short[0].video_id}: {short[0].num_frames}); train them with "
                     f"--pad-short (repeats the last frame) or remove them")
    mismatched = _declared_frame_mismatch(todo) if listing.source == "dfer-clip" else 0
    if mismatched:
        notes.append(f"{mismatched} video(s) have a different frame count than their annotation "
                     "line says; the counted number is used")


def _flag_video(listing: Listing, c: Candidate, root: Path, exc: VideoError) -> None:
    p = root / c.path
    msg = str(exc).replace(str(p), c.path)
    if not p.exists():
        c.missing = True
        listing.flag(c, f"video {c.path} does not exist under {root}",
                     "fix the path, restore the file, or remove the row")
    elif p.is_dir():
        listing.flag(c, msg, "put the video's jpg/png frames in the folder, or remove the row")
    else:
        listing.flag(c, msg, "re-encode the video (e.g. ffmpeg -i in -c:v libx264 out.mp4) or remove the row")


def _declared_frame_mismatch(cands: list[Candidate]) -> int:
    """DFER-CLIP lines carry a frame count; count the rows whose video disagrees."""
    n = 0
    for c in cands:
        parts = c.raw.split()
        if c.num_frames is not None and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) != c.num_frames:
            n += 1
    return n
