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


FIT = """() => [...document.querySelectorAll('figure.fig')].map(f => {
  const svg = f.querySelector('.main-svg').getBoundingClientRect();
  const cell = f.getBoundingClientRect();
  const legend = f.querySelector('g.legend');
  const bar = legend && legend.querySelector('rect.scrollbar');
  const lb = legend ? legend.getBoundingClientRect() : null;
  return {fig: f.dataset.fig, cell: cell.width, svg: svg.width, right: svg.right, cellRight: cell.right,
          scroll: bar ? bar.getBoundingClientRect().height : 0,
          legendInside: !lb || (lb.right <= svg.right + 1 && lb.bottom <= svg.bottom + 1)};
})"""


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")
def test_every_figure_fills_its_cell_at_three_widths(fake_run):
    from playwright.sync_api import sync_playwright

    import numpy as np
    import pandas as pd

    from curation.fileio import write_parquet

    # as many baselines as a real run has (13), so the precision-recall legend is long
    base = write_fake_baselines(fake_run)
    rng = np.random.default_rng(1)
    for k in range(13 - sum(c.endswith("_flag") for c in base.columns)):
        base[f"extra_method_{k}_score"] = rng.random(len(base))
        base[f"extra_method_{k}_flag"] = base[f"extra_method_{k}_score"] > 0.8
    write_parquet(fake_run.baselines, pd.DataFrame(base))
    report = build_report(fake_run.path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for width in (1280, 1400, 1920):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.set_default_timeout(90_000)
                page.goto(report.resolve().as_uri())
                n = int(page.locator("body").get_attribute("data-figures"))
                page.wait_for_function(
                    "n => document.querySelectorAll('figure.fig .main-svg').length >= n", arg=n)
                page.wait_for_timeout(300)  # let the cells settle and the figures refit
                figs = page.evaluate(FIT)
                assert len(figs) == n
                for f in figs:
                    # drawn at the width of its own cell: nothing clipped, nothing left empty
                    assert abs(f["svg"] - f["cell"]) <= 2 and f["right"] <= f["cellRight"] + 1, (width, f)
                    assert f["scroll"] == 0 and f["legendInside"], (width, f)
                page.close()
        finally:
            browser.close()
