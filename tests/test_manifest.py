"""The canonical manifest: round trip, atomic writes, validation errors that name the fix."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import curation.data.manifest as manifest_mod
from curation.errors import ManifestError
from curation.data.manifest import Manifest, check_relative, read_manifest, write_manifest
from curation.schema import DFEW_CLASSES, MANIFEST_COLUMNS

CLASSES = ["Happy", "Sad", "Neutral"]


def _df(n=6, **extra):
    df = pd.DataFrame({
        "video_id": [f"v{i}" for i in range(n)],
        "path": [f"clips/{i:03d}.mp4" for i in range(n)],
        "label": [CLASSES[i % 3] for i in range(n)],
        "split": ["train", "train", "val", "test", "train", "test"][:n],
        "fold": [1, 2, None, 3, 1, 2][:n],
        "num_frames": [10 + i for i in range(n)],
        "source": "test",
    })
    return df.assign(**extra)


def test_round_trip_keeps_rows_dtypes_classes_and_root(tmp_path):
    m = Manifest(_df(), CLASSES, tmp_path / "data")
    write_manifest(tmp_path / "run", m)
    back = read_manifest(tmp_path / "run")
    pd.testing.assert_frame_equal(back.df, m.df)
    assert back.classes == CLASSES
    assert back.root == (tmp_path / "data").resolve()
    assert {c: str(back.df[c].dtype) for c in MANIFEST_COLUMNS} == {
        c: str(pd.Series([], dtype=d).dtype) for c, d in MANIFEST_COLUMNS.items()}
    assert (tmp_path / "run/classes.json").read_text().count('"') == 2 * len(CLASSES)


def test_ground_truth_columns_survive(tmp_path):
    df = _df(true_label=["Happy"] * 6, is_noisy=[False, True] * 3, is_hard=[True, False, False] * 2,
             hard_kind=["brief", "", ""] * 2)
    m = Manifest(df, CLASSES, tmp_path)
    assert m.has_ground_truth
    write_manifest(tmp_path / "run", m)
    back = read_manifest(tmp_path / "run")
    assert back.has_ground_truth and back.df["is_noisy"].tolist() == [False, True] * 3
    assert not Manifest(_df(), CLASSES, tmp_path).has_ground_truth


def test_root_inside_the_run_moves_with_it(tmp_path):
    run = tmp_path / "run"
    m = Manifest(_df(), CLASSES, run / "videos")
    write_manifest(run, m)
    shutil.move(str(run), str(tmp_path / "moved"))
    assert read_manifest(tmp_path / "moved").root.resolve() == (tmp_path / "moved/videos").resolve()


def test_helpers_split_label_index_abspath(tmp_path):
    m = Manifest(_df(), CLASSES, tmp_path)
    assert m.split("test")["video_id"].tolist() == ["v3", "v5"]
    assert m.label_index(["Neutral", "Happy"]) == [2, 0]
    assert m.abspath("clips/000.mp4") == tmp_path / "clips/000.mp4"


def test_order_of_classes_is_kept_not_sorted(tmp_path):
    m = Manifest(_df(label=["Fear"] * 6), list(DFEW_CLASSES), tmp_path)
    write_manifest(tmp_path / "run", m)
    assert read_manifest(tmp_path / "run").classes == list(DFEW_CLASSES)


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    run = tmp_path / "run"
    write_manifest(run, Manifest(_df(), CLASSES, tmp_path))
    before = (run / "manifest.parquet").read_bytes()

    def broken(table, where, **kw):
        open(where, "wb").write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(manifest_mod.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_manifest(run, Manifest(_df(n=3), CLASSES, tmp_path))
    assert (run / "manifest.parquet").read_bytes() == before
    assert sorted(p.name for p in run.iterdir()) == ["classes.json", "manifest.parquet"]
    monkeypatch.undo()
    assert len(read_manifest(run).df) == 6


@pytest.mark.parametrize(("change", "match"), [
    (lambda d: d.assign(video_id=["a", "a", "b", "c", "d", "e"]), "duplicated video_id.*'a'"),
    (lambda d: d.assign(label=["Happy"] * 5 + ["Angry"]), "video v5: label 'Angry' is not one of"),
    (lambda d: d.assign(split=["train"] * 5 + ["dev"]), r"unknown split\(s\) \['dev'\]"),
    (lambda d: d.assign(path=["../x.mp4"] + [f"{i}.mp4" for i in range(5)]), "'../x.mp4' escapes the dataset root"),
    (lambda d: d.assign(path=["/abs/x.mp4"] + [f"{i}.mp4" for i in range(5)]), "escapes the dataset root"),
    (lambda d: d.drop(columns=["label"]), "lacks column.*label"),
    (lambda d: d.assign(num_frames=["many"] * 6), "'num_frames' cannot be read as Int64"),
    (lambda d: d.assign(video_id=[None] + [f"v{i}" for i in range(5)]), "without a video_id"),
])
def test_validation_errors_name_the_row_or_field(tmp_path, change, match):
    with pytest.raises(ManifestError, match=match):
        Manifest(change(_df()), CLASSES, tmp_path)


def test_duplicate_classes_refused(tmp_path):
    with pytest.raises(ManifestError, match="duplicates"):
        Manifest(_df(), ["Happy", "Sad", "Neutral", "Sad"], tmp_path)


def test_missing_optional_columns_are_added(tmp_path):
    m = Manifest(_df().drop(columns=["fold", "source"]), CLASSES, tmp_path)
    assert m.df["fold"].isna().all() and (m.df["source"] == "").all()


@pytest.mark.parametrize("bad", ["", "  ", "a/../../b", "..\\x.mp4", "/x"])
def test_check_relative_refuses(bad):
    with pytest.raises(ManifestError, match="escapes"):
        check_relative(bad)


def test_read_missing_manifest_names_the_commands(tmp_path):
    with pytest.raises(ManifestError, match="dfer-curate synth --out .* or `dfer-curate ingest"):
        read_manifest(tmp_path / "nothing")


def test_read_without_class_list_fails_clearly(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _df().to_parquet(run / "manifest.parquet")  # written by hand: no metadata, no classes.json
    with pytest.raises(ManifestError, match="carries no class list"):
        read_manifest(run)
