"""Ingest: every bad input is reported in one table with a fix; --skip-bad quarantines."""

from __future__ import annotations

import av
import numpy as np
import pandas as pd
import pytest

from curation.cli import main
from curation.errors import IngestError
from curation.data.ingest import IngestConfig, collect, ingest
from curation.data.manifest import read_manifest
from curation.runs import RunDir
from curation.schema import DFEW_CLASSES
from tests.dataset_trees import dfew_tree, ferv39k_tree, frames, video, write_split


def _csv_dataset(root, rows):
    (root / "labels.csv").write_text("path,label,split,video_id\n" + "".join(r + "\n" for r in rows))
    return IngestConfig("csv", str(root))


def _problems(root, config=None, rows=None):
    config = config or _csv_dataset(root, rows)
    with pytest.raises(IngestError) as info:
        ingest(root / "run", config, progress=False)
    assert not (root / "run/manifest.parquet").exists()
    return info.value.problems


def _zero_frame_mp4(path):
    """An mp4 whose container holds a video track header but not one frame."""
    c = av.open(str(path), "w", format="mp4")
    s = c.add_stream("libx264", rate=8)
    s.width = s.height = 16
    s.pix_fmt = "yuv420p"
    c.start_encoding()
    c.close()


@pytest.fixture
def good(tmp_path):
    video(tmp_path / "ok.mp4")
    return "ok.mp4,happy,train,ok"


def test_clean_dataset_writes_manifest_classes_and_config(tmp_path, good):
    video(tmp_path / "s.mp4", n=9)
    config = _csv_dataset(tmp_path, [good, "s.mp4,sad,test,s"])
    ingest(tmp_path / "run", config, progress=False)
    m = read_manifest(tmp_path / "run")
    assert m.classes == ["happy", "sad"]
    assert m.root == tmp_path.resolve()
    assert m.df.set_index("video_id")["num_frames"].to_dict() == {"ok": 6, "s": 9}
    assert (m.df["source"] == "csv").all()
    run = RunDir(tmp_path / "run")
    assert run.load_config()["ingest"]["format"] == "csv"
    assert not run.quarantine.exists() and not (run.path / "ingest_problems.csv").exists()


def test_missing_video_file(tmp_path, good):
    p = _problems(tmp_path, rows=[good, "gone.mp4,sad,train,gone"])
    assert len(p) == 1
    assert p.iloc[0]["row"] == "3" and p.iloc[0]["video_id"] == "gone"
    assert "gone.mp4 does not exist" in p.iloc[0]["problem"]
    assert "restore the file" in p.iloc[0]["fix"]


def test_missing_frame_folder_in_dfew(tmp_path):
    dfew_tree(tmp_path, n=6)
    import shutil

    shutil.rmtree(tmp_path / "Clip/clip_224x224/00004")
    p = _problems(tmp_path, IngestConfig("dfew", str(tmp_path)))
    assert p["video_id"].tolist() == ["00004"]
    assert "set_" in p.iloc[0]["file"] and p.iloc[0]["row"].isdigit()


def test_unreadable_video(tmp_path, good):
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video at all" * 40)
    p = _problems(tmp_path, rows=[good, "junk.mp4,sad,train,junk"])
    assert p["video_id"].tolist() == ["junk"]
    assert "cannot be decoded" in p.iloc[0]["problem"]
    assert "re-encode" in p.iloc[0]["fix"]


