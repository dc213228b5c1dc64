"""Damaged, stale, read-only and half-written run directories for the commands after ingest."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pandas as pd

from curation.data.manifest import read_manifest, write_manifest
from curation.fileio import write_parquet
from curation.runs import RunDir
from tests.bad_inputs import Assets, Case


def _run(tmp: Path, a: Assets) -> RunDir:
    return RunDir(a.copy_run(tmp / "run"))


def _on_run(command, mutate=None, *extra):
    """``command`` on a copy of the fake run after ``mutate(run)``."""
    def build(tmp: Path, a: Assets) -> list[str]:
        run = _run(tmp, a)
        more = (mutate(run) if mutate else None) or []
        return [*command.split(), str(run.path), *extra, *more]
    return build


def _garbage(name, data=b"\x00\x01 definitely not what you expected " * 30):
    def mutate(run: RunDir):
        getattr(run, name).write_bytes(data)
    return mutate


def _log_bytes(run: RunDir) -> bytes:
    return run.review_db.read_bytes()


def _truncate_log(run: RunDir):
    data = _log_bytes(run)
    run.review_db.write_bytes(data[: len(data) // 2])


def _corrupt_page(run: RunDir):
    data = bytearray(_log_bytes(run))
    page = 4096
    data[page + 8: page + 12] = b"\xff\xff\xff\xff"  # the second page's cell count
    run.review_db.write_bytes(bytes(data))


def _foreign_db(run: RunDir):
    run.review_db.unlink()
    con = sqlite3.connect(run.review_db)
    con.execute("CREATE TABLE photos (id INTEGER, name TEXT)")
    con.commit()
    con.close()


def _log_untouched(expected_sha):
    def check(tmp: Path) -> None:
        import hashlib

        db = tmp / "run/review.sqlite"
        assert hashlib.sha256(db.read_bytes()).hexdigest() == expected_sha
    return check


def _export_done(n_kept=None, where="exp"):
    def check(tmp: Path) -> None:
        prov = json.loads((tmp / where / "provenance.json").read_text())
        assert prov["counts"]["excluded"] >= 1  # the recorded exclude decision was read
        if n_kept is not None:
            assert prov["counts"]["kept"] == n_kept
    return check


def _two_default_exports(tmp: Path, a: Assets) -> list[str]:
    from curation import cli

    run = _run(tmp, a)
    assert cli.main(["export", str(run.path), "--format", "parquet"]) == 0
    return ["export", str(run.path), "--format", "parquet"]


def _two_exports_made(tmp: Path) -> None:
    done = [p for p in (tmp / "run/exports").iterdir() if (p / "provenance.json").exists()]
    assert len(done) == 2
    assert not [p for p in (tmp / "run/exports").iterdir() if p.name.startswith(".")]


def _reingested(run: RunDir):
    """A new ingest into a scored run: the manifest changes, the old scores stay."""
    m = read_manifest(run.path)
    df = m.df.copy()
    df["video_id"] = "new-" + df["video_id"]
    write_manifest(run.path, type(m)(df, m.classes, m.root))


def _relabelled(run: RunDir):
    m = read_manifest(run.path)
    df = m.df.copy()
    df.loc[0, "label"] = next(c for c in m.classes if c != df.loc[0, "label"])
    write_manifest(run.path, type(m)(df, m.classes, m.root))


def _drop_score_column(run: RunDir):
    s = pd.read_parquet(run.scores).drop(columns=["verdict"])
    write_parquet(run.scores, s)


def _leftovers(run: RunDir):
    """What a killed checkpoint write, a killed export and a crashed dashboard leave."""
    run.checkpoints.mkdir(exist_ok=True)
    old = time.time() - 3600
    for p in (run.checkpoints / ".last.pt.k2j4x8.tmp", run.path / ".scores.parquet.a1b2.tmp"):
        p.write_bytes(b"half a file")
        os.utime(p, (old, old))
    d = run.exports / ".20260101T000000Z.x1y2.tmp"
    d.mkdir(parents=True)
    (d / "manifest.csv").write_text("half")
    os.utime(d, (old, old))
    # a -wal with an event in it, as a process killed before closing the log leaves it
    con = sqlite3.connect(run.review_db, isolation_level=None)
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("INSERT INTO events (video_id, action, old_label, new_label, annotator, time, note, scores, "
                "seen_version, version) VALUES ('v0002','exclude',NULL,NULL,'crash','t','', '{}', 0, 1)")
    import shutil
    shutil.copyfile(run.review_db.with_name("review.sqlite-wal"), run.path / "wal.bak")
    shutil.copyfile(run.review_db.with_name("review.sqlite-shm"), run.path / "shm.bak")
    con.close()
    os.replace(run.path / "wal.bak", run.review_db.with_name("review.sqlite-wal"))
    os.replace(run.path / "shm.bak", run.review_db.with_name("review.sqlite-shm"))
    return ["--fix"]


def _leftovers_cleared(tmp: Path) -> None:
    run = RunDir(tmp / "run")
    left = [p for p in run.path.rglob("*") if p.name.endswith(".tmp") or p.name.endswith(("-wal", "-shm"))]
    assert left == []
    from curation.review.decisions import DecisionLog

    ev = DecisionLog(run.review_db).events()
    assert "crash" in set(ev["annotator"])  # the -wal event was folded in, not thrown away


def _damaged_moved_aside(tmp: Path) -> None:
    run = tmp / "run"
    aside = list(run.glob("review.damaged-*.sqlite"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"\x00\x01 definitely")
    assert not (run / "review.sqlite").exists()


def _has_columns(path: Path, present, absent=()) -> None:
    cols = set(pd.read_parquet(path).columns)
    assert set(present) <= cols and not set(absent) & cols


def _classes_from_manifest(tmp: Path) -> None:
    """classes.json is only a copy for people: the manifest's own class list wins."""
    from tests.fakerun import FAKE_CLASSES

    assert (tmp / "exp/classes.txt").read_text().split() == FAKE_CLASSES


