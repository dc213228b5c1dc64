"""A review session by keyboard only, in Debian's Chromium: relabel a noisy video with its
default key, keep a hard one, undo; after each decision the next video's title is at the top
of the page; the timeline's clips are the run's clip_starts; the sentence is the scores'."""

import numpy as np
import pandas as pd
import pytest

from app.keys import KEYS
from app.launch import free_port, start, stop
from curation.review.decisions import DecisionLog
from curation.review.evidence import video_evidence
from curation.review.queue import filter_queue, review_table
from tests.fakerun import FAKE_CLASSES, add_clip_layout
from tests.test_app_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TITLE = "() => document.querySelector('h1') && document.querySelector('h1').innerText.trim()"
SCROLL = "() => document.querySelector('[data-testid=\"stMain\"]').scrollTop"
BARS = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.data && p.data.some(t => t.type === 'bar'));
  return plot ? plot.data.filter(t => t.type === 'bar').flatMap(t => Array.from(t.y, (y, i) => [y, t.base[i]])) : null;
}"""


def _press(page, key: str, old_title: str) -> str:
    """Scroll to the bottom, press ``key``, wait for another video at the top of the page."""
    page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]'); m.scrollTo(0, m.scrollHeight); }")
    page.keyboard.press(key.lower())
    page.wait_for_function(f"(old) => ({TITLE})() !== old && ({SCROLL})() === 0 && "
                           "!document.querySelector('[data-stale=\"true\"]')", arg=old_title)
    return page.evaluate(TITLE).removeprefix("Video ")


def test_keyboard_review_session(fake_run, browser):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    add_clip_layout(fake_run)
    scores = pd.read_parquet(fake_run.scores)
    by_id = scores.set_index("video_id")
    ids = filter_queue(review_table(scores))["video_id"].tolist()
    assert by_id.loc[ids[0], "verdict"] == "noisy"
    hard = next(v for v in ids if by_id.loc[v, "verdict"] == "hard")
    probs, starts = np.load(fake_run.clip_probs), np.load(fake_run.clip_starts)
    log = DecisionLog(fake_run.review_db)

    proc, url = start(fake_run.path, port=free_port(), annotator="kim", quiet=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/pages_video")
        expect(page.get_by_role("heading", name=f"Video {ids[0]}")).to_be_visible()
        page.wait_for_function(BARS)

        # what is drawn is what the verdict came from: clip lanes in start order, the sentence
        i = int(scores.index[scores["video_id"] == ids[0]][0])
        lanes = sorted((int(y.rstrip("★")), b) for y, b in page.evaluate(BARS))
        assert [b for _, b in lanes] == sorted(starts[i].tolist())
        sentence = video_evidence(scores.iloc[i], probs[i], FAKE_CLASSES).sentence
        expect(page.get_by_test_id("verdict-sentence")).to_have_text(sentence)
        expect(page.get_by_text(f"Keys · {KEYS['accept']} relabel to the suggestion")).to_be_visible()

        # V replays the video from its start
        page.wait_for_function("() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }")
        page.evaluate("() => { const v = document.querySelector('video'); v.pause(); v.currentTime = 1.5; }")
        page.keyboard.press(KEYS["replay"].lower())
        assert page.evaluate("() => document.querySelector('video').currentTime") < 1.0

        # a noisy video: its default key relabels it to the suggestion
        shown = _press(page, KEYS["accept"], f"Video {ids[0]}")
        assert shown == ids[1]
        expect(page.get_by_text(f"Recorded accept → {by_id.loc[ids[0], 'suggested_label']} on {ids[0]}")).to_be_visible()
        ev = log.events()
        assert ev[["video_id", "action", "new_label", "annotator"]].values.tolist() == [
            [ids[0], "accept", by_id.loc[ids[0], "suggested_label"], "kim"]]

        # next (N) until the hard video, then keep it (K): a hard video's button keeps its label
        while shown != hard:
            shown = _press(page, KEYS["next"], f"Video {shown}")
        primary = page.locator('[data-testid="stBaseButton-primary"]')
        expect(primary).to_have_count(1)
        expect(primary).to_contain_text(f"Keep {by_id.loc[hard, 'label']} (hard)")
        after_hard = _press(page, KEYS["keep"], f"Video {hard}")
        assert after_hard != hard
        cur = log.current().set_index("video_id")
        assert cur.loc[hard, "action"] == "keep" and cur.loc[hard, "new_label"] == by_id.loc[hard, "label"]

        # U undoes the last decision and brings its video back
        assert _press(page, KEYS["undo"], f"Video {after_hard}") == hard
        assert log.events()["action"].tolist() == ["accept", "keep", "undo"]
        assert hard not in set(log.current()["video_id"])
        page.screenshot(path=str(fake_run.path / "keyboard-session.png"))
    finally:
        stop(proc)
