"""benchmarks/score_blend.py: a scored run's network scored again at other blend weights,
against the truth of its manifest or of an unseen set's truth.csv."""

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import score_blend  # noqa: E402


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from model.config import ScoreConfig
    from model.score import score
    from model.train import train
    from tests.fakerun import make_fake_run
    from tests.test_train import TINY

    run = make_fake_run(tmp_path_factory.mktemp("blend") / "run", n=24, frames=12, size=16)
    for name in ("scores.parquet", "dynamics.parquet", "clip_probs.npy"):
        (run.path / name).unlink()
    train(run.path, TINY, progress=False)
    score(run.path, ScoreConfig(uniform_clips=3), progress=False)
    return run


@pytest.mark.slow
def test_the_saved_blend_reproduces_the_run_and_the_run_is_untouched(scored):
    from curation.audit.metrics import detection_table, ours_columns
    from curation.data.manifest import read_manifest

    before = scored.scores.read_bytes()
    truth = read_manifest(scored.path).df
    blends = (score_blend.DEFAULT, (0.0, 0.0), (1.0, 0.0))
    rows = score_blend.blend_rows(scored.path, truth, blends=blends)
    assert list(zip(rows["video_weight"], rows["aum_weight"])) == list(blends)
    scores = scored.read_scores()  # scored at the default blend
    own = detection_table(ours_columns(scores[scores["split"] == "train"]), truth).iloc[0]
    assert rows.iloc[0]["n_flagged"] == own["n_flagged"] and rows.iloc[0]["auroc"] == pytest.approx(own["auroc"])
    assert rows["auroc"].between(0, 1).all() and rows["n_flagged"].dtype == np.int64
    assert scored.scores.read_bytes() == before


def _truth_csv(run, folder: Path) -> None:
    """An unseen set's truth.csv for ``run``'s videos, keyed by path with ids of its own."""
    from curation.data.manifest import read_manifest

    df = read_manifest(run.path).df
    folder.mkdir()
    with open(folder / "truth.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["video_id", "path", "split", "label", "true_label", "is_noisy", "noise_kind", "is_hard",
                    "hard_kind", "seed"])
        for i, r in enumerate(df.itertuples()):
            w.writerow([f"set_{i}", r.path, r.split, r.label, r.true_label, r.is_noisy, "", r.is_hard, "", 0])


@pytest.mark.slow
def test_report_reads_truth_from_the_manifest_or_the_set_and_compares_the_blends(scored, tmp_path):
    from curation.data.manifest import read_manifest

    _truth_csv(scored, tmp_path / "set")
    md = tmp_path / "B.md"
    assert score_blend.main(["--runs", str(scored.path), "--md", str(md)]) == 0
    assert "No baselines.parquet: run `dfer-curate baselines" in md.read_text()
    truth = read_manifest(scored.path).df  # a baseline that knows the truth separates noisy from hard perfectly
    pd.DataFrame({"video_id": truth["video_id"], "oracle_score": truth["is_noisy"].astype(float)}).to_parquet(
        scored.path / "baselines.parquet")
    try:
        assert score_blend.main(["--runs", str(scored.path), f"{scored.path}={tmp_path / 'set'}", "--md", str(md)]) == 0
    finally:
        (scored.path / "baselines.parquet").unlink()
    text = md.read_text()
    assert text.count(f"## `{scored.path}`") == 2
    assert text.count("Best baseline by noisy-vs-hard AUROC on this network: oracle, 1.000.") == 2
    tables = [block for block in text.split("\n\n") if block.startswith("| video_weight | aum_weight | n_flagged")]
    assert len(tables) == 2 and tables[0] == tables[1]  # the same truth, read two ways
    assert len(tables[0].splitlines()) == 2 + len(score_blend.BLENDS)
    assert "mean over the runs" in text
    default_row = f"| {score_blend.DEFAULT[0]:.3f} | {score_blend.DEFAULT[1]:.3f} | 0.000 | 0.000 | 0.000 | 0.000 |"
    assert default_row in text  # the default against itself, beside its lead over the best baseline

