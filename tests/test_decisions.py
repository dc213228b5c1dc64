"""The decision log: SQLite on disk in WAL mode, append-only, conflicts, crash safety."""

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from curation.review.decisions import ConflictError, DecisionError, DecisionLog, current_from_events

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"v1": "happy", "v2": "sad", "v3": "angry"}
CLASSES = ["happy", "sad", "neutral", "angry"]
SUGGEST = {"v1": "sad", "v2": "sad", "v3": "happy"}


@pytest.fixture
def dlog(tmp_path):
    return DecisionLog(tmp_path / "review.sqlite", labels=LABELS, classes=CLASSES, suggestions=SUGGEST)


def test_sqlite_file_is_in_wal_mode_and_events_survive_reopening(dlog, tmp_path):
    dlog.record(video_id="v1", action="relabel", new_label="neutral", annotator="ann", note="looks calm",
                scores={"noise_score": 0.91, "verdict": "noisy"})
    con = sqlite3.connect(tmp_path / "review.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    again = DecisionLog(tmp_path / "review.sqlite")
    ev = again.events()
    assert len(ev) == 1
    row = ev.iloc[0]
    assert (row.video_id, row.action, row.old_label, row.new_label, row.note) == ("v1", "relabel", "happy", "neutral", "looks calm")
    assert json.loads(row.scores) == {"noise_score": 0.91, "verdict": "noisy"}
    assert row.time.endswith("Z") and row.seen_version == 0 and row.version == 1


def test_actions_set_the_current_label(dlog):
    dlog.record(video_id="v1", action="accept", annotator="ann")
    dlog.record(video_id="v2", action="keep-as-hard", annotator="ann")
    dlog.record(video_id="v3", action="exclude", annotator="bob")
    cur = dlog.current().set_index("video_id")
    assert list(cur.columns[:7]) == ["action", "old_label", "new_label", "annotator", "time", "note", "version"]
    assert cur.loc["v1", "new_label"] == "sad"  # the suggestion
    assert cur.loc["v2", "new_label"] == "sad" and cur.loc["v2", "action"] == "keep"  # kept given label
    assert pd.isna(cur.loc["v3", "new_label"]) and cur.loc["v3", "action"] == "exclude"
    assert cur.loc["v3", "old_label"] == "angry"


def test_undo_revokes_the_latest_decision_and_is_itself_an_event(dlog):
    dlog.record(video_id="v1", action="relabel", new_label="neutral", annotator="ann")
    dlog.record(video_id="v1", action="exclude", annotator="ann", seen_version=1)
    dlog.record(video_id="v1", action="undo", annotator="ann", seen_version=2)
    cur = dlog.current().set_index("video_id")
    assert cur.loc["v1", "action"] == "relabel" and cur.loc["v1", "version"] == 3
    dlog.record(video_id="v1", action="undo", annotator="ann", seen_version=3)
    assert "v1" not in set(dlog.current()["video_id"])
    assert dlog.version("v1") == 4 and len(dlog.events("v1")) == 4
    with pytest.raises(DecisionError, match="no standing decision to undo"):
        dlog.record(video_id="v1", action="undo", annotator="ann", seen_version=4)


def test_log_is_append_only_at_the_database_level(dlog, tmp_path):
    dlog.record(video_id="v1", action="keep", annotator="ann")
    con = sqlite3.connect(tmp_path / "review.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE events SET new_label = 'sad'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM events")
    con.close()
    assert dlog.events()["new_label"].tolist() == ["happy"]


def test_bad_decisions_are_refused_with_clear_messages(dlog):
    with pytest.raises(DecisionError, match="'v9' is not in the run's manifest"):
        dlog.record(video_id="v9", action="keep", annotator="ann")
    with pytest.raises(DecisionError, match="'joy' is not a class of this run; use one of happy, sad"):
        dlog.record(video_id="v1", action="relabel", new_label="joy", annotator="ann")
    with pytest.raises(DecisionError, match="relabel needs a new label"):
        dlog.record(video_id="v1", action="relabel", annotator="ann")
    with pytest.raises(DecisionError, match="unknown action 'delete'"):
        dlog.record(video_id="v1", action="delete", annotator="ann")
    with pytest.raises(DecisionError, match="needs an annotator"):
        dlog.record(video_id="v1", action="keep", annotator=" ")
    assert dlog.events().empty


def test_stale_version_is_a_conflict_naming_who_decided_what(dlog):
    dlog.record(video_id="v2", action="relabel", new_label="neutral", annotator="alice", seen_version=0)
    with pytest.raises(ConflictError, match=r"alice chose 'relabel -> neutral'.*NOT recorded") as exc:
        dlog.record(video_id="v2", action="exclude", annotator="bob", seen_version=0)
    assert exc.value.current_version == 1 and exc.value.intervening[0]["annotator"] == "alice"
    cur = dlog.current().set_index("video_id")
    assert cur.loc["v2", "new_label"] == "neutral" and len(dlog.events()) == 1
    dlog.record(video_id="v2", action="exclude", annotator="bob", seen_version=dlog.version("v2"))
    assert dlog.current().set_index("video_id").loc["v2", "action"] == "exclude"


def test_concurrent_threads_on_one_video_exactly_one_wins(tmp_path):
    path = tmp_path / "review.sqlite"
    DecisionLog(path, labels=LABELS, classes=CLASSES)
    barrier = threading.Barrier(6)
    results = []

    def decide(i):
        log = DecisionLog(path, labels=LABELS, classes=CLASSES)
        barrier.wait()
        try:
            log.record(video_id="v3", action="relabel", new_label=CLASSES[i % 4], annotator=f"a{i}", seen_version=0)
            results.append("ok")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 5 + ["ok"]
    assert len(DecisionLog(path).events()) == 1


_WRITER = """
import sys
from curation.review.decisions import DecisionLog, ConflictError
log = DecisionLog(sys.argv[1])
name, video = sys.argv[2], sys.argv[3]
print("ready", flush=True)
sys.stdin.readline()  # both processes are loaded: go
try:
    log.record(video_id=video, action="relabel", new_label="sad", annotator=name, seen_version=0)
    print("ok")
except ConflictError as e:
    print("conflict:", e)
"""


def test_two_annotator_processes_the_second_write_is_a_conflict(tmp_path):
    path = tmp_path / "review.sqlite"
    DecisionLog(path)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, "v1"], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("alice", "bob")]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    lines = sorted(o[0].strip() for o in outs)
    assert lines[1] == "ok" and lines[0].startswith("conflict:")
    winner = DecisionLog(path).events().iloc[0]["annotator"]
    assert winner in lines[0]  # the loser is told who decided


