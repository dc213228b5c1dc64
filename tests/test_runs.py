"""RunDir: artifact paths, the shared preview location and the validated loaders."""

import numpy as np
import pandas as pd
import pytest

from curation.errors import RunError
from curation.runs import RunDir


def test_preview_names_are_safe_and_distinct(tmp_path):
    run = RunDir(tmp_path)
    assert run.preview("syn00001") == tmp_path / "previews" / "syn00001.mp4"
    a, b = run.preview("Action/Happy/0267"), run.preview("Action_Happy_0267")
    assert a.parent == run.previews and "/" not in a.name
    assert a != b  # sanitising alone would collide; the hash keeps them apart


def test_require_names_the_command_to_run(tmp_path):
    with pytest.raises(RunError, match="dfer-curate score"):
        RunDir(tmp_path).require("scores", "score")


def test_model_warning_reads_the_train_log(tmp_path):
    run = RunDir(tmp_path / "run")
    assert run.model_warning(7) is None  # no log yet
    run.checkpoints.mkdir(parents=True)
    run.train_log.write_text('{"heldout": "val", "log": [{"heldout_uar": 0.2}]}')
    assert "UAR is 0.20" in run.model_warning(7)
    assert run.model_warning(2) is not None and run.model_warning(7) is not None
    run.train_log.write_text("{not json")
    assert run.model_warning(7) is None


def test_a_damaged_config_names_the_file_and_the_fix(tmp_path):
    from curation.errors import RunError

    run = RunDir(tmp_path)
    run.config.write_text("{not json")
    with pytest.raises(RunError, match=r"config.json is not valid JSON.*delete it"):
        run.load_config()
    run.config.write_text("[1, 2]")
    with pytest.raises(RunError, match="not a mapping"):
        run.load_config()


def test_save_config_in_a_read_only_run_warns_and_writes_nothing(tmp_path, monkeypatch, caplog):
    import curation.runs as runs

    run = RunDir(tmp_path / "run")
    run.save_config("score", {"clips": 8})
    before = run.config.read_bytes()
    monkeypatch.setattr(runs.os, "access", lambda p, mode: mode != runs.os.W_OK)
    assert not run.writable()
    run.save_config("export", {"policy": "keep-given"})
    assert run.config.read_bytes() == before
    assert "read-only: the export settings are not recorded" in caplog.text


def test_every_stage_output_is_derived_or_human_work(tmp_path):
    # inputs written with the manifest, and the train log inside checkpoints/
    inputs = {"manifest", "classes", "config", "quarantine", "train_log"}
    artifacts = {k for k, v in vars(RunDir).items() if isinstance(v, property)}
    assert artifacts - inputs == set(RunDir.DERIVED) | set(RunDir.HUMAN_WORK)
    assert not set(RunDir.DERIVED) & set(RunDir.HUMAN_WORK)


def test_remove_derived_keeps_human_work(tmp_path):
    run = RunDir(tmp_path)
    run.checkpoints.mkdir()
    (run.checkpoints / "last.pt").write_text("w")
    for p in (run.scores, run.saliency, run.review_db, run.manifest):
        p.write_text("x")
    run.exports.mkdir()
    assert set(run.remove_derived()) == {run.checkpoints, run.scores, run.saliency}
    assert run.derived_artifacts() == []
    assert run.human_work() == [run.review_db, run.exports] and run.manifest.exists()


def test_loaders_read_a_consistent_run(fake_run):
    m = fake_run.read_manifest()
    scores = fake_run.read_scores(m)
    assert list(scores.index) == list(range(len(scores))) and str(scores["noise_score"].dtype) == "float64"
    probs = fake_run.read_clip_probs(len(scores), len(m.classes), mmap=True)
    assert probs.shape[0] == len(scores) and probs.shape[2] == len(m.classes)
    assert fake_run.read_clip_starts(*probs.shape[:2]) is None  # the fake model records none


def test_clip_probs_of_another_shape_names_the_file(fake_run):
    probs = np.load(fake_run.clip_probs)
    np.save(fake_run.clip_probs, probs[:-1])
    with pytest.raises(RunError, match=r"clip_probs.npy has shape \(23, 4, 4\) but scores.parquet has 24 "
                                       r"videos and classes.json 4 classes; re-run `dfer-curate score"):
        fake_run.read_clip_probs(24, 4)
    np.save(fake_run.clip_probs, probs[..., :3])
    with pytest.raises(RunError, match=r"clip_probs.npy has shape \(24, 4, 3\)"):
        fake_run.read_clip_probs(24, 4)
    probs[0, 0, 0] = np.nan
    np.save(fake_run.clip_probs, probs)
    with pytest.raises(RunError, match=r"clip_probs.npy contains NaN"):
        fake_run.read_clip_probs(24, 4)


