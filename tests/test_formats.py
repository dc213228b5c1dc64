"""Format readers on small trees built in each dataset's official layout (real frames and videos)."""

from __future__ import annotations

import pytest

from curation.data import formats
from curation.data.formats import FERV39K_CLASSES
from curation.errors import ConfigError
from curation.data.ingest import IngestConfig, collect
from curation.schema import DFEW_CLASSES, MAFW_CLASSES
from tests.dataset_trees import dfew_tree, ferv39k_tree, frames, mafw_tree, video, write_split


def _by_id(result):
    return result.manifest.df.set_index("video_id")


@pytest.mark.parametrize("padded", [True, False])
def test_dfew_reads_all_folds_and_maps_one_indexed_labels(tmp_path, padded):
    truth = dfew_tree(tmp_path, n=12, padded=padded)
    res = collect(IngestConfig("dfew", str(tmp_path), fold=2))
    df = _by_id(res)
    assert len(res.problems) == 0
    assert res.manifest.classes == list(DFEW_CLASSES)
    assert sorted(df.index) == sorted(truth)
    for vid, t in truth.items():
        assert df.loc[vid, "label"] == t["label"]
        assert df.loc[vid, "fold"] == t["fold"]
        assert df.loc[vid, "split"] == ("test" if t["fold"] == 2 else "train")
        assert df.loc[vid, "num_frames"] == t["frames"]
        assert df.loc[vid, "path"] == f"Clip/clip_224x224/{vid}"
    assert not (df["split"] == "val").any()


def test_dfew_fold_changes_only_the_split(tmp_path):
    dfew_tree(tmp_path, n=10)
    a = _by_id(collect(IngestConfig("dfew", str(tmp_path), fold=1)))
    b = _by_id(collect(IngestConfig("dfew", str(tmp_path), fold=5)))
    assert (a["fold"] == b.loc[a.index, "fold"]).all()
    assert set(a.index[a["split"] == "test"]) == set(a.index[a["fold"] == 1])
    assert set(b.index[b["split"] == "test"]) == set(b.index[b["fold"] == 5])


def test_dfew_rejects_fold_outside_1_to_5(tmp_path):
    dfew_tree(tmp_path, n=5)
    with pytest.raises(ConfigError, match="folds 1..5"):
        collect(IngestConfig("dfew", str(tmp_path), fold=6))


def test_dfew_class_order_reorders_classes_but_labels_stay_names(tmp_path):
    truth = dfew_tree(tmp_path, n=7)
    res = collect(IngestConfig("dfew", str(tmp_path), class_order="alphabetical"))
    assert res.manifest.classes == sorted(DFEW_CLASSES)
    df = _by_id(res)
    assert all(df.loc[v, "label"] == t["label"] for v, t in truth.items())
    with pytest.raises(ConfigError, match="not dfew's classes"):
        collect(IngestConfig("dfew", str(tmp_path), class_order="Happy,Sad"))


def test_dfew_video_in_two_test_sets_and_conflicting_labels(tmp_path):
    dfew_tree(tmp_path, n=10)
    f = tmp_path / "EmoLabel_DataSplit/test(single-labeled)/set_3.csv"
    # 00001 is a test video of set 1; also list it (with another label) as a test video of set 3
    f.write_text(f.read_text() + "00001,5\n")
    res = collect(IngestConfig("dfew", str(tmp_path)))
    rows = res.problems[res.problems["video_id"] == "00001"]["problem"].tolist()
    assert any("test video in sets [1, 3]" in p for p in rows)
    assert any("different labels" in p for p in rows)
    assert "00001" in res.quarantine["video_id"].tolist()
    assert "00001" not in res.manifest.df["video_id"].tolist()


def test_ferv39k_lines_and_frame_folders(tmp_path):
    truth = ferv39k_tree(tmp_path, n=9)
    res = collect(IngestConfig("ferv39k", str(tmp_path)))
    assert len(res.problems) == 0
    assert res.manifest.classes == list(FERV39K_CLASSES)
    df = _by_id(res)
    assert sorted(df.index) == sorted(truth)
    for vid, t in truth.items():
        assert (df.loc[vid, "label"], df.loc[vid, "split"], df.loc[vid, "path"]) == (t["label"], t["split"], t["path"])
    assert (df["num_frames"] == 3).all()


