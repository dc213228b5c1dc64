import os

os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")

import pytest  # noqa: E402


@pytest.fixture
def fake_run(tmp_path):
    """A small schema-conformant run (real mp4s, planted scores); see tests/fakerun.py."""
    from tests.fakerun import make_fake_run

    return make_fake_run(tmp_path / "run")
pytest_plugins = ["tests.mongo"]
