"""`dfer-curate browse` in a real Chromium (Playwright, Debian's browser) against the real
FiftyOne App and mongod; Ctrl-C must leave no server process behind.

The App takes 10-40 s to start, so one App serves the whole module. Screenshots go to
$DFER_SCREENSHOT_DIR when set (else the test's temp folder)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from curation.servers import free_port, port_open
from curation.fiftyone.push import PushConfig, push
from tests.fakerun import make_fake_run

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.usefixtures("fiftyone_db")]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    run = make_fake_run(tmp_path_factory.mktemp("app") / "run")
    push(run.path, PushConfig(dataset="t-app"), progress=False)
    port = free_port()
    err = open(tmp_path_factory.mktemp("app-log") / "browse.stderr", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "curation.cli", "browse", str(run.path), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=err, text=True, env=dict(os.environ),
    )
    # 10-17 s on an idle machine; minutes when the 2 cores are shared by many jobs
    url, deadline = None, time.monotonic() + 330
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        m = re.search(r"FiftyOne App: (\S+)", line)
        url = m.group(1) if m else None
    if url is None:
        proc.kill()
        err.seek(0)
        pytest.fail(f"dfer-curate browse did not print the App's URL; stderr:\n{err.read()[-3000:]}")
    yield {"proc": proc, "url": url, "port": port, "run": run}
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


@pytest.fixture(scope="module")
def page(app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        pg.set_default_timeout(120_000)  # generous: the 2 test cores are shared with other jobs
        pg.set_default_navigation_timeout(120_000)
        yield pg
        browser.close()


def _shots(tmp_path) -> Path:
    d = Path(os.environ.get("DFER_SCREENSHOT_DIR") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def _dismiss_popups(page):
    dismiss = page.get_by_text("Dismiss", exact=True)
    if dismiss.count():
        dismiss.first.click()


def test_url_is_on_localhost_and_names_the_dataset(app):
    assert app["url"] == f"http://127.0.0.1:{app['port']}/datasets/t-app"


def test_grid_shows_the_samples_and_a_sample_opens(app, page, tmp_path):
    page.goto(app["url"], wait_until="domcontentloaded")
    lookers = page.locator('[data-cy="looker"]')
    lookers.first.wait_for(timeout=120_000)
    _dismiss_popups(page)
    page.wait_for_function("document.querySelectorAll('[data-cy=\"looker\"]').length >= 24", timeout=60_000)
    assert lookers.count() == 24
    # the audit fields are in the sidebar
    for field in ("verdict", "noise_score", "suggested_label"):
        assert page.locator(f'[data-cy="sidebar-field-{field}"], [data-cy="{field}-field"]').count() >= 1
    time.sleep(2)  # let thumbnails draw for the screenshot
    page.screenshot(path=str(_shots(tmp_path) / "fiftyone_grid.png"))
    lookers.first.click()
    modal = page.locator('[data-cy="modal-looker-container"]')
    modal.first.wait_for(timeout=60_000)
    assert modal.first.is_visible()
    time.sleep(3)
    page.screenshot(path=str(_shots(tmp_path) / "fiftyone_sample.png"))
    page.keyboard.press("Escape")


def test_suspected_noisy_saved_view_loads(app, page, tmp_path):
    noisy = int((pd.read_parquet(app["run"].scores)["verdict"] == "noisy").sum())
    assert 0 < noisy < 24
    page.goto(app["url"] + "?view=suspected-noisy", wait_until="domcontentloaded")
    page.locator('[data-cy="looker"]').first.wait_for(timeout=120_000)
    _dismiss_popups(page)
    page.wait_for_function(
        f"document.querySelectorAll('[data-cy=\"looker\"]').length === {noisy}", timeout=60_000)
    assert page.get_by_text("suspected-noisy").count() >= 1
    assert page.get_by_text(f"{noisy} samples").count() >= 1
    time.sleep(3)
    page.screenshot(path=str(_shots(tmp_path) / "fiftyone_suspected_noisy.png"))


def test_ctrl_c_leaves_no_server_process(app):
    proc = app["proc"]
    kids = psutil.Process(proc.pid).children(recursive=True)
    assert kids, "the App's server processes should be children of the browse command"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    _, alive = psutil.wait_procs(kids, timeout=15)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []
    assert not port_open("127.0.0.1", app["port"])
