"""The report in a real browser: Debian's Chromium via Playwright opens the file from disk
with the network off; every plotly figure must render and nothing may log an error."""

from __future__ import annotations

import shutil

import pytest

from reports.audit import build_report
from tests.fakereport import write_fake_baselines, write_fake_export

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")
def test_report_renders_offline_in_chromium(fake_run, tmp_path):
    from playwright.sync_api import sync_playwright

    write_fake_baselines(fake_run)
    write_fake_export(fake_run)
    report = build_report(fake_run.path)
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.set_default_timeout(90_000)  # generous: the suite shares 2 cores with other jobs
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                if r.request.url.startswith("file:"):
                    r.continue_()
                else:
                    requests.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page.goto(report.resolve().as_uri())
            expected = int(page.locator("body").get_attribute("data-figures"))
            assert expected == 6
            figs = page.locator("figure.fig")
            assert figs.count() == expected
            # every figure div became a plotly plot with its SVG layers
            page.wait_for_function(
                "n => document.querySelectorAll('figure.fig .plotly-graph-div .plot-container .main-svg').length"
                " >= n", arg=expected)
            for i in range(expected):
                fig = figs.nth(i)
                assert fig.locator(".plot-container").count() == 1, fig.get_attribute("data-fig")
                assert fig.locator(".main-svg").count() >= 1, fig.get_attribute("data-fig")
                box = fig.locator(".plot-container").bounding_box()
                assert box["height"] > 200 and box["width"] > 300, fig.get_attribute("data-fig")
            # key frames decoded (inline base64 JPEG)
            broken = page.evaluate(
                "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length")
            assert page.locator("img").count() > 0 and broken == 0
            page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        finally:
            browser.close()
    assert requests == []
    assert errors == []
