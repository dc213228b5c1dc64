"""RunDir: artifact paths and the shared preview location."""

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
