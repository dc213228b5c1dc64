"""pytest plugin: a private, fast mongod for tests that use FiftyOne.

Request the session fixture ``fiftyone_db`` (directly or with
``pytestmark = pytest.mark.usefixtures("fiftyone_db")``) in any test that touches FiftyOne,
and import fiftyone only inside tests/functions (never at a test module's top): FiftyOne
freezes its database URI at its first import. The fixture starts the bundled mongod on a
free port in a temporary dbpath, sets FIFTYONE_DATABASE_URI, and stops mongod from an
atexit handler registered before fiftyone is imported (so FiftyOne's own exit clean-up,
which needs the database, runs first).
"""

from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture(scope="session")
def fiftyone_db(tmp_path_factory):
    """The URI of a private mongod that FiftyOne in this test process uses."""
    from curation.fiftyone_db import configure_environment, start_private_database

    configure_environment()
    uri = os.environ.get("FIFTYONE_DATABASE_URI")
    if "fiftyone" in sys.modules:
        if uri:  # an earlier set-up (or the user's server) is already in effect
            return uri
        pytest.fail("fiftyone was imported before the fiftyone_db fixture ran; import it inside tests")
    mongod = start_private_database(tmp_path_factory.mktemp("mongod"))
    return mongod.uri
