"""curation.servers: ports, waiting for a child server, stopping it with what it spawned."""

from __future__ import annotations

import socket
import sys
import time

import psutil
import pytest

from curation.servers import ServerError, free_port, port_open, start_process, stop_process, wait_http


def test_free_port_is_not_open():
    port = free_port()
    assert not port_open("127.0.0.1", port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        assert port_open("127.0.0.1", port)


def test_wait_http_then_stop_ends_the_group(tmp_path):
    port = free_port()
    # a server that also spawns a grandchild: both must be gone after stop_process
    code = ("import subprocess, sys, http.server; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
            f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()")
    proc = start_process([sys.executable, "-c", code], cwd=tmp_path)
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, timeout=60, name="test server")
        kids = psutil.Process(proc.pid).children(recursive=True)
        assert kids
    finally:
        stop_process(proc, timeout=5)
    assert proc.poll() is not None
    _, alive = psutil.wait_procs(kids, timeout=5)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []
    assert not port_open("127.0.0.1", port)
    stop_process(proc)  # twice is fine


def test_wait_http_names_a_server_that_exits(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("boom: bad flag\n")
    proc = start_process([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(ServerError, match=r"(?s)test server exited with code 3 .*server.log.*boom"):
        wait_http(f"http://127.0.0.1:{free_port()}/", proc, timeout=30, name="test server", log_path=log)


def test_wait_http_times_out():
    proc = start_process([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        t0 = time.monotonic()
        with pytest.raises(ServerError, match=r"did not answer .* within 1 s"):
            wait_http(f"http://127.0.0.1:{free_port()}/", proc, timeout=1, name="test server")
        assert time.monotonic() - t0 < 10
    finally:
        stop_process(proc, timeout=2)
