"""Child servers (the Streamlit dashboard, FiftyOne's App, a private mongod): pick a port,
start the process in its own process group, wait until it answers, stop it and whatever it
spawned. The caller handles Ctrl-C and calls :func:`stop_process`, so a server never
outlives the command that started it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from curation.errors import CurationError


class ServerError(CurationError):
    """A server exited before answering or did not answer in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_process(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    """``subprocess.Popen(cmd)`` in a new session (its own process group), so that
    :func:`stop_process` can end it and every process it spawned at once."""
    return subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)


def wait_http(url: str, proc: subprocess.Popen, *, timeout: float, name: str,
              log_path: Path | None = None) -> None:
    """Poll ``url`` until it answers 200. ServerError when ``proc`` exits first (with the
    tail of its log when there is one) or after ``timeout`` seconds."""
    where = f" (log {log_path})" if log_path else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = f":\n{Path(log_path).read_text(errors='replace')[-1500:]}" if log_path else ""
            raise ServerError(f"{name} exited with code {proc.returncode} before serving {url}{where}{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise ServerError(f"{name} did not answer at {url} within {timeout:.0f} s{where}; "
                      "the machine may be overloaded: try again")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the process, its process group and its descendants; SIGKILL those still
    alive after ``timeout`` seconds; reap the process. Safe to call twice."""
    import psutil

    procs = []
    try:
        parent = psutil.Process(proc.pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the group: started by start_process
        except (ProcessLookupError, PermissionError):
            proc.terminate()
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
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
