"""DFEW: five folds of csv split files, labels 1..7 in DFEW order, frame folders."""

from __future__ import annotations

from pathlib import Path

from curation.data.formats.common import Candidate, Listing, canon, read_lines
from curation.data.formats.folds import check_fold, read_folds
from curation.schema import DFEW_CLASSES

DFEW_SPLIT_DIR = "EmoLabel_DataSplit"
DFEW_FRAMES_DIR = "Clip/clip_224x224"


def dfew(root, *, fold: int = 1) -> Listing:
    """DFEW: EmoLabel_DataSplit/{train,test}(single-labeled)/set_1..5.csv (header
    video_name,label; labels 1..7 in DFEW order), frames in Clip/clip_224x224/<5-digit id>/."""
    check_fold(fold)
    root = Path(root)
    listing = Listing(source="dfew", classes=list(DFEW_CLASSES), fold_case=True,
                      label_fix="use a label 1..7 (Happy, Sad, Neutral, Angry, Surprise, Disgust, Fear)")
    return read_folds(
        listing, fold,
        lambda k, kind: root / DFEW_SPLIT_DIR / f"{kind}(single-labeled)" / f"set_{k}.csv",
        lambda f, kind: _read_dfew_csv(listing, f, kind),
        f"check --root points at the DFEW folder (it must hold {DFEW_SPLIT_DIR}/) or choose another --fold")



def _read_dfew_csv(listing: Listing, f: Path, kind: str) -> list[Candidate]:
    lines = read_lines(f)
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
            label = canon(fields[1], DFEW_CLASSES)
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

