"""The canonical manifest: one row per video, its dataset root and ordered class list.

Labels are class *names*; integer indices exist only inside the model, taken from
``Manifest.classes``. Paths are relative to ``root`` and never escape it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from curation.errors import ManifestError
from curation.fileio import atomic_path, read_json, write_json
from curation.schema import GROUND_TRUTH_COLUMNS, MANIFEST_COLUMNS, SPLITS, conform

_META_KEY = b"dfer_curate"


@dataclass
class Manifest:
    df: pd.DataFrame
    classes: list[str]
    root: Path

    def __post_init__(self):
        self.root = Path(self.root)
        self.classes = list(self.classes)
        self.df = validate(self.df, self.classes)

    @property
    def has_ground_truth(self) -> bool:
        return all(c in self.df.columns for c in GROUND_TRUTH_COLUMNS)

    def split(self, name: str) -> pd.DataFrame:
        return self.df[self.df["split"] == name].reset_index(drop=True)

    def abspath(self, rel: str) -> Path:
        return self.root / rel

    def label_index(self, labels) -> list[int]:
        """Class names to indices in ``classes`` order."""
        lookup = {c: i for i, c in enumerate(self.classes)}
        return [lookup[x] for x in labels]


def validate(df: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Conform dtypes and check the invariants every stage relies on."""
    if len(set(classes)) != len(classes):
        raise ManifestError(f"class list has duplicates: {classes}")
    if "fold" not in df.columns:
        df = df.assign(fold=pd.NA)
    if "source" not in df.columns:
        df = df.assign(source="")
    df = conform(df, MANIFEST_COLUMNS, table="manifest", optional=GROUND_TRUTH_COLUMNS)
    if df["video_id"].isna().any():
        raise ManifestError("manifest has rows without a video_id")
    dup = df["video_id"][df["video_id"].duplicated()].unique().tolist()
    if dup:
        raise ManifestError(f"manifest has duplicated video_id(s): {dup[:5]}; make them unique")
    known = set(classes)
    bad = df.loc[~df["label"].isin(known), ["video_id", "label"]]
    if len(bad):
        row = bad.iloc[0]
        raise ManifestError(
            f"video {row.video_id}: label {row.label!r} is not one of the classes {classes}"
        )
    bad_split = df.loc[~df["split"].isin(SPLITS), "split"].unique().tolist()
    if bad_split:
        raise ManifestError(f"manifest has unknown split(s) {bad_split}; use one of {SPLITS}")
    for p in df["path"]:
        check_relative(p)
    return df.reset_index(drop=True)


def check_relative(path: str) -> None:
    """Refuse absolute paths and paths that climb out of the dataset root."""
    pp = PurePosixPath(str(path).replace("\\", "/"))
    if pp.is_absolute() or ".." in pp.parts or str(path).strip() == "":
        raise ManifestError(
            f"path {path!r} escapes the dataset root; paths must be relative and stay inside it"
        )


def write_manifest(run_dir, manifest: Manifest) -> Path:
    """Write manifest.parquet (root and classes in its metadata) and classes.json, atomically."""
    run_dir = Path(run_dir)
    table = pa.Table.from_pandas(manifest.df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_META_KEY] = json.dumps(
        {"classes": manifest.classes, "root": _portable_root(manifest.root, run_dir)}
    ).encode()
    table = table.replace_schema_metadata(meta)
    out = run_dir / "manifest.parquet"
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    write_json(run_dir / "classes.json", manifest.classes)
    return out


def read_manifest(run_dir) -> Manifest:
    run_dir = Path(run_dir)
    path = run_dir / "manifest.parquet"
    if not path.exists():
        raise ManifestError(
            f"{path} does not exist: create it with `dfer-curate synth --out {run_dir}` "
            f"or `dfer-curate ingest --format F --root DIR --out {run_dir}`"
        )
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    classes = meta.get("classes")
    if classes is None and (run_dir / "classes.json").exists():
        classes = read_json(run_dir / "classes.json")
    if not classes:
        raise ManifestError(f"{path} carries no class list and {run_dir / 'classes.json'} is missing")
    root = Path(meta.get("root", "."))
    if not root.is_absolute():
        root = run_dir / root
    return Manifest(table.to_pandas(), classes, root)


def _portable_root(root: Path, run_dir: Path) -> str:
    """Store a root inside the run directory relative to it, so the run can be moved whole."""
    root, run_dir = root.resolve(), run_dir.resolve()
    try:
        return str(root.relative_to(run_dir))
    except ValueError:
        return str(root)