_FLOOD = """
import sys
from curation.review.decisions import DecisionLog
log = DecisionLog(sys.argv[1])
i = 0
while True:
    e = log.record(video_id=f"x{i}", action="exclude", annotator="flood", note="n" * 2000)
    print(e["video_id"], flush=True)
    i += 1
"""


def test_sigkill_mid_write_loses_nothing_committed(tmp_path):
    path = tmp_path / "review.sqlite"
    DecisionLog(path)
    proc = subprocess.Popen([sys.executable, "-c", _FLOOD, str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    committed = []
    while len(committed) < 40:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        committed.append(line.strip())
    proc.send_signal(signal.SIGKILL)  # while it is writing the next events
    rest = proc.stdout.read().split()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    stored = set(DecisionLog(path).events()["video_id"])
    assert set(committed + rest) <= stored  # every reported commit survived
    # and the log still takes writes after the crash
    DecisionLog(path).record(video_id="after", action="exclude", annotator="ann")
    assert "after" in set(DecisionLog(path).events()["video_id"])


def test_for_run_checks_against_the_manifest_and_takes_suggestions(fake_run):
    import pandas as pd

    log = DecisionLog.for_run(fake_run.path)
    scores = pd.read_parquet(fake_run.scores).set_index("video_id")
    e = log.record(video_id="v0000", action="accept", annotator="ann")
    assert e["new_label"] == scores.loc["v0000", "suggested_label"]
    assert e["old_label"] == scores.loc["v0000", "label"]
    assert log.path == fake_run.review_db
    with pytest.raises(DecisionError, match="not in the run's manifest"):
        log.record(video_id="nope", action="keep", annotator="ann")


def test_current_from_events_handles_an_empty_log(dlog):
    cur = current_from_events(dlog.events())
    assert cur.empty and "version" in cur.columns and dlog.stamp() == (0, 0)
