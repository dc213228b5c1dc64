"""One folder per class (optionally inside train/val/test folders)."""

from __future__ import annotations

from pathlib import Path

from curation.data.formats.common import Candidate, Listing, unique_ids_from_paths
from curation.data.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from curation.schema import SPLITS


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
