"""Browse a pushed dataset in the FiftyOne App, served on 127.0.0.1 unless told otherwise.

The App's server runs in helper processes that FiftyOne moves to their own process group,
so they outlive a Ctrl-C of the launcher. :class:`AppServer` remembers every process the
launch created and ends them (SIGTERM, then SIGKILL) when it stops, so nothing is left
behind.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import ConfigError, RunError
from curation.fiftyone_db import free_port, port_open

log = logging.getLogger(__name__)


def resolve_dataset_name(target: str) -> str:
    """A run directory (its pushed dataset, from config.json) or a dataset name."""
    from curation.fiftyone_push import dataset_name_for

    p = Path(target)
    if p.is_dir() and (p / "manifest.parquet").exists():
        return dataset_name_for(p)
    if p.is_dir() or os.sep in target:
        raise RunError(f"{target} is not a run directory (no manifest.parquet) and not a dataset name")
    return target


@dataclass
class AppServer:
    """A running App; ``stop()`` ends the session and every server process it started."""

    url: str
    dataset: str
    port: int
    address: str
    session: object
    pids: list[int] = field(default_factory=list)
    _stopped: bool = False

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        import psutil

        procs = []
        for pid in self.pids:
            try:
                procs.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                pass
        # children spawned after launch (uvicorn workers) are ours too
        for p in list(procs):
            try:
                procs.extend(c for c in p.children(recursive=True) if c.pid not in self.pids)
            except psutil.NoSuchProcess:
                pass
        try:
            self.session.close()
        except Exception as exc:  # the server may already be gone; we kill it below anyway
            log.debug("session.close: %s", exc)
        for p in procs:
            try:
                p.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(procs, timeout=timeout)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        log.info("FiftyOne App on port %d stopped", self.port)


def launch(target: str, *, port: int | None = None, address: str = "127.0.0.1",
           view: str | None = None, timeout: float = 300.0) -> AppServer:
    """Start the App on ``target`` (run directory or dataset name) and wait until it answers.

    ``view`` opens a saved view. Returns an :class:`AppServer`; call ``stop()`` when done."""
    import psutil

    from curation.fiftyone_db import import_fiftyone

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
    me = psutil.Process()
    before = {c.pid for c in me.children(recursive=True)}
    session = fo.launch_app(ds, view=ds.load_saved_view(view) if view else None, port=port,
                            address=address, remote=True, auto=False)
    pids = [c.pid for c in me.children(recursive=True) if c.pid not in before]
    url = f"http://{address}:{port}/datasets/{urllib.parse.quote(name)}"
    if view:
        url += f"?view={urllib.parse.quote(view)}"
    server = AppServer(url=url, dataset=name, port=port, address=address, session=session, pids=pids)
    try:
        _wait_http(f"http://{address}:{port}/fiftyone", timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise ConfigError(f"the FiftyOne App did not answer at {url} within {timeout:.0f} s")


def serve_forever(server: AppServer) -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM, then stop the App and its processes."""
    done = threading.Event()

    def handler(signum, frame):
        done.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
        for s, h in old.items():
            signal.signal(s, h)