def _report_written(name):
    def check(tmp: Path) -> None:
        assert (tmp / name).stat().st_size > 10_000
    return check


def _report_mentions_damage(tmp: Path) -> None:
    html = (tmp / "run/report.html").read_text()
    assert "review.sqlite" in html and "not a readable decision log" in html


CASES = [
    # -- missing pieces ----------------------------------------------------------------
    *[Case(f"{cmd}-missing-run", lambda tmp, a, cmd=cmd: [cmd, str(tmp / "nope")], 2, ("nope",))
      for cmd in ("train", "score", "baselines", "export", "report", "doctor")],
    Case("train-empty-run", lambda tmp, a: ["train", str((tmp / "run").mkdir() or tmp / "run")], 2,
         ("manifest.parquet", "dfer-curate ingest")),
    Case("export-no-scores", _on_run("export", lambda r: r.scores.unlink()), 2,
         ("scores.parquet", "dfer-curate score")),
    Case("report-no-scores", _on_run("report", lambda r: r.scores.unlink()), 2,
         ("scores.parquet", "dfer-curate score")),
    Case("score-no-checkpoint", _on_run("score"), 2, ("checkpoints", "dfer-curate train")),
    Case("baselines-no-dynamics", _on_run("baselines", lambda r: r.dynamics.unlink(), "--methods", "cl_both", "aum"),
         0, ("skipped aum", "dynamics.parquet does not exist"), check=lambda tmp: _has_columns(
             tmp / "run/baselines.parquet", ["cl_both_flag"], absent=["aum_flag"])),
    Case("baselines-knn-no-embeddings", _on_run("baselines", None, "--methods", "cl_both", "knn_vote"),
         0, ("skipped knn_vote", "dfer-curate embed"), check=lambda tmp: _has_columns(
             tmp / "run/baselines.parquet", ["cl_both_flag"], absent=["knn_vote_flag"])),
    # -- damaged artifacts -----------------------------------------------------------------
    Case("export-manifest-garbage", _on_run("export", _garbage("manifest")), 2, ("manifest.parquet",)),
    Case("export-scores-garbage", _on_run("export", _garbage("scores")), 2, ("scores.parquet", "dfer-curate score")),
    Case("export-scores-missing-column", _on_run("export", _drop_score_column), 2, ("scores.parquet", "verdict")),
    Case("export-config-garbage", _on_run("export", _garbage("config")), 2, ("config.json", "delete it")),
    Case("export-classes-garbage", _on_run("export", _garbage("classes"), "--out"), 0, ("exported 23",),
         check=_classes_from_manifest, tags=("out",)),
    # -- the decision log --------------------------------------------------------------------
    Case("export-log-garbage", _on_run("export", _garbage("review_db")), 2,
         ("review.sqlite", "not a SQLite database", "Restore it", "doctor")),
    Case("export-log-truncated", _on_run("export", _truncate_log), 2,
         ("review.sqlite", "malformed", "Restore it")),
    Case("export-log-corrupt-page", _on_run("export", _corrupt_page), 2,
         ("review.sqlite", "Restore it", "doctor")),
    Case("export-log-foreign-database", _on_run("export", _foreign_db), 2,
         ("review.sqlite", "something else", "Restore it")),
    Case("export-log-zero-bytes", _on_run("export", lambda r: r.review_db.write_bytes(b""), "--out"), 0,
         ("exported 24 videos",), tags=("out",)),
    Case("report-log-garbage", _on_run("report", _garbage("review_db")), 0, ("report:",),
         check=_report_mentions_damage),
    Case("doctor-fix-damaged-log", _on_run("doctor", _garbage("review_db"), "--fix"), 0,
         ("moved the damaged log",), check=_damaged_moved_aside),
    # -- stale results -------------------------------------------------------------------------
    Case("export-stale-scores-new-ingest", _on_run("export", _reingested), 2,
         ("scores.parquet", "does not match manifest.parquet", "dfer-curate score")),
    Case("export-stale-scores-relabelled", _on_run("export", _relabelled), 2,
         ("scores.parquet", "the scores are stale", "dfer-curate score")),
    # -- exports -------------------------------------------------------------------------------
    Case("export-out-exists", _on_run("export", lambda r: (r.path / "taken").mkdir() or ["--out", str(r.path / "taken")]),
         2, ("taken", "choose a new --out")),
    Case("export-bad-format", _on_run("export", None, "--format", "parquet,xlsx"), 2, ("xlsx", "use a comma list")),
    Case("export-twice-default", _two_default_exports, 0, ("exported",), check=_two_exports_made),
    # -- read-only runs ---------------------------------------------------------------------------
    Case("export-readonly-run-out", _on_run("export", None, "--out"), 0, ("exported 23 videos",),
         check=_export_done(23), readonly="run", tags=("out",)),
    Case("export-readonly-run-default", _on_run("export"), 2, ("read-only", "--out"), readonly="run"),
    Case("report-readonly-run-out", _on_run("report", None, "--out"), 0, ("report:",),
         check=_report_written("exp"), readonly="run", tags=("out",)),
    Case("score-readonly-run", _on_run("score", lambda r: (r.checkpoints.mkdir(), (r.checkpoints / "best.pt").write_bytes(b"x"))[0]),
         2, ("read-only",), readonly="run"),
    # -- leftovers of killed commands --------------------------------------------------------------
    Case("doctor-fix-leftovers", _on_run("doctor", _leftovers), 0, ("removed", ".last.pt.k2j4x8.tmp", "closed"),
         check=_leftovers_cleared),
]

