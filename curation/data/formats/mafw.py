"""MAFW: five folds of txt split files naming the class, frame folders or clips."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from curation.data.formats.common import Candidate, Listing, canon, read_fields
from curation.data.formats.folds import check_fold, read_folds
from curation.schema import MAFW_CLASSES

MAFW_SPLIT_DIR = "split/single/no_caption"
MAFW_FRAMES_DIR = "data/frames"
MAFW_CLIPS_DIR = "data/clips"


def mafw(root, *, fold: int = 1) -> Listing:
    """MAFW: split/single/no_caption/set_1..5/{train,test}.txt with lines `03747.mp4 anger`,
    frames in data/frames/<id>/ (or the clip data/clips/<id>.mp4 when no frame folder)."""
    check_fold(fold)
    root = Path(root)
    listing = Listing(source="mafw", classes=list(MAFW_CLASSES), fold_case=True,
                      label_fix=f"use one of the 11 MAFW classes: {', '.join(MAFW_CLASSES)}")
    return read_folds(
        listing, fold,
        lambda k, kind: root / MAFW_SPLIT_DIR / f"set_{k}" / f"{kind}.txt",
        lambda f, kind: _read_mafw_txt(listing, root, f, kind),
        f"check --root points at the MAFW folder (it must hold {MAFW_SPLIT_DIR}/) or choose another --fold")


def _read_mafw_txt(listing: Listing, root: Path, f: Path, kind: str) -> list[Candidate]:
    cands = []
    for row, text, fields in read_fields(listing, f, 2, "`<id>.mp4 <class name>`"):
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
            cand.label = canon(fields[1], MAFW_CLASSES)
    return cands

