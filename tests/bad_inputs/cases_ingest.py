"""Bad datasets and label files for `dfer-curate ingest`."""

from __future__ import annotations

import shutil
from pathlib import Path

import av

from curation.data.manifest import read_manifest
from tests.bad_inputs import Assets, Case, csv_root, ingest_args
from tests.dataset_trees import dfew_tree, ferv39k_tree, frames, mafw_tree, write_split

GOOD = "ok.mp4,happy,train,ok"
GOOD2 = "ok2.mp4,sad,test,ok2"


def _csv_case(rows, *extra, header="path,label,split,video_id", setup=None):
    def build(tmp: Path, a: Assets) -> list[str]:
        root = csv_root(tmp, a, rows, header=header)
        if setup:
            setup(root, a)
        return ingest_args(root, tmp, "csv", *extra)
    return build


def _manifest_ids(expected):
    def check(tmp: Path) -> None:
        assert sorted(read_manifest(tmp / "run").df["video_id"]) == sorted(expected)
    return check


def _zero_frames(root: Path, a: Assets) -> None:
    c = av.open(str(root / "z.mp4"), "w", format="mp4")
    s = c.add_stream("libx264", rate=8)
    s.width = s.height = 16
    s.pix_fmt = "yuv420p"
    c.start_encoding()
    c.close()


def _dfew(mutate):
    def build(tmp: Path, a: Assets) -> list[str]:
        root = tmp / "dfew"
        dfew_tree(root, n=10)
        extra = mutate(root)
        return ingest_args(root, tmp, "dfew", *(extra if isinstance(extra, list) else []))
    return build


def _dfew_set(root: Path, kind: str = "train", k: int = 1) -> Path:
    return root / "EmoLabel_DataSplit" / f"{kind}(single-labeled)" / f"set_{k}.csv"


def _relabel_line(path: Path, index: int, label: str) -> None:
    """Give line ``index`` of a DFEW split file another label, keeping its video."""
    lines = path.read_text().splitlines()
    lines[index] = f"{lines[index].split(',')[0]},{label}"
    path.write_text("\n".join(lines) + "\n")


