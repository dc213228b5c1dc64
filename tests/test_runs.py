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
