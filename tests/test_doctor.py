"""dfer-curate doctor: leftovers of killed commands are found, and --fix clears only what is safe."""

from __future__ import annotations

import os
import sqlite3
import time

from curation.data.manifest import read_manifest, write_manifest
from curation.doctor import find_leftovers, fix
from curation.review.decisions import DecisionLog


def _kinds(findings):
    return sorted((f.kind, f.path.name, f.fixable) for f in findings)


def test_a_clean_run_has_nothing_to_clear(fake_run):
    DecisionLog.for_run(fake_run.path).record(video_id="v0001", action="exclude", annotator="ann")
    assert find_leftovers(fake_run.path) == []


def test_old_temp_files_are_removed_young_ones_left_to_their_writer(fake_run):
    fake_run.checkpoints.mkdir()
    old, young = fake_run.checkpoints / ".last.pt.abc123.tmp", fake_run.path / ".scores.parquet.x.tmp"
    old.write_bytes(b"half")
    young.write_bytes(b"being written")
    t = time.time() - 600
    os.utime(old, (t, t))
    found = find_leftovers(fake_run.path, min_age=60)
    assert _kinds(found) == [("temp-file", ".last.pt.abc123.tmp", True), ("temp-file", ".scores.parquet.x.tmp", False)]
    fix(found)
    assert not old.exists() and young.exists()


def test_side_files_of_an_open_log_are_left_alone(fake_run):
    DecisionLog(fake_run.review_db).record(video_id="v0001", action="exclude", annotator="ann")
    con = sqlite3.connect(fake_run.review_db)  # a dashboard holding the log
    con.execute("SELECT COUNT(*) FROM events").fetchone()
    try:
        found = find_leftovers(fake_run.path)
        assert found and all(f.kind == "note" and "in use" in f.problem for f in found)
        assert fix(found) == []
    finally:
        con.close()


def test_scores_of_another_manifest_are_stale_and_not_deleted(fake_run):
    m = read_manifest(fake_run.path)
    df = m.df.iloc[:-2].copy()
    write_manifest(fake_run.path, type(m)(df, m.classes, m.root))
    found = find_leftovers(fake_run.path)
    assert [(f.kind, f.fixable) for f in found] == [("stale-results", False)]
    assert "2 scored video(s) are not in the manifest" in found[0].problem
    assert "dfer-curate score" in found[0].fix
    fix(found)
    assert fake_run.scores.exists()


def test_doctor_command_exit_codes(fake_run, capsys):
    from curation import cli

    (fake_run.path / ".x.tmp").write_text("half")
    t = time.time() - 600
    os.utime(fake_run.path / ".x.tmp", (t, t))
    assert cli.main(["doctor", str(fake_run.path)]) == 1
    assert "--fix` clears 1" in capsys.readouterr().out
    assert cli.main(["doctor", str(fake_run.path), "--fix"]) == 0
    assert "nothing to clear" in capsys.readouterr().out
