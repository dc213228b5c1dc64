"""benchmarks/encoder_splits.py: detection per split and over all splits, on a hand-made
table whose answers are known, and the report's rows."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import encoder_splits  # noqa: E402

# (split, verdict, noise_score, is_noisy, is_hard, label, suggested, true_label)
ROWS = [("train", "noisy", 0.9, True, False, "a", "b", "b"), ("train", "noisy", 0.8, False, False, "a", "b", "a"),
        ("train", "hard", 0.3, False, True, "b", "b", "b"), ("train", "clean", 0.1, False, False, "b", "b", "b"),
        ("test", "clean", 0.7, True, False, "a", "a", "b"), ("test", "hard-or-noisy", 0.2, False, False, "b", "a", "b"),
        ("val", "clean", 0.1, False, False, "a", "a", "a"), ("val", "clean", 0.2, False, False, "b", "b", "b")]


def _tables():
    ids = [f"v{i}" for i in range(len(ROWS))]
    scores = pd.DataFrame({"video_id": ids, "split": [r[0] for r in ROWS], "verdict": [r[1] for r in ROWS],
                           "noise_score": [r[2] for r in ROWS], "label": [r[5] for r in ROWS],
                           "suggested_label": [r[6] for r in ROWS]})
    truth = pd.DataFrame({"video_id": ids, "is_noisy": [r[3] for r in ROWS], "is_hard": [r[4] for r in ROWS],
                          "true_label": [r[7] for r in ROWS]})
    return scores, truth


def test_each_split_and_all_splits_are_measured_on_their_own_videos():
    m = encoder_splits.measure_scores(*_tables())
    assert set(m) == {"train", "val", "test", "all splits"}
    assert m["val"]["n_noisy"] == 0 and m["val"]["clean_easy_flagged"] == 0.0  # no noise: nothing to rank
    tr, te, every = m["train"], m["test"], m["all splits"]
    assert tr["n_flagged"] == 2 and tr["n_noisy"] == 1 and tr["f1"] == pytest.approx(2 / 3)
    assert tr["auroc"] == pytest.approx(1.0) and tr["relabel_acc"] == pytest.approx(1.0)
    assert tr["clean_easy_flagged"] == pytest.approx(0.5) and tr["hard_precision"] == pytest.approx(1.0)
    # the test split's noisy video was not flagged and ranks above its clean one; the
    # hard-or-noisy verdict counts as sent to review, not as a flag
    assert te["n_flagged"] == 0 and te["auroc"] == pytest.approx(1.0) and te["clean_easy_flagged"] == pytest.approx(1.0)
    assert every["n_noisy"] == 2 and every["n_flagged"] == 2 and every["f1"] == pytest.approx(0.5)
    assert every["clean_easy_flagged"] == pytest.approx(2 / 5)


def test_the_report_has_a_row_per_scope_and_encoder_and_the_command(tmp_path):
    m = encoder_splits.measure_scores(*_tables())
    results = {0: {"trainval": m, "all": m}, 1: {"trainval": m, "all": m}}
    path = tmp_path / "r.md"
    encoder_splits.write_markdown(results, path, "benchmarks/encoder_splits.py --seeds 0,1", 3.0,
                                  n=1200, variants=encoder_splits.VARIANTS)
    md = path.read_text()
    assert "benchmarks/encoder_splits.py --seeds 0,1" in md and "seeds 0, 1" in md
    assert "| all splits | train,val,test | 0.500 |" in md and "| test | train,val | 0.000 |" in md
    assert md.count("\n| 1 | ") == 2


def test_the_default_alone_is_titled_as_the_default_path_and_names_its_set_size(tmp_path):
    m = encoder_splits.measure_scores(*_tables())
    m["baselines"] = {"ours_nvh": 0.95, "best_baseline": "aum", "best_nvh": 0.93, "ours_f1": 0.86,
                      "cleanlab_filter": "cl_both", "cleanlab_f1": 0.84}
    path = tmp_path / "r.md"
    encoder_splits.write_markdown({0: {"all": m}}, path, "benchmarks/encoder_splits.py --variants all", 1.0,
                                  n=2000, variants={"all": encoder_splits.VARIANTS["all"]})
    md = path.read_text()
    assert md.startswith("# The default path, its encoder learning train,val,test (every split noisy)")
    assert "synth --n 2000 --noise-splits" in md
    assert "| train,val |" not in md and md.count("| train,val,test |") == 4 + 1 + 1  # 4 scopes, seed, claim
    assert "| 0 | train,val,test | 0.950 | aum | 0.930 | +0.020 | 0.860 | cl_both | 0.840 |" in md


def test_the_claim_names_the_best_baseline_by_noisy_vs_hard_and_cleanlabs_best_filter_by_f1():
    table = pd.DataFrame({
        "method": ["ours", "cl_prune_by_class", "cl_self_confidence", "aum", "cl_both"],
        "noisy_vs_hard_auroc": [0.93, 0.90, 0.92, 0.91, 0.89],
        "f1": [0.85, 0.80, float("nan"), 0.88, 0.84]})
    b = encoder_splits.against_baselines(table)
    # aum has the higher F1 but is not a cleanlab filter; the self-confidence rank has no flags
    assert b == {"ours_nvh": 0.93, "best_baseline": "cl_self_confidence", "best_nvh": 0.92, "ours_f1": 0.85,
                 "cleanlab_filter": "cl_both", "cleanlab_f1": 0.84}
