"""benchmarks/out_of_fold.py: the methods table, and a tiny end-to-end run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import out_of_fold  # noqa: E402


def test_methods_table_scores_ours_and_the_baselines_on_the_same_probabilities():
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 3
    cp = np.full((60, 4, 3), 0.05)
    cp[np.arange(60), :, labels] = 0.9
    cp[:6, :, :] = 0.05
    cp[np.arange(6), :, (labels[:6] + 1) % 3] = 0.9  # six videos whose clips all name another class
    cp += rng.uniform(0, 0.01, cp.shape)
    cp /= cp.sum(2, keepdims=True)
    df = pd.DataFrame({"video_id": [f"v{i}" for i in range(60)]})
    table, res = out_of_fold.methods_table(df, ["a", "b", "c"], cp, labels)
    assert {"ours_score", "ours_flag", "cl_prune_by_noise_rate_score", "single_clip_score"} <= set(table.columns)
    assert table["ours_flag"][:6].all() and not table["ours_flag"][6:].any()
    assert (table["ours_score"][:6].min() > table["ours_score"][6:].max())
    assert "knn_vote_score" not in table.columns  # no embeddings given
    assert "ours_neutral_aware_score" not in table.columns  # no class named neutral
    with_neutral, _ = out_of_fold.methods_table(df, ["a", "Neutral", "c"], cp, labels)
    assert with_neutral["ours_neutral_aware_flag"][:6].all()  # clips that show another expression
    # embeddings that show the class the clips name: the neighbour vote finds the same six
    feats = np.eye(3)[np.where(np.arange(60) < 6, (labels + 1) % 3, labels)] + rng.normal(0, 0.1, (60, 3))
    fold = (np.arange(60) // 3) % 3  # every class in every fold
    table, _ = out_of_fold.methods_table(df, ["a", "b", "c"], cp, labels, fold=fold, features=feats)
    assert table["knn_vote_flag"][:6].all() and not table["knn_vote_flag"][6:].any()
    assert table["knn_vote_suggested"][:6].tolist() == [["a", "b", "c"][(y + 1) % 3] for y in labels[:6]]


@pytest.mark.slow
def test_end_to_end_on_a_tiny_synthetic_run(tmp_path, capsys):
    from curation.data.synth import SynthConfig, generate

    generate(tmp_path / "run", SynthConfig(n=60, size=32, num_frames=16, seed=3))
    md = tmp_path / "OOF.md"
    assert out_of_fold.main(["--run", str(tmp_path / "run"), "--folds", "2", "--steps", "3", "--per-video", "2",
                             "--md", str(md)]) == 0
    text = md.read_text()
    assert "noisy_vs_hard_auroc" in text and "| ours |" in text and "| cl_self_confidence |" in text
    assert "Out-of-fold accuracy against the true labels" in text
    assert "`knn_vote` left out" in text and "dfer-curate embed" in text  # no embedding cache in this run
