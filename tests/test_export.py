"""Curated export: policies, formats, provenance, atomicity, and the round trip through ingest."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from curation.review.decisions import DecisionLog
from curation.review.export import ExportError, curate, export, list_exports
from curation.data.manifest import read_manifest

ROOT = Path(__file__).resolve().parents[1]


def _tree_hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def decided(fake_run):
    """The fake run with three decisions: a relabel, an exclusion and a keep."""
    scores = pd.read_parquet(fake_run.scores)
    noisy = scores.loc[scores["verdict"] == "noisy", "video_id"].tolist()
    hard = scores.loc[scores["verdict"] == "hard", "video_id"].tolist()
    log = DecisionLog.for_run(fake_run.path)
    log.record(video_id=noisy[0], action="relabel", new_label="neutral", annotator="ann", note="calm face")
    log.record(video_id=noisy[1], action="exclude", annotator="bob")
    log.record(video_id=hard[0], action="keep", annotator="ann")
    return fake_run, scores, noisy, hard


def test_policies_for_unreviewed_flagged_videos(decided):
    run, scores, noisy, hard = decided
    m = read_manifest(run.path).df
    cur = DecisionLog(run.review_db).current()
    n_noisy, n_hard = len(noisy), len(hard)
    expected_excluded = {"keep-given": 1, "accept-suggestions": 1,
                         "exclude-unreviewed": 1 + (n_noisy - 2) + (n_hard - 1),
                         "exclude-unreviewed-noisy": 1 + (n_noisy - 2)}
    s = scores.set_index("video_id")
    for policy, n_excl in expected_excluded.items():
        kept, excluded = curate(m, scores, cur, policy=policy)
        assert len(excluded) == n_excl, policy
        assert len(kept) + len(excluded) == len(m)
        k = kept.set_index("video_id")
        assert k.loc[noisy[0], "label"] == "neutral" and k.loc[noisy[0], "label_source"] == "decision"
        assert k.loc[noisy[0], "decision_note"] == "calm face"
        assert noisy[1] in set(excluded["video_id"])
        assert excluded.set_index("video_id").loc[noisy[1], "reason"] == "decision: exclude"
        assert k.loc[hard[0], "label"] == s.loc[hard[0], "label"]
        if policy == "accept-suggestions":
            for v in noisy[2:]:
                assert k.loc[v, "label"] == s.loc[v, "suggested_label"]
            assert int(k["changed"].sum()) == 1 + sum(s.loc[v, "suggested_label"] != s.loc[v, "label"] for v in noisy[2:])
        if policy == "keep-given":
            assert int(k["changed"].sum()) == 1
    kept, _ = curate(m, scores, cur, policy="reviewed-only")  # alias
    assert len(kept) == len(m) - expected_excluded["exclude-unreviewed"]
    with pytest.raises(ExportError, match="unknown policy 'drop-all'"):
        curate(m, scores, cur, policy="drop-all")


def test_export_writes_every_format_with_provenance(decided):
    run, scores, noisy, hard = decided
    before = _tree_hashes(run.path / "videos")
    src = {n: hashlib.sha256((run.path / n).read_bytes()).hexdigest() for n in ("manifest.parquet", "scores.parquet")}
    out = export(run.path, who="tester")
    assert out.parent == run.exports and out.name.endswith("Z")
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {"manifest.parquet", "manifest.csv", "excluded.csv", "classes.txt", "classes.json", "provenance.json",
            "dfer-clip/train.txt", "dfer-clip/test.txt", "mae-dfer/train.csv", "mae-dfer/test.csv"} <= files
    classes = (out / "classes.txt").read_text().split()
    assert classes == read_manifest(run.path).classes
    m = read_manifest(out)  # the export is itself a readable manifest
    assert m.root.resolve() == (run.path / "videos").resolve()
    kept = m.df.set_index("video_id")
    assert kept.loc[noisy[0], "label"] == "neutral" and noisy[1] not in kept.index
    # DFER-CLIP: absolute path, frame count, 0-based index in classes.txt order
    lines = (out / "dfer-clip/train.txt").read_text().splitlines()
    train = m.df[m.df["split"] == "train"]
    assert len(lines) == len(train)
    by_path = {ln.split()[0]: ln.split()[1:] for ln in lines}
    row = kept.loc[noisy[0]]
    assert by_path[str(m.root.resolve() / row["path"])] == ["16", str(classes.index("neutral"))]
    mae = dict(ln.split() for ln in (out / "mae-dfer/train.csv").read_text().splitlines())
    assert mae[str(m.root.resolve() / row["path"])] == str(classes.index("neutral"))
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["who"] == "tester" and prov["policy"] == "keep-given" and prov["checkpoint"] is None
    assert prov["counts"]["by_action"] == {"relabel": 1, "keep": 1, "exclude": 1}
    assert prov["counts"]["excluded"] == 1 and prov["counts"]["changed"] == 1
    assert prov["inputs_sha256"]["manifest.parquet"] == src["manifest.parquet"]
    assert prov["decisions"]["events"] == 3 and prov["decisions"]["annotators"] == ["ann", "bob"]
    assert prov["files"]["dfer-clip/train.txt"] == hashlib.sha256((out / "dfer-clip/train.txt").read_bytes()).hexdigest()
    # the source is untouched
    assert _tree_hashes(run.path / "videos") == before
    assert src == {n: hashlib.sha256((run.path / n).read_bytes()).hexdigest() for n in src}
    assert list_exports(run.path) == [out]


def test_checkpoint_and_thresholds_are_recorded(fake_run):
    (fake_run.checkpoints).mkdir()
    (fake_run.checkpoints / "best.pt").write_bytes(b"weights")
    fake_run.save_config("score", {"min_agree": 0.5, "min_margin": 0.0, "batch_size": 8})
    out = export(fake_run.path, formats="parquet", policy="accept-suggestions")
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["checkpoint"]["sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert prov["thresholds"] == {"score.min_agree": 0.5, "score.min_margin": 0.0}
    assert not (out / "dfer-clip").exists() and not (out / "manifest.csv").exists()


def test_existing_folder_is_refused_and_failed_exports_leave_nothing(fake_run, tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="already exists; exports never overwrite"):
        export(fake_run.path, out=target)
    assert (target / "keep.txt").read_text() == "mine" and len(list(target.iterdir())) == 1
    with pytest.raises(ExportError, match="unknown format"):
        export(fake_run.path, formats="parquet,xml")
    assert not fake_run.exports.exists() or not any(fake_run.exports.iterdir())
    a, b = export(fake_run.path), export(fake_run.path)  # same second: distinct folders
    assert a != b and a.exists() and b.exists()


def test_a_run_without_scores_names_the_command(tmp_path, fake_run):
    fake_run.scores.unlink()
    with pytest.raises(Exception, match="dfer-curate score"):
        export(fake_run.path)


def test_round_trip_through_the_generic_csv_ingest(decided, tmp_path):
    from curation.data.ingest import IngestConfig, ingest

    run, *_ = decided
    out = export(run.path, formats="csv")
    exported = read_manifest(out)
    res = ingest(tmp_path / "again", IngestConfig(format="csv", root=str(exported.root), csv=str(out / "manifest.csv"),
                                                  classes=exported.classes), progress=False)
    back = res.manifest.df.set_index("video_id").sort_index()
    want = exported.df.set_index("video_id").sort_index()
    assert back.index.tolist() == want.index.tolist()
    assert back["label"].tolist() == want["label"].tolist()
    assert back["split"].tolist() == want["split"].tolist()
    assert back["path"].tolist() == want["path"].tolist()


def test_export_command_prints_where_and_fails_cleanly(decided, tmp_path):
    run, *_ = decided
    cmd = [sys.executable, "-m", "curation.cli", "export", str(run.path), "--policy", "exclude-unreviewed",
           "--format", "parquet,mae-dfer", "--out", str(tmp_path / "x")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path / "x") in proc.stdout and "exclude-unreviewed" in proc.stdout
    assert json.loads((tmp_path / "x/provenance.json").read_text())["policy"] == "exclude-unreviewed"
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr


def test_cli_policy_choices_match_the_library():
    from curation.commands import export as cmd
    from curation.review.export import POLICIES, POLICY_ALIASES

    assert set(cmd.POLICIES) == set(POLICIES) | set(POLICY_ALIASES)


def test_missing_frame_counts_are_counted_from_the_video(fake_run, tmp_path):
    from curation.data.manifest import Manifest, write_manifest

    m = read_manifest(fake_run.path)
    df = m.df.copy()
    df["num_frames"] = df["num_frames"].astype("Int64")
    df.loc[0, "num_frames"] = pd.NA
    write_manifest(fake_run.path, Manifest(df, m.classes, m.root))
    out = export(fake_run.path, formats="dfer-clip")
    first = str(m.root.resolve() / df.loc[0, "path"])
    line = next(ln for ln in (out / f"dfer-clip/{df.loc[0, 'split']}.txt").read_text().splitlines()
                if ln.startswith(first + " "))
    assert line.split()[1] == "16"
