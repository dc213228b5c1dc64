"""The dashboard in a real browser: `streamlit run` bound to 127.0.0.1, Debian's Chromium
driven by Playwright. Relabel a video, see the queue advance, export, check the files,
restart the server and find the decision still there; and `dfer-curate review` stops
cleanly on Ctrl-C."""

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from app.launch import start, stop
from curation.servers import free_port
from curation.data.manifest import read_manifest
from curation.review.queue import filter_queue, review_table

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_relabel_advance_export_and_restart(fake_run, browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # 2 shared cores: a Streamlit rerun can take many seconds
    ids = filter_queue(review_table(pd.read_parquet(fake_run.scores)))["video_id"].tolist()
    scores = pd.read_parquet(fake_run.scores).set_index("video_id")
    classes = read_manifest(fake_run.path).classes
    others = [c for c in classes if c != scores.loc[ids[0], "label"]]
    target = next(c for c in others if c != scores.loc[ids[0], "suggested_label"])

    proc, url = start(fake_run.path, port=free_port(), annotator="alice", quiet=True)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url)
        expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
        expect(page.get_by_test_id("stProgress")).to_contain_text(f"Reviewed 0 / {len(ids)} flagged")
        page.get_by_role("button", name="Review next unreviewed").click()
        expect(page.get_by_role("heading", name=f"Video {ids[0]}")).to_be_visible()
        expect(page.locator("video")).to_have_count(1)

        page.get_by_role("textbox", name="Note (optional)").fill("browser check")
        page.get_by_role("textbox", name="Note (optional)").press("Enter")
        # relabel to any class: the class's own button (its digit is the key)
        page.get_by_role("button", name=re.compile(rf"^{target}\b")).click()
        expect(page.get_by_role("heading", name=f"Video {ids[1]}")).to_be_visible()  # the queue advanced
        expect(page.get_by_text(f"Recorded relabel → {target} on {ids[0]}")).to_be_visible()

        page.get_by_role("link", name="Queue").click()
        expect(page.get_by_test_id("stProgress")).to_contain_text(f"Reviewed 1 / {len(ids)} flagged")

        page.get_by_role("link", name="Export").click()
        page.get_by_role("button", name="Export", exact=True).click()
        expect(page.get_by_text(re.compile(r"Exported to .*1 relabelled"))).to_be_visible()
    finally:
        stop(proc)

    (out,) = list(fake_run.exports.iterdir())
    kept = read_manifest(out).df.set_index("video_id")
    assert kept.loc[ids[0], "label"] == target and kept.loc[ids[0], "decision_annotator"] == "alice"
    assert kept.loc[ids[0], "decision_note"] == "browser check"
    idx = (out / "classes.txt").read_text().split().index(target)
    line = next(ln for ln in (out / "dfer-clip" / "train.txt").read_text().splitlines()
                if ln.split()[0].endswith(kept.loc[ids[0], "path"]))
    assert line.split()[2] == str(idx)

    # a restarted server (a new process, another port) shows the decision
    proc, url = start(fake_run.path, port=free_port(), annotator="bob", quiet=True)
    try:
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        expect(page.get_by_test_id("stProgress")).to_contain_text(f"Reviewed 1 / {len(ids)} flagged")
    finally:
        stop(proc)


def test_review_command_prints_the_url_and_stops_on_ctrl_c(fake_run):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "curation.cli", "review", str(fake_run.path), "--port", str(port),
                             "--annotator", "carol"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)
    try:
        lines = []  # streamlit's own banner comes first; then ours
        while not any("review dashboard" in ln for ln in lines):
            lines.append(proc.stdout.readline())
            assert lines[-1], f"review exited early: {lines}"
        line = lines[-1]
        assert f"http://127.0.0.1:{port}" in line and "annotator carol" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            assert r.status == 200
        # Ctrl-C in a terminal signals the whole foreground process group
        import os
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "dashboard stopped" in proc.stdout.read()
        time.sleep(0.2)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_review_command_refuses_a_run_without_scores(fake_run):
    fake_run.scores.unlink()
    proc = subprocess.run([sys.executable, "-m", "curation.cli", "review", str(fake_run.path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and f"dfer-curate score {fake_run.path}" in proc.stderr
    assert "Traceback" not in proc.stderr