def test_scores_whose_ids_differ_from_the_manifest_name_the_file(fake_run):
    scores = pd.read_parquet(fake_run.scores)
    scores.loc[0, "video_id"] = "stranger"
    scores.to_parquet(fake_run.scores)
    with pytest.raises(RunError, match=r"scores.parquet does not match manifest.parquet: 1 manifest video\(s\) "
                                       r"have no score \(e.g. \['v0000'\]\); 1 scored video\(s\) are not in the "
                                       r"manifest \(e.g. \['stranger'\]\); re-run `dfer-curate score"):
        fake_run.read_scores()
    scores.loc[0, "video_id"] = "v0001"
    scores.to_parquet(fake_run.scores)
    with pytest.raises(RunError, match=r"scores.parquet has duplicated video_id\(s\) \['v0001'\]"):
        fake_run.read_scores()


def test_scores_with_stale_labels_or_unknown_values_name_the_file(fake_run):
    good = pd.read_parquet(fake_run.scores)
    given = good.loc[3, "label"]
    other = next(c for c in fake_run.read_manifest().classes if c != given)
    good.assign(label=good["label"].where(good.index != 3, other)).to_parquet(fake_run.scores)
    with pytest.raises(RunError, match=rf"scores.parquet: video v0003 has label '{other}' but the manifest "
                                       rf"says '{given}'; the scores are stale"):
        fake_run.read_scores()
    good.assign(suggested_label="elated").to_parquet(fake_run.scores)
    with pytest.raises(RunError, match=r"column suggested_label holds 'elated', not one of the classes"):
        fake_run.read_scores()
    good.assign(verdict="maybe").to_parquet(fake_run.scores)
    with pytest.raises(RunError, match=r"column 'verdict' holds \['maybe'\]; expected one of"):
        fake_run.read_scores()
    good.iloc[:0].to_parquet(fake_run.scores)
    with pytest.raises(RunError, match=r"scores.parquet holds no videos"):
        fake_run.read_scores()


def test_clip_starts_of_another_shape_are_ignored(fake_run, caplog):
    np.save(fake_run.clip_starts, np.zeros((24, 3), np.int64))
    assert fake_run.read_clip_starts(24, 4) is None
    assert "assuming uniform clips" in caplog.text
    np.save(fake_run.clip_starts, np.zeros((24, 4), np.int64))
    assert fake_run.read_clip_starts(24, 4).shape == (24, 4)


def test_manifest_of_no_run_directory_says_how_to_make_one(tmp_path):
    with pytest.raises(RunError, match=r"not a run directory; create one with `dfer-curate synth"):
        RunDir(tmp_path / "nope").read_manifest()


def test_sharing_links_the_cache_and_the_frozen_inputs_and_replaces_stale_ones(tmp_path):
    from curation.runs import FROZEN_INPUTS, share_cache, share_frozen_inputs

    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "cache").mkdir(parents=True)
    (src / "cache" / "a.npy").write_bytes(b"frames")
    for name in FROZEN_INPUTS[:3]:
        (src / name).write_bytes(name.encode())
    dst.mkdir()
    (dst / "encoder.pt").write_bytes(b"an older encoder")
    share_cache(src, dst)
    share_frozen_inputs(src, dst)
    assert (dst / "cache" / "a.npy").read_bytes() == b"frames"
    assert (dst / "cache" / "a.npy").stat().st_ino == (src / "cache" / "a.npy").stat().st_ino  # a link, not a copy
    assert [(dst / n).read_bytes() for n in FROZEN_INPUTS[:3]] == [n.encode() for n in FROZEN_INPUTS[:3]]
    assert not (dst / FROZEN_INPUTS[3]).exists()  # what the source lacks is not made up


def test_a_fresh_sibling_run_replaces_an_older_one_and_shares_the_base_runs_inputs(tmp_path):
    from curation.data.manifest import Manifest, read_manifest, write_manifest
    from curation.runs import fresh_sibling_run

    base = tmp_path / "base"
    base.mkdir()
    df = pd.DataFrame({"video_id": ["v0", "v1"], "path": ["a.mp4", "b.mp4"], "label": ["x", "y"],
                       "split": ["train", "test"], "num_frames": [16, 16], "fps": [25.0, 25.0]})
    write_manifest(base, Manifest(df, ["x", "y"], tmp_path))
    (base / "cache").mkdir(exist_ok=True)
    (base / "cache" / "frames.npy").write_bytes(b"frames")
    (base / "encoder.pt").write_bytes(b"weights")
    sibling = tmp_path / "base__variant"
    sibling.mkdir()
    (sibling / "scores.parquet").write_bytes(b"from an older variant")
    fresh_sibling_run(base, sibling)
    assert not (sibling / "scores.parquet").exists()  # nothing of the older run survives
    assert read_manifest(sibling).df.equals(read_manifest(base).df)
    assert (sibling / "encoder.pt").stat().st_ino == (base / "encoder.pt").stat().st_ino
    assert (sibling / "cache" / "frames.npy").read_bytes() == b"frames"