def test_ferv39k_label_case_is_mapped_by_name(tmp_path):
    ferv39k_tree(tmp_path, n=4)
    f = tmp_path / "4_setups/All_scenes/train_All.csv"
    f.write_text(f.read_text().replace(" Angry", " angry"))
    df = _by_id(collect(IngestConfig("ferv39k", str(tmp_path))))
    assert df.loc["Action_Angry_0000", "label"] == "Angry"


def test_mafw_eleven_classes_folds_and_clip_fallback(tmp_path):
    truth = mafw_tree(tmp_path, n=12)
    res = collect(IngestConfig("mafw", str(tmp_path), fold=3))
    assert len(res.problems) == 0
    assert res.manifest.classes == list(MAFW_CLASSES)
    df = _by_id(res)
    for vid, t in truth.items():
        assert df.loc[vid, "label"] == t["label"]
        assert df.loc[vid, "fold"] == t["fold"]
        assert df.loc[vid, "split"] == ("test" if t["fold"] == 3 else "train")
    assert df.loc["00001", "path"] == "data/clips/00001.mp4"
    assert df.loc["00001", "num_frames"] == 5
    assert df.loc["00002", "path"] == "data/frames/00002"


def _dfer_clip_tree(root, label_base=0, n=8):
    classes = list(DFEW_CLASSES)
    lines = {"train": [], "test": []}
    truth = {}
    for i in range(n):
        rel = f"clips/{i:03d}"
        frames(root / rel, n=2 + i % 2)
        split = "test" if i % 4 == 0 else "train"
        lines[split].append(f"{rel} {2 + i % 2} {i % 7 + label_base}")
        truth[f"clips_{i:03d}"] = (classes[i % 7], split)
    return truth, lines


def test_dfer_clip_zero_indexed_with_found_files(tmp_path):
    truth, lines = _dfer_clip_tree(tmp_path)
    write_split(tmp_path / "DFEW_set_1_train.txt", lines["train"])
    write_split(tmp_path / "DFEW_set_1_test.txt", lines["test"])
    res = collect(IngestConfig("dfer-clip", str(tmp_path)))
    assert len(res.problems) == 0 and not res.notes
    df = _by_id(res)
    assert {v: (df.loc[v, "label"], df.loc[v, "split"]) for v in df.index} == truth


def test_dfer_clip_class_order_alphabetical_changes_the_mapping(tmp_path):
    _, lines = _dfer_clip_tree(tmp_path)
    write_split(tmp_path / "train.txt", lines["train"])
    write_split(tmp_path / "test.txt", lines["test"])
    df = _by_id(collect(IngestConfig("dfer-clip", str(tmp_path), class_order="alphabetical")))
    alpha = sorted(DFEW_CLASSES)
    assert df.loc["clips_001", "label"] == alpha[1]
    assert df.loc["clips_006", "label"] == alpha[6]


def test_dfer_clip_explicit_files_absolute_paths_and_prefix(tmp_path):
    data = tmp_path / "data"
    frames(data / "clips/000", n=4)
    frames(data / "clips/001", n=4)
    ann = tmp_path / "ann"
    write_split(ann / "a.txt", [f"{data.resolve()}/clips/000 4 1", "/old/machine/DFEW/clips/001 4 2"])
    res = collect(IngestConfig("dfer-clip", str(data), train=str(ann / "a.txt"),
                               strip_prefix="/old/machine/DFEW"))
    df = _by_id(res)
    assert len(res.problems) == 0
    assert df.loc["clips_000", "path"] == "clips/000" and df.loc["clips_000", "label"] == DFEW_CLASSES[1]
    assert df.loc["clips_001", "path"] == "clips/001" and df.loc["clips_001", "label"] == DFEW_CLASSES[2]