# -- options out of range (refused before anything is written) -----------------------------
def _synth(*opts):
    return lambda tmp, a: ["synth", "--out", str(tmp / "s"), "--n", "4", *opts]


def _nothing_written(name):
    def check(tmp: Path) -> None:
        assert not (tmp / name / "manifest.parquet").exists()
    return check


CASES += [
    Case("synth-n-zero", lambda tmp, a: ["synth", "--out", str(tmp / "s"), "--n", "0"], 2, ("n=0", "--n 20")),
    Case("synth-one-class", _synth("--classes", "Happy"), 2, ("classes", "at least 2")),
    Case("synth-duplicate-class", _synth("--classes", "Happy,Happy"), 2, ("Happy", "twice")),
    Case("synth-one-frame", _synth("--num-frames", "1"), 2, ("num_frames=1", "8 to 1000")),
    Case("synth-noise-above-one", _synth("--noise-rate", "1.5"), 2, ("noise_rate=1.5", "between 0 and 1")),
    Case("synth-no-train-share", _synth("--val", "0.9", "--test", "0.9"), 2, ("val=0.9", "below 1")),
    Case("synth-unknown-hard-kind", _synth("--hard-kinds", "bogus"), 2, ("bogus", "subtle")),
    Case("train-epochs-zero", _on_run("train", None, "--epochs", "0"), 2, ("epochs", ">= 1")),
    Case("train-clips-zero", _on_run("train", None, "--clips", "0"), 2, ("clips", ">= 1")),
    Case("train-clip-longer-than-videos", _on_run("train", None, "--frames", "64", "--epochs", "1"), 2,
         ("v0000", "8 frames", "--pad-short")),
    Case("train-missing-gpu", _on_run("train", None, "--device", "cuda:3"), 2, ("cuda:3", "--device cpu")),
    Case("score-clips-zero", _on_run("score", None, "--clips", "0"), 2, ("--clips", ">= 1")),
]


