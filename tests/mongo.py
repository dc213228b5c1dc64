"""pytest plugin: a private, fast mongod for tests that use FiftyOne.

The session fixture ``fiftyone_db`` starts the bundled mongod on a free port in a temporary
dbpath, sets FIFTYONE_DATABASE_URI, and stops mongod from an atexit handler registered
before fiftyone is imported (so FiftyOne's own exit clean-up, which needs the database,
runs first). Tests never touch the user's ~/.fiftyone database.

Use it with ``pytestmark = pytest.mark.usefixtures("fiftyone_db")``; any test in a module
whose source mentions "fiftyone" gets it automatically (e.g. a baselines test calling
``curation.fiftyone.brain``). Import fiftyone only inside tests or functions, never at a
test module's top: FiftyOne freezes its database URI at its first import.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def fiftyone_db(tmp_path_factory):
    """The URI of a private mongod that FiftyOne in this test process uses."""
    from curation.fiftyone.db import configure_environment, start_private_database

    configure_environment()
    uri = os.environ.get("FIFTYONE_DATABASE_URI")
    if "fiftyone" in sys.modules:
        if uri:  # an earlier set-up (or the user's server) is already in effect
            return uri
        pytest.fail("fiftyone was imported before the fiftyone_db fixture ran; import it inside tests")
    mongod = start_private_database(tmp_path_factory.mktemp("mongod"))
    return mongod.uri


_mentions: dict[str, bool] = {}


def _mentions_fiftyone(path) -> bool:
    key = str(path)
    if key not in _mentions:
        try:
            _mentions[key] = "fiftyone" in Path(path).read_text(encoding="utf-8")
        except OSError:
            _mentions[key] = False
    return _mentions[key]


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is not None and "fiftyone_db" not in names and _mentions_fiftyone(item.path):
            names.insert(0, "fiftyone_db")
