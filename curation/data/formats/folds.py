"""The five official folds of DFEW and MAFW: every fold's train and test file is read,
then one candidate per video is kept, with its fold and its split for the chosen fold."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from curation.data.formats.common import Candidate, Listing
from curation.errors import ConfigError

NUM_FOLDS = 5


@dataclass
class Occurrence:
    set_k: int
    kind: str  # train | test
    cand: Candidate


def merge_folds(listing: Listing, occurrences: dict[str, list[Occurrence]], fold: int,
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


def check_fold(fold: int) -> None:
    if not 1 <= int(fold) <= NUM_FOLDS:
        raise ConfigError(f"--fold {fold}: the official splits have folds 1..{NUM_FOLDS}")


def read_folds(listing: Listing, fold: int, split_file, read, missing_fix: str) -> Listing:
    """Read the train and test file of every fold (``split_file(k, kind)``, parsed by
    ``read(path, kind)``), then keep the chosen fold's split; a missing file matters only
    for the chosen fold."""
    occurrences: dict[str, list[Occurrence]] = defaultdict(list)
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
                occurrences[cand.video_id].append(Occurrence(k, kind, cand))
    merge_folds(listing, occurrences, fold, fold_files)
    return listing