def test_truncated_video_is_caught_by_its_header(tmp_path, good):
    data = (tmp_path / "ok.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    p = _problems(tmp_path, rows=[good, "cut.mp4,sad,train,cut"])
    assert p["video_id"].tolist() == ["cut"]


@pytest.mark.parametrize("kind", ["empty-file", "no-frames"])
def test_zero_frame_video(tmp_path, good, kind):
    if kind == "empty-file":
        (tmp_path / "z.mp4").write_bytes(b"")
    else:
        _zero_frame_mp4(tmp_path / "z.mp4")
    p = _problems(tmp_path, rows=[good, "z.mp4,sad,train,z"])
    assert p["video_id"].tolist() == ["z"]
    assert "zero" in p.iloc[0]["problem"]


def test_empty_frame_folder(tmp_path, good):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty/notes.txt").write_text("no frames here")
    p = _problems(tmp_path, rows=[good, "empty,sad,train,e"])
    assert p["video_id"].tolist() == ["e"]
    assert "no jpg/png frames" in p.iloc[0]["problem"]


def test_label_not_a_known_class(tmp_path, good):
    video(tmp_path / "x.mp4")
    config = _csv_dataset(tmp_path, [good, "x.mp4,sadd,train,x"])
    config.classes = ["happy", "sad"]
    p = _problems(tmp_path, config)
    assert p["video_id"].tolist() == ["x"]
    assert "'sadd' is not a known class" in p.iloc[0]["problem"]


def test_dfew_label_outside_range_and_ferv39k_unknown_name(tmp_path):
    dfew_tree(tmp_path / "d", n=6)
    f = tmp_path / "d/EmoLabel_DataSplit/train(single-labeled)/set_1.csv"
    f.write_text(f.read_text().replace("00002,2", "00002,9"))
    p = _problems(tmp_path / "d", IngestConfig("dfew", str(tmp_path / "d")))
    assert p["video_id"].tolist() == ["00002"] and "outside 1..7" in p.iloc[0]["problem"]

    ferv39k_tree(tmp_path / "f", n=4)
    f = tmp_path / "f/4_setups/All_scenes/train_All.csv"
    f.write_text(f.read_text() + "Action/Angry/0099 Contempt\n")
    frames(tmp_path / "f/2_ClipsforFaceCrop/Action/Angry/0099")
    p = _problems(tmp_path / "f", IngestConfig("ferv39k", str(tmp_path / "f")))
    assert p["video_id"].tolist() == ["Action_Angry_0099"] and "'Contempt' is not a known class" in p.iloc[0]["problem"]


def test_duplicated_video_id(tmp_path, good):
    video(tmp_path / "a.mp4")
    video(tmp_path / "b.mp4")
    p = _problems(tmp_path, rows=[good, "a.mp4,sad,train,dup", "b.mp4,happy,train,dup"])
    # the two rows disagree: both are flagged, and both rows are named
    assert p["video_id"].tolist() == ["dup", "dup"]
    assert set(p["row"]) == {"3", "4"}
    assert all("rows" not in x and "row 3, row 4" in x for x in p["problem"])


def test_exact_duplicate_row_flags_only_the_copy(tmp_path, good):
    p = _problems(tmp_path, rows=[good, good])
    assert p["row"].tolist() == ["3"]


def test_duplicated_id_inside_one_dfew_file(tmp_path):
    dfew_tree(tmp_path, n=6)
    f = tmp_path / "EmoLabel_DataSplit/test(single-labeled)/set_1.csv"
    f.write_text(f.read_text() + "00001,1\n")
    p = _problems(tmp_path, IngestConfig("dfew", str(tmp_path)))
    assert p["video_id"].tolist() == ["00001"]
    assert "listed 2 times" in p.iloc[0]["problem"]


@pytest.mark.parametrize("bad_path", ["../outside.mp4", "/etc/passwd", "a/../../x.mp4"])
def test_path_escaping_the_root(tmp_path, good, bad_path):
    root = tmp_path / "root"
    root.mkdir()
    video(root / "ok.mp4")
    video(tmp_path / "outside.mp4")
    p = _problems(root, rows=[good, f"{bad_path},sad,train,esc"])
    assert p["video_id"].tolist() == ["esc"]
    assert "escapes the dataset root" in p.iloc[0]["problem"]


def test_split_files_with_wrong_columns(tmp_path):
    dfew_tree(tmp_path / "d", n=6)
    f = tmp_path / "d/EmoLabel_DataSplit/test(single-labeled)/set_1.csv"
    f.write_text(f.read_text().replace("video_name,label", "name;emotion"))
    p = _problems(tmp_path / "d", IngestConfig("dfew", str(tmp_path / "d")))
    whole = p[p["row"] == "all"]
    assert len(whole) == 1 and "expected 'video_name,label'" in whole.iloc[0]["problem"]
    assert whole.iloc[0]["file"] == str(f.resolve())

    ferv39k_tree(tmp_path / "f", n=4)
    f = tmp_path / "f/4_setups/All_scenes/test_All.csv"
    f.write_text("Action/Happy/0003,Happy,extra,cols\n")
    p = _problems(tmp_path / "f", IngestConfig("ferv39k", str(tmp_path / "f")))
    assert p["row"].tolist() == ["all"] and "wrong columns" in p.iloc[0]["problem"]

    (tmp_path / "c").mkdir()
    (tmp_path / "c/labels.csv").write_text("file,emotion\na.mp4,happy\n")
    p = _problems(tmp_path / "c", IngestConfig("csv", str(tmp_path / "c")))
    assert "lacks path, label" in p.iloc[0]["problem"]


def test_one_wrong_line_in_a_good_file(tmp_path):
    ferv39k_tree(tmp_path, n=8)
    f = tmp_path / "4_setups/All_scenes/train_All.csv"
    f.write_text(f.read_text() + "Action/Happy/0100\n")
    p = _problems(tmp_path, IngestConfig("ferv39k", str(tmp_path)))
    assert p["row"].tolist() == [str(len(f.read_text().splitlines()))]
    assert "wrong columns" in p.iloc[0]["problem"]


def test_zero_indexed_labels_in_dfew_flag_the_whole_file(tmp_path):
    dfew_tree(tmp_path, n=10)
    f = tmp_path / "EmoLabel_DataSplit/train(single-labeled)/set_1.csv"
    lines = f.read_text().splitlines()
    shifted = [lines[0]] + [f"{ln.split(',')[0]},{int(ln.split(',')[1]) - 1}" for ln in lines[1:]]
    f.write_text("\n".join(shifted) + "\n")
    p = _problems(tmp_path, IngestConfig("dfew", str(tmp_path)))
    assert len(p) == 1 and p.iloc[0]["row"] == "all"
    assert "0-indexed" in p.iloc[0]["problem"] and "add 1" in p.iloc[0]["fix"]
    # every video of that file is held back, not only those with a 0
    res = collect(IngestConfig("dfew", str(tmp_path), skip_bad=True))
    assert len(res.quarantine) == len(lines) - 1


def test_one_indexed_labels_in_dfer_clip(tmp_path):
    for i in range(7):
        frames(tmp_path / f"v{i}", n=2)
    write_split(tmp_path / "train.txt", [f"v{i} 2 {i + 1}" for i in range(7)])
    p = _problems(tmp_path, IngestConfig("dfer-clip", str(tmp_path)))
    assert p["row"].tolist() == ["all"] and "1-indexed" in p.iloc[0]["problem"]
    assert "--label-base 1" in p.iloc[0]["fix"]
    df = collect(IngestConfig("dfer-clip", str(tmp_path), label_base=1)).manifest.df
    assert df.set_index("video_id")["label"].to_dict() == {f"v{i}": c for i, c in enumerate(DFEW_CLASSES)}


def test_zero_in_a_one_indexed_dfer_clip_file(tmp_path):
    for i in range(3):
        frames(tmp_path / f"v{i}", n=2)
    write_split(tmp_path / "train.txt", [f"v{i} 2 {i}" for i in range(3)])
    p = _problems(tmp_path, IngestConfig("dfer-clip", str(tmp_path), label_base=1))
    assert p["row"].tolist() == ["all"] and "0-indexed" in p.iloc[0]["problem"]


def _many_problems(root):
    video(root / "ok.mp4")
    video(root / "ok2.mp4")
    (root / "junk.mp4").write_bytes(b"junk" * 100)
    (root / "empty").mkdir()
    return _csv_dataset(root, [
        "ok.mp4,happy,train,ok", "ok2.mp4,sad,test,ok2", "gone.mp4,sad,train,gone",
        "junk.mp4,sad,train,junk", "empty,happy,train,empty", "../x.mp4,sad,train,esc",
        "ok.mp4,happy,train,ok", "ok2.mp4,sadd,train,typo",
    ])


def test_every_problem_in_one_table(tmp_path):
    config = _many_problems(tmp_path)
    config.classes = ["happy", "sad"]
    p = _problems(tmp_path, config)
    assert list(p.columns) == ["file", "row", "video_id", "problem", "fix"]
    assert sorted(p["video_id"]) == sorted(["gone", "junk", "empty", "esc", "ok", "typo"])
    assert (p["fix"].str.len() > 10).all()
    written = pd.read_csv(tmp_path / "run/ingest_problems.csv", dtype=str)
    assert len(written) == len(p)


def test_skip_bad_writes_good_rows_and_quarantine(tmp_path):
    config = _many_problems(tmp_path)
    config.classes = ["happy", "sad"]
    config.skip_bad = True
    res = ingest(tmp_path / "run", config, progress=False)
    m = read_manifest(tmp_path / "run")
    assert sorted(m.df["video_id"]) == ["ok", "ok2"]
    q = pd.read_csv(tmp_path / "run/quarantine.csv", dtype=str, keep_default_na=False)
    assert sorted(q["video_id"]) == sorted(["gone", "junk", "empty", "esc", "ok", "typo"])
    assert len(q) + len(m.df) == res.listing_size == 8  # nothing dropped silently
    assert (q["problem"] != "").all() and (q["raw"] != "").all()


def test_skip_bad_with_nothing_good_still_fails(tmp_path):
    config = _csv_dataset(tmp_path, ["gone.mp4,a,train,g"])
    config.skip_bad = True
    with pytest.raises(IngestError, match="no usable video"):
        ingest(tmp_path / "run", config, progress=False)


def test_full_check_counts_decoded_frames(tmp_path, good):
    config = _csv_dataset(tmp_path, [good])
    config.check = "full"
    assert collect(config).manifest.df["num_frames"].tolist() == [6]


def test_cli_ingest_reports_table_and_exit_code(tmp_path, capsys):
    _many_problems(tmp_path)
    code = main(["ingest", "--format", "csv", "--root", str(tmp_path), "--out", str(tmp_path / "run"),
                 "--classes", "happy,sad"])
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err and "gone.mp4 does not exist" in err and "--skip-bad" in err
    code = main(["ingest", "--format", "csv", "--root", str(tmp_path), "--out", str(tmp_path / "run"),
                 "--classes", "happy,sad", "--skip-bad"])
    out = capsys.readouterr().out
    assert code == 0
    assert "ingested 2 videos" in out and "6 video(s) quarantined" in out


def test_unreadable_split_file_is_listed_in_quarantine(tmp_path):
    dfew_tree(tmp_path, n=10)
    f = tmp_path / "EmoLabel_DataSplit/train(single-labeled)/set_4.csv"
    f.write_text("id;emotion\n1;1\n")
    res = ingest(tmp_path / "run", IngestConfig("dfew", str(tmp_path), skip_bad=True), progress=False)
    q = pd.read_csv(tmp_path / "run/quarantine.csv", dtype=str, keep_default_na=False)
    assert q[["file", "row"]].values.tolist() == [[str(f.resolve()), "all"]]
    assert "wrong columns" in q.iloc[0]["problem"]
    assert len(res.manifest.df) == 10  # the other files still give every video its split


def test_header_check_misses_late_damage_full_check_finds_it(tmp_path, good):
    """What --check header can and cannot see: a faststart mp4 cut in half still has a
    complete header and a decodable first frame; only decoding everything finds the cut."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (40, 64, 64, 3), dtype=np.uint8)
    fast = tmp_path / "fast.mp4"
    with av.open(str(fast), "w", format="mp4", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=16)
        s.width = s.height = 64
        s.pix_fmt = "yuv420p"
        for img in noise:
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    data = fast.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    config = _csv_dataset(tmp_path, [good, "cut.mp4,sad,train,cut"])
    assert len(collect(config).problems) == 0  # header says 40 frames, first frame decodes
    config.check = "full"
    p = collect(config).problems
    assert p["video_id"].tolist() == ["cut"] and "cannot be decoded" in p.iloc[0]["problem"]
