"""benchmarks/verdict_routing.py: verdicts against the truth, the flags counted two ways and
the hard verdict at stricter cuts, on small hand-made tables whose answers are known."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import verdict_routing  # noqa: E402

# six train videos and two test videos: (verdict, agree_label, is_noisy, is_hard, split, noise_score)
ROWS = [("noisy", 0.0, True, False, "train", 0.9), ("noisy", 0.1, False, False, "train", 0.8),
        ("hard-or-noisy", 0.4, True, False, "train", 0.6), ("hard-or-noisy", 0.5, False, True, "train", 0.55),
        ("hard", 0.5, False, True, "train", 0.45), ("clean", 1.0, True, False, "train", 0.42),
        ("hard", 0.25, False, True, "test", 0.3), ("hard", 0.6, False, False, "test", 0.2)]


def _tables():
    ids = [f"v{i}" for i in range(len(ROWS))]
    scores = pd.DataFrame({"video_id": ids, "verdict": [r[0] for r in ROWS], "agree_label": [r[1] for r in ROWS],
                           "split": [r[4] for r in ROWS], "noise_score": [r[5] for r in ROWS]})
    truth = pd.DataFrame({"video_id": ids, "is_noisy": [r[2] for r in ROWS], "is_hard": [r[3] for r in ROWS]})
    return scores, truth


def test_routing_counts_each_kind_per_verdict_on_train_only():
    t = verdict_routing.routing_table(*_tables()).set_index("verdict")
    assert t.loc["noisy"].tolist() == [1, 0, 1]
    assert t.loc["hard-or-noisy"].tolist() == [0, 1, 1]
    assert t.loc["hard"].tolist() == [0, 1, 0]  # the two test videos are left out
    assert t.loc["clean"].tolist() == [0, 0, 1]


def test_counting_hard_or_noisy_as_a_flag_trades_hard_retention_for_recall():
    rows = verdict_routing.flag_rows(*_tables()).set_index("flag")
    only = rows.loc["noisy"]
    assert only["n_flagged"] == 2 and only["precision"] == pytest.approx(0.5)
    assert only["recall"] == pytest.approx(1 / 3) and only["hard_retention"] == pytest.approx(1.0)
    both = rows.loc["hard-or-noisy + noisy"]
    assert both["n_flagged"] == 4 and both["recall"] == pytest.approx(2 / 3)
    assert both["hard_retention"] == pytest.approx(0.5)


def test_a_stricter_hard_cut_calls_fewer_videos_hard_across_splits():
    rows = verdict_routing.hard_cut_rows(*_tables(), cuts=(0.75, 0.5, 0.3),
                                         score_cuts=(0.5, 0.45, 0.4)).set_index("hard_rule")
    # unflagged: v4 (0.5, hard, score 0.45), v5 (1.0, noisy, 0.42), v6 (0.25, hard, test, 0.3),
    # v7 (0.6, easy, test, 0.2)
    assert rows.loc["agree_label < 0.75", "called_hard"] == 3
    assert rows.loc["agree_label < 0.75", "precision"] == pytest.approx(2 / 3)
    assert rows.loc["agree_label < 0.5", "called_hard"] == 1 and rows.loc["agree_label < 0.5", "precision"] == 1.0
    assert rows.loc["agree_label < 0.5", "recall"] == pytest.approx(0.5)
    assert rows.loc["agree_label < 0.3", "called_hard"] == 1
    # by the noise score: 0.45 finds v4 alone; 0.4 adds the mislabelled v5, which robust training would up-weight
    assert rows.loc["noise_score >= 0.5", "called_hard"] == 0
    assert rows.loc["noise_score >= 0.45", "precision"] == 1.0 and rows.loc["noise_score >= 0.45", "mislabelled"] == 0
    assert rows.loc["noise_score >= 0.4", "called_hard"] == 2
    assert rows.loc["noise_score >= 0.4", "mislabelled"] == pytest.approx(0.5)
    assert rows.loc["noise_score >= 0.4", "recall"] == pytest.approx(0.5)


def test_a_run_without_truth_is_refused_by_name(tmp_path):
    from curation.data.manifest import Manifest, write_manifest

    df = pd.DataFrame({"video_id": ["v0"], "path": ["a.mp4"], "label": ["x"], "split": ["train"],
                       "num_frames": [16], "fps": [25.0]})
    write_manifest(tmp_path, Manifest(df, ["x", "y"], tmp_path))
    # unseen.truth_of_run, which benchmarks/score_blend.py reads the truth with too
    with pytest.raises(SystemExit, match=r"has no truth in its manifest .*=SET_DIR"):
        verdict_routing.main(["--runs", str(tmp_path), "--md", str(tmp_path / "R.md")])


def test_main_writes_one_section_per_run_with_the_train_counts(fake_run, tmp_path):
    from curation.data.manifest import read_manifest

    md = tmp_path / "R.md"
    assert verdict_routing.main(["--runs", str(fake_run.path), "--md", str(md)]) == 0
    text = md.read_text()
    assert f"benchmarks/verdict_routing.py --runs {fake_run.path} --md {md}" in text
    assert f"## `{fake_run.path}`" in text and "| hard-or-noisy + noisy |" in text
    scores, truth = fake_run.read_scores(), read_manifest(fake_run.path).df
    train = scores.merge(truth, on="video_id", suffixes=("", "_m"))
    train = train[train["split"] == "train"]
    noisy_called_noisy = int(((train["verdict"] == "noisy") & train["is_noisy"]).sum())
    row = next(line for line in text.splitlines() if line.startswith("| noisy |") and line.count("|") == 5)
    assert row.split("|")[4].strip() == str(noisy_called_noisy)


@pytest.mark.slow
def test_retriage_rows_reproduce_the_run_then_change_one_setting_each(tmp_path):
    from curation.data.manifest import read_manifest
    from model.config import ScoreConfig
    from model.score import score
    from model.train import train
    from tests.fakerun import make_fake_run
    from tests.test_train import TINY

    run = make_fake_run(tmp_path / "run", n=24, frames=12, size=16)
    for name in ("scores.parquet", "dynamics.parquet", "clip_probs.npy"):
        (run.path / name).unlink()
    train(run.path, TINY, progress=False)
    score(run.path, ScoreConfig(uniform_clips=3, key_clips=2), progress=False)
    before = run.scores.read_bytes()
    truth = read_manifest(run.path).df
    rows = verdict_routing.retriage_rows(run.path, truth).set_index("triage")
    own = "as scored (route=pooled, min_score=0.5)"
    assert list(rows.index) == [own, "route=votes", "min_score=0.4", "min_score=0.3", "min_score=0.0"]
    # as scored gives exactly the flags scores.parquet holds
    flags = verdict_routing.flag_rows(run.read_scores(), truth).iloc[0]
    assert flags["flag"] == "noisy"
    assert rows.loc[own, "n_flagged"] == flags["n_flagged"] and rows.loc[own, "f1"] == flags["f1"]
    # each route splits the same candidates between noisy and hard-or-noisy
    cand = rows["n_flagged"] + rows["hard_or_noisy"]
    assert cand[own] == cand["route=votes"]
    # a lower guard only adds candidates: more flags, and never fewer easy videos sent to review
    order = [own, "min_score=0.4", "min_score=0.3", "min_score=0.0"]
    assert cand[order].is_monotonic_increasing
    assert rows.loc[order, "easy_flagged_train"].is_monotonic_increasing
    assert rows.loc[own, "easy_flagged_train"] == rows.loc["route=votes", "easy_flagged_train"]
    assert run.scores.read_bytes() == before  # nothing in the run is rewritten