def test_dfer_clip_frame_count_mismatch_is_noted(tmp_path):
    frames(tmp_path / "v", n=3)
    write_split(tmp_path / "train.txt", ["v 10 0"])
    res = collect(IngestConfig("dfer-clip", str(tmp_path)))
    assert res.manifest.df["num_frames"].tolist() == [3]
    assert any("different frame count" in n for n in res.notes)


def test_dfer_clip_ambiguous_files_name_the_expected_names(tmp_path):
    write_split(tmp_path / "x_train.txt", ["a 1 0"])
    write_split(tmp_path / "y_train.txt", ["a 1 0"])
    with pytest.raises(ConfigError, match="--train FILE --test FILE"):
        formats.find_dfer_clip_files(tmp_path)


def test_generic_csv_defaults_split_and_derives_unique_ids(tmp_path):
    video(tmp_path / "a/b.mp4", n=7)
    video(tmp_path / "a_b.webm", n=4)
    frames(tmp_path / "c/d", n=5)
    (tmp_path / "labels.csv").write_text(
        "path,label,split\n"
        "a/b.mp4,joy,\n"
        "a_b.webm,anger,validation\n"
        "c/d,joy,test\n")
    res = collect(IngestConfig("csv", str(tmp_path)))
    assert len(res.problems) == 0
    df = res.manifest.df.set_index("path")
    assert res.manifest.classes == ["anger", "joy"]
    assert df["split"].to_dict() == {"a/b.mp4": "train", "a_b.webm": "val", "c/d": "test"}
    assert df["num_frames"].to_dict() == {"a/b.mp4": 7, "a_b.webm": 4, "c/d": 5}
    assert df["video_id"].is_unique and df.loc["c/d", "video_id"] == "c_d"


def test_generic_csv_keeps_given_ids_and_classes_option(tmp_path):
    video(tmp_path / "x.mp4")
    (tmp_path / "l.csv").write_text("video_id,path,label\nv1,x.mp4,b\n")
    res = collect(IngestConfig("csv", str(tmp_path), csv=str(tmp_path / "l.csv"), classes=["c", "b", "a"]))
    assert res.manifest.classes == ["c", "b", "a"]
    assert res.manifest.df["video_id"].tolist() == ["v1"]


def test_folder_per_class_with_videos_and_frame_folders(tmp_path):
    video(tmp_path / "happy/001.mp4", n=5)
    video(tmp_path / "happy/002.avi", n=6)
    video(tmp_path / "sad/001.webm", n=4)
    frames(tmp_path / "sad/003", n=7)
    res = collect(IngestConfig("folder", str(tmp_path)))
    assert len(res.problems) == 0
    df = res.manifest.df.set_index("video_id")
    assert res.manifest.classes == ["happy", "sad"]
    assert df["label"].to_dict() == {"happy_001": "happy", "happy_002": "happy", "sad_001": "sad", "sad_003": "sad"}
    assert df["num_frames"].to_dict() == {"happy_001": 5, "happy_002": 6, "sad_001": 4, "sad_003": 7}
    assert (df["split"] == "train").all()


def test_folder_with_split_level(tmp_path):
    video(tmp_path / "train/a/1.mp4")
    video(tmp_path / "test/b/1.mp4")
    df = collect(IngestConfig("folder", str(tmp_path))).manifest.df
    assert dict(zip(df["label"], df["split"])) == {"a": "train", "b": "test"}


def test_resolve_class_order():
    assert formats.resolve_class_order("alphabetical", ["b", "a"]) == ["a", "b"]
    assert formats.resolve_class_order("mafw", []) == list(MAFW_CLASSES)
    assert formats.resolve_class_order(" x, y ", []) == ["x", "y"]
    with pytest.raises(ConfigError, match="names a class twice"):
        formats.resolve_class_order("x,x", [])


def test_ids_from_paths_stay_unique():
    ids = formats.unique_ids_from_paths(["a/b.mp4", "a_b.mp4", "c.mp4", "c.mp4", "d/e"])
    assert ids == ["a_b-1", "a_b-2", "c", "c", "d_e"]