def _replace_line(path: Path, index: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[index] = text
    path.write_text("\n".join(lines) + "\n")


def _ferv(mutate):
    def build(tmp: Path, a: Assets) -> list[str]:
        root = tmp / "ferv"
        ferv39k_tree(root, n=8)
        mutate(root)
        return ingest_args(root, tmp, "ferv39k")
    return build


def _mafw(mutate):
    def build(tmp: Path, a: Assets) -> list[str]:
        root = tmp / "mafw"
        mafw_tree(root, n=11)
        mutate(root)
        return ingest_args(root, tmp, "mafw")
    return build


def _dfer_clip(lines_train, lines_test, *extra, frames_n=3):
    def build(tmp: Path, a: Assets) -> list[str]:
        root = tmp / "dc"
        for i in range(4):
            frames(root / f"v{i}", n=frames_n)
        write_split(root / "train.txt", lines_train)
        write_split(root / "test.txt", lines_test)
        return ingest_args(root, tmp, "dfer-clip", *extra)
    return build


def _folder(setup, *extra):
    def build(tmp: Path, a: Assets) -> list[str]:
        root = tmp / "fold"
        root.mkdir()
        setup(root, a)
        return ingest_args(root, tmp, "folder", *extra)
    return build


def _folder_good(root: Path, a: Assets) -> None:
    for cls in ("happy", "sad"):
        for i in range(2):
            a.copy_video(root / cls / f"{cls}{i}.mp4")


CASES = [
    # -- the generic CSV layout ---------------------------------------------------------
    Case("ingest-csv-file-missing", _csv_case([GOOD], "--csv", "nope.csv"), 2,
         ("nope.csv", "CSV file does not exist", "--csv")),
    Case("ingest-csv-empty-file", _csv_case([], header=""), 2, ("labels.csv", "empty", "header path,label")),
    Case("ingest-csv-wrong-columns", _csv_case(["ok.mp4,happy"], header="file,emotion"), 2,
         ("labels.csv", "lacks path, label")),
    Case("ingest-csv-missing-video", _csv_case([GOOD, "gone.mp4,sad,train,gone"]), 2,
         ("labels.csv", "gone.mp4 does not exist", "restore the file")),
    Case("ingest-csv-garbage-video", _csv_case([GOOD, "junk.mp4,sad,train,junk"],
                                               setup=lambda r, a: (r / "junk.mp4").write_bytes(b"not a video" * 50)), 2,
         ("junk.mp4", "cannot be decoded", "re-encode")),
    Case("ingest-csv-zero-byte-video", _csv_case([GOOD, "z.mp4,sad,train,z"],
                                                 setup=lambda r, a: (r / "z.mp4").write_bytes(b"")), 2,
         ("z.mp4", "zero")),
    Case("ingest-csv-zero-frame-video", _csv_case([GOOD, "z.mp4,sad,train,z"], setup=_zero_frames), 2,
         ("z.mp4", "zero")),
    Case("ingest-csv-truncated-video", _csv_case(
        [GOOD, "cut.mp4,sad,train,cut"],
        setup=lambda r, a: (r / "cut.mp4").write_bytes(a.video.read_bytes()[: a.video.stat().st_size // 3])), 2,
        ("cut.mp4", "re-encode")),
    Case("ingest-csv-empty-frame-folder", _csv_case([GOOD, "empty,sad,train,e"],
                                                    setup=lambda r, a: (r / "empty").mkdir()), 2,
         ("empty", "no jpg/png frames")),
    Case("ingest-csv-path-escapes-root", _csv_case([GOOD, "../x.mp4,sad,train,esc"]), 2,
         ("../x.mp4", "escapes the dataset root")),
    Case("ingest-csv-absolute-path-outside", _csv_case([GOOD, "/etc/passwd,sad,train,esc"]), 2,
         ("/etc/passwd", "escapes the dataset root")),
    Case("ingest-csv-duplicate-id", _csv_case([GOOD, "ok2.mp4,sad,train,ok"]), 2, ("labels.csv", "ok", "duplicate")),
    Case("ingest-csv-unknown-split", _csv_case([GOOD, "ok2.mp4,sad,holdout,ok2"]), 2, ("labels.csv", "holdout", "split")),
    Case("ingest-csv-split-alias", _csv_case([GOOD, "ok2.mp4,sad,Training,ok2"]), 0, ("train 2",),
         check=_manifest_ids(["ok", "ok2"])),
    Case("ingest-csv-label-not-in-classes", _csv_case([GOOD, "ok2.mp4,sadd,test,ok2"], "--classes", "happy,sad"), 2,
         ("labels.csv", "'sadd' is not a known class")),
    Case("ingest-csv-empty-label", _csv_case([GOOD, "ok2.mp4,,test,ok2"]), 2, ("labels.csv", "label")),
    Case("ingest-csv-skip-bad", _csv_case([GOOD, GOOD2, "gone.mp4,sad,train,gone", "../x.mp4,sad,train,esc",
                                           "ok2.mp4,sadd,train,typo"], "--classes", "happy,sad", "--skip-bad"), 0,
         ("ingested 2 videos", "quarantined"), check=_manifest_ids(["ok", "ok2"]), rows=5),
    Case("ingest-root-missing", lambda tmp, a: ingest_args(tmp / "nowhere", tmp), 2, ("nowhere", "--root")),
    Case("ingest-csv-fine", _csv_case([GOOD, GOOD2]), 0, ("ingested 2 videos",), check=_manifest_ids(["ok", "ok2"])),
    # -- DFEW ----------------------------------------------------------------------------
    Case("ingest-dfew-label-out-of-range", _dfew(lambda r: _relabel_line(_dfew_set(r), 1, "9")), 2,
         ("set_1.csv", "label 9 is outside 1..7")),
    Case("ingest-dfew-label-not-a-number", _dfew(lambda r: _relabel_line(_dfew_set(r), 1, "joyful")), 2,
         ("set_1.csv", "'joyful'")),
    Case("ingest-dfew-zero-indexed", _dfew(lambda r: _dfew_set(r).write_text(
        "video_name,label\n" + "".join(f"{ln.split(',')[0]},{int(ln.split(',')[1]) - 1}\n"
                                       for ln in _dfew_set(r).read_text().splitlines()[1:]))), 2,
         ("set_1.csv", "0-indexed", "add 1")),
    Case("ingest-dfew-split-file-missing", _dfew(lambda r: _dfew_set(r, "test").unlink()), 2,
         ("set_1.csv", "missing")),
    Case("ingest-dfew-fold-6", _dfew(lambda r: ["--fold", "6"]), 2, ("--fold 6", "1..5")),
    Case("ingest-dfew-frame-folder-missing", _dfew(lambda r: shutil.rmtree(r / "Clip/clip_224x224/00004")), 2,
         ("00004", "set_")),
    Case("ingest-dfew-skip-bad", _dfew(lambda r: (shutil.rmtree(r / "Clip/clip_224x224/00004"), ["--skip-bad"])[1]),
         0, ("ingested 9 videos", "quarantined"), rows=10),
    Case("ingest-dfew-wrong-header", _dfew(lambda r: _dfew_set(r, "test").write_text(
        _dfew_set(r, "test").read_text().replace("video_name,label", "name;emotion"))), 2,
         ("set_1.csv", "video_name,label")),
    # -- FERV39K, MAFW ---------------------------------------------------------------------
    Case("ingest-ferv39k-unknown-class", _ferv(lambda r: _replace_line(
        r / "4_setups/All_scenes/train_All.csv", 0,
        (r / "4_setups/All_scenes/train_All.csv").read_text().splitlines()[0].split()[0] + " Joy")),
        2, ("train_All.csv", "Joy")),
    Case("ingest-ferv39k-setup-missing", _ferv(lambda r: (r / "4_setups/All_scenes/test_All.csv").unlink()), 2,
         ("test_All.csv", "missing")),
    Case("ingest-ferv39k-wrong-columns", _ferv(lambda r: (r / "4_setups/All_scenes/test_All.csv").write_text(
        "Action/Happy/0003,Happy,extra,cols\n")), 2, ("test_All.csv", "wrong columns")),
    Case("ingest-mafw-unknown-class", _mafw(lambda r: (r / "split/single/no_caption/set_1/test.txt").write_text(
        "00001.mp4 rage\n")), 2, ("test.txt", "rage")),
    # -- DFER-CLIP annotation files ----------------------------------------------------------
    Case("ingest-dfer-clip-wrong-field-count", _dfer_clip(["v0 3 0", "v1 3"], ["v2 3 1"]), 2, ("train.txt", "v1")),
    Case("ingest-dfer-clip-label-index-out-of-range", _dfer_clip(["v0 3 0", "v1 3 12"], ["v2 3 1"]), 2,
         ("train.txt", "12")),
    Case("ingest-dfer-clip-missing-path", _dfer_clip(["v0 3 0", "gone 3 1"], ["v2 3 1"]), 2,
         ("train.txt", "gone", "does not exist")),
    Case("ingest-dfer-clip-given-file-missing", lambda tmp, a: ingest_args(
        (tmp / "dc").mkdir() or tmp / "dc", tmp, "dfer-clip", "--train", str(tmp / "dc/nope.txt")), 2, ("nope.txt",)),
    # -- folder layout -------------------------------------------------------------------------
    Case("ingest-folder-fine", _folder(_folder_good), 0, ("ingested 4 videos",),
         check=_manifest_ids(["happy_happy0", "happy_happy1", "sad_sad0", "sad_sad1"])),
    Case("ingest-folder-empty-root", _folder(lambda r, a: None), 2, ("fold",)),
    Case("ingest-folder-garbage-video", _folder(lambda r, a: (_folder_good(r, a),
                                                              (r / "sad/bad.mp4").write_bytes(b"x" * 300))), 2,
         ("bad.mp4", "cannot be decoded")),
]


# -- label files in other encodings ----------------------------------------------------------
def _encoded_csv(encoding, *extra, data=None):
    """labels.csv naming a video with accents (été.mp4), written in ``encoding``."""
    def build(tmp: Path, a: Assets) -> list[str]:
        root = csv_root(tmp, a, [], videos=("ok.mp4", "été.mp4"))
        text = "path,label,split,video_id\nok.mp4,happy,train,ok\nété.mp4,sad,test,ete\n"
        (root / "labels.csv").write_bytes(data if data is not None else text.encode(encoding))
        return ingest_args(root, tmp, "csv", *extra)
    return build


def _accented_paths(tmp: Path) -> None:
    m = read_manifest(tmp / "run").df.set_index("video_id")
    assert m.loc["ete", "path"] == "été.mp4" and m.loc["ete", "label"] == "sad"


def _dfew_encoded(encoding):
    def mutate(root):
        for f in (root / "EmoLabel_DataSplit").rglob("*.csv"):
            f.write_bytes(f.read_text().encode(encoding))
    return _dfew(mutate)


CASES += [
    Case("ingest-csv-utf8-bom", _encoded_csv("utf-8-sig"), 0, ("ingested 2 videos",), check=_accented_paths),
    Case("ingest-csv-utf16", _encoded_csv("utf-16"), 0, ("ingested 2 videos",), check=_accented_paths),
    Case("ingest-csv-utf16-no-bom", _encoded_csv("utf-16-le"), 0, ("ingested 2 videos", "read as utf-16-le"),
         check=_accented_paths),
    Case("ingest-csv-latin1", _encoded_csv("latin-1"), 0, ("ingested 2 videos", "is not UTF-8", "--encoding"),
         check=_accented_paths),
    Case("ingest-csv-latin1-given", _encoded_csv("latin-1", "--encoding", "latin-1"), 0, ("ingested 2 videos",),
         check=_accented_paths),
    Case("ingest-csv-wrong-encoding-given", _encoded_csv("latin-1", "--encoding", "utf-8"), 2,
         ("labels.csv", "cannot be read as utf-8", "--encoding")),
    Case("ingest-csv-unknown-encoding", _encoded_csv("utf-8", "--encoding", "klingon"), 2,
         ("klingon", "utf-8, utf-16")),
    Case("ingest-csv-binary-garbage", _encoded_csv("utf-8", data=bytes(range(256)) * 8), 2,
         ("labels.csv", "is not text", "--encoding")),
    Case("ingest-dfew-utf16-split-files", _dfew_encoded("utf-16"), 0, ("ingested 10 videos",)),
]


# -- class names ------------------------------------------------------------------------------
def _many(label_rows):
    """A csv dataset: one good video per row, labels as given (row i -> v{i}.mp4)."""
    def build(tmp: Path, a: Assets) -> list[str]:
        root = csv_root(tmp, a, [f"v{i}.mp4,{lab},train,v{i}" for i, lab in enumerate(label_rows)],
                        videos=[f"v{i}.mp4" for i in range(len(label_rows))])
        return ingest_args(root, tmp, "csv", "--min-class-videos", "5")
    return build


def _classes_are(expected):
    def check(tmp: Path) -> None:
        m = read_manifest(tmp / "run")
        assert m.classes == expected and set(m.df["label"]) == set(expected)
    return check


CASES += [
    Case("ingest-csv-case-and-space-variants", _many(["Happy", "happy ", "HAPPY", "Happy", "Happy",
                                                      "sad", "Sad", "sad", "sad", " sad"]), 0,
         ("'Happy', 'happy' and 'HAPPY' read as Happy: 5 rows", "'sad' and 'Sad' read as sad: 5 rows"),
         check=_classes_are(["Happy", "sad"])),
    Case("ingest-csv-typo-is-a-small-class", _many(["happy"] * 5 + ["sad"] * 5 + ["hapy"]), 2,
         ("labels.csv", "'hapy' has only 1 video(s)", "did you mean 'happy'", "--min-class-videos")),
    Case("ingest-csv-typo-skip-bad", lambda tmp, a: _many(["happy"] * 5 + ["sad"] * 5 + ["hapy"])(tmp, a) + ["--skip-bad"],
         0, ("ingested 10 videos", "quarantined"), check=_classes_are(["happy", "sad"]), rows=11),
    Case("ingest-csv-unknown-label-did-you-mean", _csv_case([GOOD, "ok2.mp4,sda,test,ok2"], "--classes", "happy,sad"), 2,
         ("labels.csv", "'sda' is not a known class", "did you mean 'sad'")),
    Case("ingest-csv-classes-option-spelling-wins", _csv_case(["ok.mp4,HAPPY ,train,ok", GOOD2], "--classes", "happy,sad"),
         0, ("ingested 2 videos",), check=_classes_are(["happy", "sad"])),
    Case("ingest-folder-small-class", _folder(lambda r, a: (_folder_good(r, a), a.copy_video(r / "Hapy/x.mp4")),
                                             "--min-class-videos", "2"), 2,
         ("'Hapy' has only 1 video(s)",)),
]


# -- symbolic links ---------------------------------------------------------------------------
def _link_outside(root: Path, a: Assets) -> None:
    a.copy_video(root.parent / "outside/secret.mp4")
    (root / "evil.mp4").symlink_to(root.parent / "outside/secret.mp4")


def _link_inside(root: Path, a: Assets) -> None:
    (root / "alias.mp4").symlink_to(root / "ok2.mp4")


CASES += [
    Case("ingest-csv-symlink-outside-root", _csv_case([GOOD, "evil.mp4,sad,test,evil"], setup=_link_outside), 2,
         ("evil.mp4", "symbolic link", "--root")),
    Case("ingest-csv-symlink-inside-root", _csv_case([GOOD, "alias.mp4,sad,test,alias"], setup=_link_inside), 0,
         ("ingested 2 videos",), check=_manifest_ids(["ok", "alias"])),
]


# -- numbers, short videos, most paths missing, a run with results -------------------------------
def _dfer_clip_abs(prefix, *extra):
    """DFER-CLIP lists with absolute paths from another machine (prefix) over a real tree."""
    def build(tmp: Path, a: Assets) -> list[str]:
        root = tmp / "DFEW"
        for i in range(6):
            frames(root / "Clip/clip_224x224" / f"{i:05d}", n=4)
        write_split(root / "train.txt", [f"{prefix}/Clip/clip_224x224/{i:05d} 4 {i % 2}" for i in range(4)])
        write_split(root / "test.txt", [f"{prefix}/Clip/clip_224x224/{i:05d} 4 1" for i in (4, 5)])
        return ingest_args(root, tmp, "dfer-clip", *extra)
    return build


def _root_too_high(tmp: Path, a: Assets) -> list[str]:
    """--root one folder above the videos (tmp instead of tmp/data)."""
    csv_root(tmp, a, [GOOD, GOOD2, "ok.mp4,sad,val,ok3"])
    return ingest_args(tmp, tmp, "csv", "--csv", str(tmp / "data/labels.csv"))


def _over_scored_run(*extra):
    def build(tmp: Path, a: Assets) -> list[str]:
        a.copy_run(tmp / "run")
        root = csv_root(tmp, a, [GOOD, GOOD2])
        return ingest_args(root, tmp, "csv", *extra)
    return build


def _derived_removed(tmp: Path) -> None:
    run = tmp / "run"
    assert not (run / "scores.parquet").exists() and not (run / "clip_probs.npy").exists()
    assert (run / "review.sqlite").exists()  # the annotators' work is kept
    assert sorted(read_manifest(run).df["video_id"]) == ["ok", "ok2"]


CASES += [
    Case("ingest-dfer-clip-num-frames-not-a-number", _dfer_clip(["v0 3 0", "v1 abc 1"], ["v2 3 1"]), 2,
         ("train.txt", "num_frames 'abc' is not a whole number")),
    Case("ingest-csv-one-frame-video", _csv_case([GOOD, "one.mp4,sad,test,one"], setup=lambda r, a: __import__(
        "tests.dataset_trees", fromlist=["video"]).video(r / "one.mp4", n=1)), 0,
         ("fewer than 4 frames", "one: 1", "--pad-short")),
    Case("ingest-dfer-clip-wrong-prefix", _dfer_clip_abs("/home/author/data/DFEW"), 2,
         ("6 of 6 listed paths are not found under the dataset root", "/home/author/data/DFEW/Clip",
          "--strip-prefix /home/author/data/DFEW/")),
    Case("ingest-dfer-clip-prefix-stripped", _dfer_clip_abs("/home/author/data/DFEW", "--strip-prefix",
                                                            "/home/author/data/DFEW"), 0, ("ingested 6 videos",)),
    Case("ingest-csv-root-one-level-too-high", _root_too_high, 2, ("3 of 3 listed paths are not found", "--root")),
    Case("ingest-into-scored-run", _over_scored_run(), 2, ("already holds results", "scores.parquet", "--overwrite")),
    Case("ingest-into-scored-run-overwrite", _over_scored_run("--overwrite"), 0, ("ingested 2 videos",),
         check=_derived_removed),
]


# -- messages that must say what is wrong ---------------------------------------------------------
CASES += [
    Case("ingest-csv-header-only", _csv_case([]), 2, ("labels.csv", "the CSV has no rows", "add one row per video")),
    Case("ingest-dfer-clip-video-in-train-and-test", _dfer_clip(["v0 3 0", "v1 3 1"], ["v2 3 1", "v1 3 1"]), 2,
         ("duplicated video id v1", "train.txt row 2 (train)", "test.txt row 2 (test)")),
]
