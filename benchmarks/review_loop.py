"""How long an annotator waits between videos: the time from a decision key to the next
video being playable, in a real browser (Debian's Chromium driven by Playwright).

Copies a scored run (default runs/demo; its decision log is left alone), starts the
dashboard, opens the first video of the queue and decides ``--decisions`` videos by keyboard
only: the verdict's default key (A relabels a noisy video to its suggestion, K keeps the
others). Before each key the page is scrolled down, as after reading the details. A decision
counts as done when the next video's title is shown, the page is back at the top, and its
player has data to play and is playing. Target: median under 1.5 s. Writes
reports/REVIEW_LOOP.md.

    .venv/bin/python benchmarks/review_loop.py [--run runs/demo] [--decisions 20] [--warmup 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.keys import KEYS  # noqa: E402
from app.launch import free_port, start, stop  # noqa: E402
from curation.runs import RunDir  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required"]
SKIP = {"cache", "checkpoints", "exports", "previews", "review.sqlite", "review.sqlite-wal", "review.sqlite-shm",
        "report.html"}
READY = """([oldTitle, oldSrc, newFile]) => {
  const h = document.querySelector('h1');
  const v = document.querySelector('[data-testid="stVideo"] video, video');
  const main = document.querySelector('[data-testid="stMain"]');
  return !!h && h.innerText.trim() !== oldTitle && !!v && (!newFile || v.currentSrc !== oldSrc)
    && v.readyState >= 3 && !v.paused && (!main || main.scrollTop === 0);
}"""
# the page is ready for a key: its decision buttons are registered (the key legend under them
# is drawn) and no element is left over from the previous video
SETTLED = """() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
  .some(c => c.innerText.startsWith('Keys'))
  && !document.querySelector('[data-stale="true"]')"""
STATE = """() => {
  const v = document.querySelector('[data-testid="stVideo"] video, video');
  return [document.querySelector('h1').innerText.trim(), v ? v.currentSrc : ''];
}"""


def copy_run(src: Path, dst: Path) -> RunDir:
    """The run's artifacts without its caches, checkpoints, exports and decisions."""
    shutil.copytree(src, dst, ignore=lambda d, names: [n for n in names if Path(d) == src and n in SKIP])
    return RunDir(dst)


def measure(run: RunDir, decisions: int, warmup: int, width: int = 1400) -> dict:
    from playwright.sync_api import sync_playwright

    scores = pd.read_parquet(run.scores).set_index("video_id")
    # every video its own file: the player's source must change (a synthetic run whose videos
    # share one file can only show the new title and a playing player)
    distinct = bool(pd.read_parquet(run.manifest, columns=["path"])["path"].is_unique)
    proc, url = start(run.path, port=free_port(), annotator="bench", quiet=True)
    times, kinds = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": width, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.get_by_role("button", name="Review next unreviewed").click()
            page.wait_for_function("() => { const v = document.querySelector('video'); "
                                   "return v && v.readyState >= 3; }")
            for i in range(warmup + decisions):
                title, src = page.evaluate(STATE)
                vid = title.removeprefix("Video ")
                key = KEYS["accept"] if scores.loc[vid, "verdict"] == "noisy" else KEYS["keep"]
                page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]'); "
                              "if (m) m.scrollTo(0, m.scrollHeight); }")
                page.get_by_role("heading", level=1).hover()  # focus stays on the page, not a field
                page.wait_for_function(SETTLED)
                t0 = time.perf_counter()
                page.keyboard.press(key.lower())
                page.wait_for_function(READY, arg=[title, src, distinct], polling="raf")
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
                    kinds.append(key)
            browser.close()
    finally:
        stop(proc)
    counts = scores["verdict"].value_counts()
    return {"times": times, "keys": kinds, "videos": len(scores),
            "verdicts": ", ".join(f"{int(k)} {v}" for v, k in counts.items())}


def write_report(path: Path, res: dict, args, load: tuple) -> None:
    t = sorted(res["times"])
    med = statistics.median(t)
    p90 = t[min(len(t) - 1, int(round(0.9 * (len(t) - 1))))]
    lines = [
        "# Review loop: decision to next video playable", "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `benchmarks/review_loop.py` on "
        f"{platform.machine()}, {os.cpu_count()} cores (load average {load[0]:.1f} at the start; the machine "
        f"is shared), Chromium headless at {args.width} px, run `{args.run}` ({res['videos']} videos: "
        f"{res['verdicts']}).", "",
        f"{len(t)} decisions by keyboard only after {args.warmup} warm-up ones "
        f"({res['keys'].count(KEYS['accept'])} × {KEYS['accept']} relabel to the suggestion, "
        f"{res['keys'].count(KEYS['keep'])} × {KEYS['keep']} keep). Each is timed from the key press "
        "until the next video's title is shown, the page is scrolled back to its top, and the player "
        "has data and is playing.", "",
        "| median | 90th percentile | fastest | slowest | target |", "|---|---|---|---|---|",
        f"| {med:.2f} s | {p90:.2f} s | {t[0]:.2f} s | {t[-1]:.2f} s | < 1.5 s median |", "",
        f"Result: {'met' if med < 1.5 else 'NOT met'}.", "",
        "Every time, in order: " + ", ".join(f"{x:.2f}" for x in res["times"]) + " s.", "",
    ]
    from curation.fileio import write_text

    write_text(path, "\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=str(ROOT / "runs" / "demo"), help="a scored run (default runs/demo)")
    ap.add_argument("--decisions", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--out", default=str(ROOT / "reports" / "REVIEW_LOOP.md"))
    args = ap.parse_args(argv)
    src = Path(args.run)
    if not (src / "scores.parquet").exists():
        print(f"{src} has no scores.parquet: run `dfer-curate demo --out {src}` first", file=sys.stderr)
        return 2
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="review-loop-") as tmp:
        run = copy_run(src, Path(tmp) / "run")
        res = measure(run, args.decisions, args.warmup, args.width)
    write_report(Path(args.out), res, args, load)
    t = res["times"]
    print(f"median {statistics.median(t):.2f} s over {len(t)} decisions (min {min(t):.2f}, max {max(t):.2f}); "
          f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
