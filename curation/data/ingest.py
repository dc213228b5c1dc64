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

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from curation.data import formats
from curation.data.formats import Candidate, Listing, Problem
from curation.errors import ConfigError, IngestError, ManifestError, VideoError
from curation.fileio import write_csv
from curation.data.manifest import Manifest, check_relative, write_manifest
from curation.runs import RunDir
from curation.schema import DFEW_CLASSES, SPLITS
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


@dataclass
class IngestResult:
    manifest: Manifest | None
    problems: pd.DataFrame
    quarantine: pd.DataFrame
    listing_size: int
    notes: list[str] = field(default_factory=list)


def collect(config: IngestConfig, *, progress: bool = False) -> IngestResult:
    """Read, check and assemble a dataset without writing anything.

    The returned manifest holds only rows without problems (None if none are left)."""
    _check_config(config)
    root = Path(config.root).expanduser()
    if not root.is_dir():
        raise ConfigError(f"--root {root}: no such folder; point it at the dataset's top folder")
    root = root.resolve()
    listing = _list(config, root)
    classes = _classes(config, listing)
    notes: list[str] = []
    _check_rows(listing, classes, root)
    _check_videos(listing, root, full=config.check == "full", workers=config.workers,
                  progress=progress, notes=notes)
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
    return IngestResult(manifest, problems, quarantine, len(listing.candidates), notes)


def ingest(out, config: IngestConfig, *, progress: bool = True) -> IngestResult:
    """Ingest a dataset into run directory ``out``: manifest.parquet, classes.json, the
    config, and (when there were problems) ingest_problems.csv and, with skip_bad,
    quarantine.csv. Raises IngestError with the problems table if any problem is found and
    ``skip_bad`` is off, or if no usable video is left."""
    run = RunDir(out)
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
            result.problems)
    if result.manifest is None:
        raise IngestError(
            f"no usable video found under {config.root} ({len(result.problems)} problem(s), "
            f"table in {problems_path})", result.problems)
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


def _list(config: IngestConfig, root: Path) -> Listing:
    fmt = config.format
    if fmt == "dfew":
        return formats.dfew(root, fold=config.fold)
    if fmt == "ferv39k":
        return formats.ferv39k(root)
    if fmt == "mafw":
        return formats.mafw(root, fold=config.fold)
    if fmt == "csv":
        return formats.generic_csv(root, Path(config.csv) if config.csv else root / "labels.csv")
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
                             label_base=config.label_base)


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
    if not order and listing.candidates:
        raise IngestError("no valid label found, so no class list can be built", None)
    return order


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
            listing.flag(c, f"label {c.label!r} is not a known class ({', '.join(classes)})",
                         listing.label_fix)
        if c.split not in SPLITS:
            listing.flag(c, f"split {c.split!r} is not one of {', '.join(SPLITS)}",
                         "use train, val or test (or leave it empty for train)")
        try:
            check_relative(c.path)
        except ManifestError:
            listing.flag(c, f"path {c.path!r} escapes the dataset root {root}",
                         "give paths relative to --root, inside it (dfer-clip: --strip-prefix "
                         "drops the old absolute prefix)")
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
        where = ", ".join(f"row {g.row}" if g.row else g.file for g in group)
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
    mismatched = _declared_frame_mismatch(todo) if listing.source == "dfer-clip" else 0
    if mismatched:
        notes.append(f"{mismatched} video(s) have a different frame count than their annotation "
                     "line says; the counted number is used")


def _flag_video(listing: Listing, c: Candidate, root: Path, exc: VideoError) -> None:
    p = root / c.path
    msg = str(exc).replace(str(p), c.path)
    if not p.exists():
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