# -- checkpoints are data, never code ---------------------------------------------------------
class Payload:
    """Unpickling this creates the file ``marker``: what a crafted checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _checkpoint(name, make):
    def mutate(run: RunDir):
        import torch

        run.checkpoints.mkdir(exist_ok=True)
        obj = make(run)
        path = run.checkpoints / name
        if isinstance(obj, bytes):
            path.write_bytes(obj)
        else:
            torch.save(obj, path)
    return mutate


def _planted(run: RunDir):
    return {"format": 2, "model": Payload(run.path.parent / "ran"), "classes": ["happy"]}


def _format1(run: RunDir):
    import numpy as np

    return {"format": 1, "model": {}, "state": {"history": np.zeros((1, 2), np.float16)}}


def _nothing_ran(tmp: Path) -> None:
    assert not (tmp / "ran").exists()


CASES += [
    Case("score-planted-pickle-best", _on_run("score", _checkpoint("best.pt", _planted)), 2,
         ("best.pt", "not loaded, because loading it could run code", "dfer-curate train"), check=_nothing_ran),
    Case("train-resume-planted-pickle-last", _on_run("train", _checkpoint("last.pt", _planted), "--resume",
                                                     "--epochs", "1", "--frames", "4"), 2,
         ("last.pt", "not loaded, because loading it could run code"), check=_nothing_ran),
    Case("score-garbage-checkpoint", _on_run("score", _checkpoint("best.pt", lambda r: b"\x89PNG not weights" * 20)),
         2, ("best.pt", "cannot be read", "dfer-curate train")),
    Case("score-old-format-checkpoint", _on_run("score", _checkpoint("best.pt", _format1)), 2,
         ("best.pt", "older version", "dfer-curate train")),
    Case("score-foreign-checkpoint", _on_run("score", _checkpoint("best.pt", lambda r: {"foo": __import__("torch").zeros(3)})),
         2, ("best.pt", "not a checkpoint of this dfer-curate version", "dfer-curate train")),
]


# -- the stored dataset root ---------------------------------------------------------------------
def _videos_moved(run: RunDir):
    os.rename(run.path / "videos", run.path.parent / "moved")


def _root_is_slash(run: RunDir):
    from curation.data.manifest import Manifest

    m = read_manifest(run.path)
    df = m.df.copy()
    df["path"] = "etc/passwd"
    df["video_id"] = [f"x{i}" for i in range(len(df))]
    write_manifest(run.path, Manifest(df, m.classes, Path("/")))


def _relocated(tmp: Path) -> None:
    assert read_manifest(tmp / "run").root == (tmp / "moved").resolve()


CASES += [
    *[Case(f"{cmd}-dataset-root-moved", _on_run(cmd, _videos_moved), 2,
           ("does not exist on this machine", "dfer-curate doctor", "--root")) for cmd in ("train", "score", "report")],
    Case("report-root-is-filesystem-root", _on_run("report", _root_is_slash), 2, ("filesystem root", "--root")),
    Case("doctor-relocate-root", lambda tmp, a: _on_run("doctor", _videos_moved)(tmp, a) + ["--root", str(tmp / "moved")],
         0, ("dataset root", "is now"), check=_relocated),
    Case("doctor-relocate-root-wrong-folder", lambda tmp, a: _on_run("doctor", _videos_moved)(tmp, a) + ["--root", str(tmp)],
         2, ("does not hold the run's videos", "0000.mp4")),
]


def _no_train_split(run: RunDir):
    m = read_manifest(run.path)
    write_manifest(run.path, type(m)(m.df.assign(split="test"), m.classes, m.root))
    for p in run.derived_artifacts():
        p.unlink() if p.is_file() else None


CASES += [
    Case("train-no-train-split", _on_run("train", _no_train_split), 2,
         ("train split is empty", "split train", "ingest again")),
]


def _object_array(run: RunDir):
    import numpy as np

    np.save(run.clip_probs, np.array([Payload(run.path.parent / "ran")], dtype=object), allow_pickle=True)


CASES += [
    Case("baselines-clip-probs-garbage", _on_run("baselines", _garbage("clip_probs"), "--methods", "cl_both"), 2,
         ("clip_probs.npy", "is not a .npy array file", "dfer-curate score")),
    Case("baselines-clip-probs-pickled-objects", _on_run("baselines", _object_array, "--methods", "cl_both"), 2,
         ("clip_probs.npy", "dfer-curate score"), check=_nothing_ran),
    Case("baselines-scores-garbage", _on_run("baselines", _garbage("scores"), "--methods", "cl_both"), 2,
         ("scores.parquet", "cannot be read", "dfer-curate score")),
    Case("report-clip-probs-garbage", _on_run("report", _garbage("clip_probs")), 2,
         ("clip_probs.npy", "is not a .npy array file", "dfer-curate score")),
]

CASES += [
    Case("push-decisions-log-garbage", _on_run("push", _garbage("review_db"), "--decisions"), 2,
         ("review.sqlite", "not a SQLite database", "Restore it", "doctor")),
]


def _planted_encoder(run: RunDir):
    import torch

    torch.save({"encoder": Payload(run.path.parent / "ran")}, run.path.parent / "encoder.pt")
    return ["--encoder-weights", str(run.path.parent / "encoder.pt")]


CASES += [
    Case("train-planted-pickle-encoder-weights", _on_run("train", _planted_encoder, "--epochs", "1", "--frames", "4"), 2,
         ("encoder.pt", "not loaded, because loading it could run code"), check=_nothing_ran),
]


def _planted_run_encoder(run: RunDir):
    import torch

    torch.save({"format": 1, "state_dict": Payload(run.path.parent / "ran")}, run.path / "encoder.pt")


def _planted_pretrain_checkpoint(run: RunDir):
    import torch

    (run.path / "pretrain").mkdir()
    torch.save({"step": Payload(run.path.parent / "ran")}, run.path / "pretrain/last.pt")
    return ["--resume"]


CASES += [
    Case("embed-planted-pickle-encoder", _on_run("embed", _planted_run_encoder), 2,
         ("encoder.pt", "not loaded, because loading it could run code"), check=_nothing_ran),
    Case("pretrain-resume-planted-pickle-checkpoint", _on_run("pretrain", _planted_pretrain_checkpoint, "--steps", "1"),
         2, ("pretrain/last.pt", "not loaded, because loading it could run code"), check=_nothing_ran),
]
