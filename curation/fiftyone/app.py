"""Browse a pushed dataset in the FiftyOne App, served on 127.0.0.1 unless told otherwise.

The App is FiftyOne's own web server (``fiftyone/server/main.py``, what ``fo.launch_app``
runs) started here as a plain child process, and the browser opens
``/datasets/NAME[?view=SAVED_VIEW]``. Why not ``fo.launch_app``: it gives the server a fixed
fixed time to bind (a loaded 2-core machine needs more) and leaves the server running after
a Ctrl-C. A child we start ourselves (curation.servers) gets the wait it needs, and
:meth:`AppServer.stop` ends it and anything it spawned (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from curation.errors import ConfigError, RunError
from curation.servers import free_port, port_open, start_process, stop_process, wait_http

log = logging.getLogger(__name__)


def resolve_dataset_name(target: str) -> str:
    """A run directory (its pushed dataset, from config.json) or a dataset name."""
    from curation.fiftyone.prepare import dataset_name_for

    p = Path(target)
    if p.is_dir() and (p / "manifest.parquet").exists():
        return dataset_name_for(p)
    if p.is_dir() or os.sep in target:
        raise RunError(f"{target} is not a run directory (no manifest.parquet) and not a dataset name")
    return target


@dataclass
class AppServer:
    """A running App server; ``stop()`` ends it and every process it started."""

    url: str
    dataset: str
    port: int
    address: str
    process: subprocess.Popen
    log_path: Path
    _stopped: bool = False

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        stop_process(self.process, timeout)
        log.info("FiftyOne App on port %d stopped", self.port)


def launch(target: str, *, port: int | None = None, address: str = "127.0.0.1",
           view: str | None = None, timeout: float = 300.0) -> AppServer:
    """Start the App on ``target`` (run directory or dataset name) and wait until it answers.

    ``view`` opens a saved view. Returns an :class:`AppServer`; call ``stop()`` when done."""
    from curation.fiftyone.db import import_fiftyone

    name = resolve_dataset_name(target)
    if port is None:
        port = free_port(address)
    elif port_open(address, port):
        raise ConfigError(f"port {port} on {address} is already in use; pick another with --port "
                          "(or omit it for a free one)")
    fo = import_fiftyone()
    if not fo.dataset_exists(name):
        raise RunError(f"there is no FiftyOne dataset {name!r} (datasets: {fo.list_datasets()}); "
                       f"push it first with `dfer-curate push RUN --dataset {name}`")
    ds = fo.load_dataset(name)
    if view is not None and not ds.has_saved_view(view):
        raise ConfigError(f"dataset {name!r} has no saved view {view!r} (views: {ds.list_saved_views()})")
    import fiftyone.constants as foc

    log_path = Path(tempfile.mkstemp(prefix=f"fiftyone-app-{port}-", suffix=".log")[1])
    with open(log_path, "w") as out:
        proc = start_process(
            [sys.executable, "main.py", "--port", str(port), "--address", address],
            cwd=foc.SERVER_DIR, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "FIFTYONE_DO_NOT_TRACK": os.environ.get("FIFTYONE_DO_NOT_TRACK", "true")},
        )
    url = f"http://{address}:{port}/datasets/{urllib.parse.quote(name)}"
    if view:
        url += f"?view={urllib.parse.quote(view)}"
    server = AppServer(url=url, dataset=name, port=port, address=address, process=proc, log_path=log_path)
    try:
        wait_http(f"http://{address}:{port}/fiftyone", proc, timeout=timeout, name="the FiftyOne App server",
                  log_path=log_path)
    except BaseException:
        server.stop()
        raise
    return server


def serve_forever(server: AppServer) -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM or the server's exit, then stop the App."""
    done = threading.Event()

    def handler(signum, frame):
        done.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.5):
            if server.process.poll() is not None:
                log.warning("the FiftyOne App server exited (code %s; log %s)",
                            server.process.returncode, server.log_path)
                break
    finally:
        server.stop()
        for s, h in old.items():
            signal.signal(s, h)
