"""benchmarks/cross_fit_stack.py: the fold's manifest, the methods table, the verdict measures
and the markdown it writes."""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curation.data.manifest import read_manifest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import cross_fit_stack  # noqa: E402


def test_fold_manifest_holds_out_the_fold_as_test_and_drops_the_original_test():
    df = pd.DataFrame({"video_id": [f"v{i}" for i in range(6)],
                       "split": ["train", "train", "train", "val", "test", "test"]})
    out = cross_fit_stack.fold_manifest(df, ["v1", "v2"])
    assert out["video_id"].tolist() == ["v0", "v1", "v2", "v3"]
    assert out["split"].tolist() == ["train", "test", "test", "val"]
    assert df["split"].tolist()[1] == "train"  # the run's own table is left as it was


def _scores(ids, labels, noise, verdicts, suggested):
    return pd.DataFrame({"video_id": ids, "split": "train", "label": labels, "noise_score": noise,
                         "verdict": verdicts, "suggested_label": suggested})


def test_methods_scores_both_paths_and_cleanlab_on_the_same_videos():
    classes = ["a", "b", "c"]
    ids = [f"v{i}" for i in range(30)]
    labels = [classes[i % 3] for i in range(30)]
    probs = np.full((30, 3), 0.05)
    probs[np.arange(30), np.arange(30) % 3] = 0.9
    probs[:3] = [0.05, 0.05, 0.05]
    probs[np.arange(3), (np.arange(3) + 1) % 3] = 0.9  # three videos the probabilities call another class
    noise = np.r_[np.full(3, 0.9), np.full(27, 0.1)]
    verdicts = ["noisy"] * 3 + ["clean"] * 27
    stack = _scores(ids, labels, noise, verdicts, labels)
    in_sample = _scores(ids[::-1], labels[::-1], noise[::-1] * 0 + 0.5, ["clean"] * 30, labels[::-1])
    table = cross_fit_stack.methods(in_sample, stack, probs, classes)
    assert table["video_id"].tolist() == ids  # the in-sample scores are aligned to the stack's rows
    assert table["ours_cross_fit_flag"][:3].all() and not table["ours_in_sample_flag"].any()
    assert table["cl_prune_by_noise_rate_flag"][:3].all() and not table["cl_prune_by_noise_rate_flag"][3:].any()
    assert table["cl_both_suggested"][:3].tolist() == ["b", "c", "a"]
    blend = table["ours_rank_blend_score"].to_numpy()
    assert blend[:3].min() > blend[3:].max() and blend.max() <= 1.0  # ties in-sample: the stack decides


def test_verdict_quality_counts_hard_precision_and_easy_flags():
    truth = pd.DataFrame({"video_id": ["a", "b", "c", "d", "e"], "is_noisy": [True, False, False, False, False],
                          "is_hard": [False, True, True, False, False]})
    scores = pd.DataFrame({"video_id": ["a", "b", "c", "d", "e"],
                           "verdict": ["hard", "hard", "clean", "hard-or-noisy", "clean"]})
    q = cross_fit_stack.verdict_quality(scores, truth)
    assert q["hard_precision"] == 0.5  # a (noisy) and b (hard) were called hard
    assert q["clean_easy_flagged"] == 0.5  # d of the easy d, e


def test_markdown_carries_the_command_the_cost_ratio_and_every_method(tmp_path):
    det = pd.DataFrame([{c: (m if c == "method" else 0.5) for c in cross_fit_stack.COLUMNS}
                        for m in ("ours_in_sample", "ours_cross_fit", "cl_both")])
    det["n_flagged"] = [266.0, 406.0, float("nan")]  # float, as when the blend row has no count
    quality = {"in-sample": {"hard_precision": 0.4, "clean_easy_flagged": 0.02},
               "cross-fit": {"hard_precision": 0.3, "clean_easy_flagged": 0.08}}
    out = tmp_path / "X.md"
    args = Namespace(run="runs/xfit", folds=3, seed=0, threads=2)
    cross_fit_stack.write_markdown(out, args, det, quality, {"cross-fit": 0.81, "in-sample": 0.88}, 300.0, 1500.0,
                                   1400)
    text = out.read_text()
    assert "benchmarks/cross_fit_stack.py --run runs/xfit --folds 3" in text
    assert "3 cross-fitted stacks 25.0 min (5.0x)" in text
    assert "held-out folds 0.810, the in-sample network on the test split 0.880" in text
    assert "| ours_cross_fit |" in text and "| cl_both |" in text and "| cross-fit | 0.300 | 0.080 |" in text
    assert "| ours_in_sample | 266 | 0.500 |" in text and "| cl_both | – | 0.500 |" in text


@pytest.mark.slow
def test_end_to_end_on_a_tiny_synthetic_run(tmp_path):
    from curation.data.synth import SynthConfig, generate

    generate(tmp_path / "run", SynthConfig(n=60, size=32, num_frames=16, seed=3))
    md = tmp_path / "X.md"
    assert cross_fit_stack.main(["--run", str(tmp_path / "run"), "--folds", "2", "--encoder-steps", "3",
                                 "--threads", "1", "--md", str(md)]) == 0
    text = md.read_text()
    assert "| ours_in_sample |" in text and "| ours_cross_fit |" in text and "| cl_prune_by_noise_rate |" in text
    # each fold's sub-run held out its half of the train split and scored it
    held = [read_manifest(tmp_path / "run_stack2" / f"fold_{k}").split("test") for k in (0, 1)]
    train_ids = read_manifest(tmp_path / "run").split("train")["video_id"]
    assert sorted(pd.concat(held)["video_id"]) == sorted(train_ids)
