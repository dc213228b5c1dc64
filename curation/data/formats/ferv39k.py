"""FERV39K: train/test split files naming the class, frame folders by scene and emotion."""

from __future__ import annotations

from pathlib import Path

from curation.data.formats.common import Candidate, Listing, canon, id_from_path, read_fields

FERV39K_CLASSES = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")
FERV39K_SPLIT_DIR = "4_setups/All_scenes"
FERV39K_FRAMES_DIR = "2_ClipsforFaceCrop"


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
        rows = read_fields(listing, f, 2, "`Scene/Emotion/id Label`")
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
            cand.label = canon(fields[1], FERV39K_CLASSES)
    return listing

