"""Start the review dashboard as a real `streamlit run` process bound to 127.0.0.1.

Imports no Streamlit (the CLI stays fast); the run directory and annotator reach the app
through the environment (DFER_CURATE_RUN, DFER_CURATE_ANNOTATOR) and ``-- --run --annotator``.
"""

from __future__ import annotations

import getpass
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from curation.errors import CurationError
from curation.runs import RunDir
from curation.servers import ServerError, free_port, port_open, start_process, stop_process, wait_http

__all__ = ["serve", "start", "stop"]

log = logging.getLogger(__name__)
MAIN = Path(__file__).resolve().parent / "main.py"
DEFAULT_PORT = 8501


def start(run_dir, *, port: int | None = None, annotator: str | None = None,
          address: str = "127.0.0.1", wait: float = 60.0, quiet: bool = False) -> tuple[subprocess.Popen, str]:
    """Launch the dashboard and wait until it answers /_stcore/health; return (process, url).

    ``port`` None: 8501 when free, else any free port. Raises CurationError when the run
    lacks what the dashboard needs or the server does not come up."""
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise CurationError(f"{run.path} is not a run directory; make one with `dfer-curate synth` or `ingest`")
    run.require("manifest", "ingest")
    run.require("scores", "score")
    if port is None:
        port = free_port(address) if port_open(address, DEFAULT_PORT) else DEFAULT_PORT
    elif port_open(address, port):
        raise CurationError(f"port {port} on {address} is in use; pick another with --port")
    annotator = annotator or _user()
    env = {**os.environ, "DFER_CURATE_RUN": str(run.path.resolve()), "DFER_CURATE_ANNOTATOR": annotator}
    cmd = [sys.executable, "-m", "streamlit", "run", str(MAIN),
           "--server.headless", "true", "--server.port", str(port), "--server.address", address,
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
           "--", "--run", str(run.path.resolve()), "--annotator", annotator]
    out = subprocess.DEVNULL if quiet else None
    proc = start_process(cmd, env=env, stdout=out, stderr=out)
    url = f"http://{address}:{port}"
    try:
        wait_http(f"{url}/_stcore/health", proc, timeout=wait, name="the dashboard (streamlit)")
    except ServerError:
        stop(proc)
        raise
    return proc, url


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop the server and anything it started: SIGTERM, then SIGKILL if it lingers."""
    stop_process(proc, timeout)


def serve(run_dir, *, port: int | None = None, annotator: str | None = None,
          address: str = "127.0.0.1") -> int:
    """Run the dashboard in the foreground until Ctrl-C (or SIGTERM); print its URL.

    The signal is turned into a flag (not an exception at a random point), the server is
    asked to stop, and the exit code is 0 once it has. Returns the exit code."""
    proc, url = start(run_dir, port=port, annotator=annotator, address=address)
    print(f"review dashboard for {run_dir} at {url}  (annotator {annotator or _user()}; Ctrl-C to stop)",
          flush=True)
    stopping: list[float] = []

    def on_signal(signum, frame):
        if not stopping:
            stopping.append(time.monotonic())
            if proc.poll() is None:
                proc.terminate()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopping and time.monotonic() - stopping[0] > 10:
                    proc.kill()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        stop(proc)  # leftovers of its process group
    if stopping:
        print(f"dashboard stopped; decisions are in {RunDir(run_dir).review_db}", flush=True)
        return 0
    return code


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "annotator"
