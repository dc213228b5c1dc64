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
