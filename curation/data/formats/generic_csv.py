"""A generic CSV: columns path,label[,split][,video_id][,fold]."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from curation.data.formats.common import Candidate, Listing, unique_ids_from_paths

log = logging.getLogger(__name__)

_SPLIT_ALIASES = {"training": "train", "validation": "val", "valid": "val", "dev": "val",
                  "testing": "test", "": "train"}


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

