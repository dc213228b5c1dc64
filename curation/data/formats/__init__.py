"""Dataset formats: one reader per layout turns its split files into candidate manifest rows
(``common.Listing``); ``curation.data.ingest`` checks and writes them."""

from curation.data.formats.common import (
    Candidate, Listing, Problem, id_from_path, resolve_class_order, unique_ids_from_paths,
)
from curation.data.formats.dfer_clip import DFER_CLIP_FILE_NAMES, dfer_clip, find_dfer_clip_files
from curation.data.formats.dfew import dfew
from curation.data.formats.ferv39k import FERV39K_CLASSES, ferv39k
from curation.data.formats.folder import folder
from curation.data.formats.folds import NUM_FOLDS
from curation.data.formats.generic_csv import generic_csv
from curation.data.formats.mafw import mafw

__all__ = [
    "Candidate", "DFER_CLIP_FILE_NAMES", "FERV39K_CLASSES", "Listing", "NUM_FOLDS", "Problem",
    "dfer_clip", "dfew", "ferv39k", "find_dfer_clip_files", "folder", "generic_csv",
    "id_from_path", "mafw", "resolve_class_order", "unique_ids_from_paths",
]
