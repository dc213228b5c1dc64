"""Labelled video sets that the project's synthetic face generator did not make, with known
truth, for measuring the tool away from its own synthetic data (benchmarks/unseen_sets.py).

Two kinds, drawn by code of their own: ``toons`` (line-drawn cartoon faces, expressions
animated over time, PIL vector drawing) and ``gestures`` (textured hand-like glyphs whose class
is a motion or deformation pattern, numpy signed-distance rendering). Each set is written in
the generic CSV layout (``OUT/data/labels.csv``) with its truth apart (``OUT/truth.csv``).

The noise and hardness protocol is that of the project's reference synthetic set, so that a
difference measures the change of visuals: 20 % of the train labels flipped (half of them
inside the set's confusion pairs, the rest to any other class), val and test clean, 20 % of
every split hard but correctly labelled. These and every drawing parameter were chosen for
what such a set would plausibly look like before any run of the tool, and not changed after.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from unseen import gestures, toons
from unseen.common import read_truth, run_and_set, sample_truth, truth_by_path, truth_of_run, write_set


@dataclass(frozen=True)
class Layout:
    """How a set spells its CSV: column order, split names, label spelling, folders."""

    columns: tuple[str, ...]
    folder: str
    split_names: tuple[tuple[str, str], ...] = ()
    capitalize: bool = False
    fps: int = 16


SETS = {
    "toons": (toons.SPEC, toons.render, Layout(("path", "label", "split"), "videos", fps=toons.FPS)),
    "gestures": (gestures.SPEC, gestures.render,
                 Layout(("video_id", "path", "label", "split"), "clips",
                        (("train", "training"), ("val", "validation"), ("test", "testing")),
                        capitalize=True, fps=gestures.FPS)),
}
NOISE_RATE, STRUCTURED_SHARE, HARD_RATE = 0.2, 0.5, 0.2


def generate(name: str, out, *, n: int = 1200, seed: int = 0, workers: int = 1, noise_rate: float = NOISE_RATE,
             structured_share: float = STRUCTURED_SHARE, hard_rate: float = HARD_RATE) -> Path:
    """Write set ``name`` with ``n`` videos into ``out`` (``data/`` + ``truth.csv``); the same
    arguments give the same files, byte for byte, whatever ``workers``."""
    spec, render, lay = SETS[name]
    rows = sample_truth(spec, n, seed, noise_rate=noise_rate, structured_share=structured_share,
                        hard_rate=hard_rate)
    case = str.capitalize if lay.capitalize else str
    # folders group videos by number, never by label (a path must not give the label away)
    path_of = lambda r: f"{lay.folder}/{int(r['video_id'].rsplit('_', 1)[1]) // 200:02d}/{r['video_id']}"  # noqa: E731
    return write_set(out, rows, render, ext=".mp4", path_of=path_of, csv_columns=lay.columns,
                     split_names=dict(lay.split_names), label_case=case, workers=workers, fps=lay.fps)


__all__ = ["SETS", "generate", "read_truth", "run_and_set", "truth_by_path", "truth_of_run"]
