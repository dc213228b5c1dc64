"""curation.audit.metrics: the weak-model warning and the detection table (the metrics on
planted noise are also checked in test_baselines and test_bench)."""

import numpy as np
import pandas as pd
import pytest

from curation.audit.metrics import weak_model_warning


def test_weak_model_warning_names_uar_and_chance():
    def log(*uars):
        return {"heldout": "val", "log": [{"heldout_uar": u} for u in uars]}

    msg = weak_model_warning(log(0.15, 0.19, 0.24), 7)
    assert msg and "UAR is 0.24" in msg and "chance 0.14" in msg and "--epochs" in msg
    assert weak_model_warning(log(0.15, 0.4), 7) is None
    assert weak_model_warning(log(0.6), 2) is None and weak_model_warning(log(0.55), 2) is not None
    assert weak_model_warning({"log": []}, 7) is None


def test_detection_table_one_row_per_method_against_truth():
    from curation.audit.metrics import detection_table

    truth = pd.DataFrame({"video_id": list("abcdef"), "is_noisy": [1, 1, 0, 0, 0, 0], "is_hard": [0, 0, 1, 1, 0, 0],
                          "true_label": ["x", "y", "x", "y", "x", "y"]})
    methods = pd.DataFrame({
        "video_id": list("fedcbaz"),  # other order, and one video without truth
        "m_score": [0.1, 0.2, 0.6, 0.5, 0.9, 0.8, 1.0], "m_flag": [0, 0, 1, 0, 1, 1, 1],
        "m_suggested": ["y", "x", "x", "y", "y", "x", "x"],
        "s_score": [0.0, np.nan, 0.0, 0.0, 1.0, 1.0, 0.0],
    })
    df = detection_table(methods, truth)
    assert list(df["method"]) == ["m", "s"]
    m = df.iloc[0]
    # flagged d, b, a: 2 of 3 are noisy, both noisy found; hard d flagged, hard c kept
    assert (m["n_flagged"], m["n_noisy"]) == (3, 2)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == 1.0
    assert m["hard_retention"] == 0.5 and m["auroc"] == 1.0
    assert m["relabel_acc"] == 1.0  # b -> y, a -> x
    assert m["noisy_vs_hard_auroc"] == 1.0
    s = df.iloc[1]  # no flag column: flag metrics are NaN; NaN score ranks lowest
    assert np.isnan(s["precision"]) and np.isnan(s["relabel_acc"]) and s["auroc"] == 1.0


def test_verdicts_by_split_counts_what_an_annotator_meets():
    from curation.audit.metrics import verdicts_by_split

    scores = pd.DataFrame({
        "video_id": list("abcdefgh"), "split": ["train"] * 5 + ["test"] * 3,
        "verdict": ["noisy", "clean", "hard-or-noisy", "hard", "hard", "clean", "noisy", "clean"],
        "noise_score": [0.9, 0.1, 0.6, 0.3, 0.2, 0.1, 0.8, 0.2]})
    truth = pd.DataFrame({"video_id": list("hgfedcba"),  # any order: joined on video_id
                          "is_noisy": [False, False, False, False, False, False, False, True],
                          "is_hard": [False, True, False, True, False, False, False, False]})
    t = verdicts_by_split(scores, truth).set_index("split")
    # train: clean easy b, c, d (c flagged hard-or-noisy) -> 1/3; called hard d (not hard), e (hard) -> 1/2
    assert t.loc["train", "clean_easy_flagged"] == pytest.approx(1 / 3) and t.loc["train", "hard_precision"] == 0.5
    assert t.loc["train", "auroc"] == 1.0 and t.loc["train", "n_noisy"] == 1
    # test: clean easy f, h -> none flagged; g is hard and flagged: not counted as easy; no noise
    assert t.loc["test", "clean_easy_flagged"] == 0.0 and np.isnan(t.loc["test", "auroc"])
    assert np.isnan(t.loc["test", "hard_precision"])


def test_hard_retention_at_compares_methods_at_one_flag_count():
    from curation.audit.metrics import hard_retention_at

    truth = pd.DataFrame({"video_id": list("abcdef"), "is_noisy": [1, 1, 0, 0, 0, 0], "is_hard": [0, 1, 1, 1, 0, 0]})
    methods = pd.DataFrame({
        "video_id": list("abcdefz"),  # z has no truth and is left out
        # m ranks the noisy a, b first, then hard c: at n=3 one of the hard, correct c, d is flagged
        "m_score": [0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 1.0],
        # s ranks the hard c, d on top; NaN ranks lowest
        "s_score": [0.5, np.nan, 0.9, 0.8, 0.1, 0.2, 0.0],
    })
    # hard and correctly labelled: c, d (b is hard but noisy)
    assert hard_retention_at(methods, truth, ["m", "s"], 3) == [0.5, 0.0]
    assert hard_retention_at(methods, truth, ["m", "s"], 2) == [1.0, 0.0]
    assert hard_retention_at(methods, truth, ["m"], 0) == [1.0]


def test_noisy_vs_hard_by_kind_splits_the_claim_by_kind_of_hard_video():
    from curation.audit.metrics import detection_table, noisy_vs_hard_by_kind

    truth = pd.DataFrame({"video_id": list("abcdefg"), "is_noisy": [1, 1, 0, 0, 0, 0, 1],
                          "is_hard": [0, 0, 1, 1, 1, 0, 1], "hard_kind": [None, None, "blend", "blend", "brief", None,
                                                                         "brief"],
                          "true_label": list("xyxyxyx")})
    # noisy a, b, g (g hard too: it counts as noisy); hard-correct c, d (blend), e (brief)
    methods = pd.DataFrame({"video_id": list("abcdefg"), "m_score": [0.9, 0.4, 0.5, 0.1, 0.3, 0.0, 0.8],
                            "s_score": [np.nan, 0.2, 0.1, 0.3, 0.9, 0.0, 0.5]})
    df = noisy_vs_hard_by_kind(methods, truth, ["m", "s"]).set_index("method")
    assert list(df.columns) == ["all", "blend", "brief", "n_blend", "n_brief"]
    assert (df.loc["m", "n_blend"], df.loc["m", "n_brief"]) == (2, 1)
    # m: against blend c 0.5 / d 0.1, noisy 0.9, 0.4, 0.8 win 5 of 6 pairs; against brief e 0.3, all 3
    assert df.loc["m", "blend"] == pytest.approx(5 / 6) and df.loc["m", "brief"] == 1.0
    # all = the pairs pooled = the kinds weighted by count, and what detection_table says
    assert df.loc["m", "all"] == pytest.approx((5 / 6 * 2 + 1.0) / 3)
    assert df.loc["m", "all"] == pytest.approx(detection_table(methods, truth, names=["m"]).iloc[0]["noisy_vs_hard_auroc"])
    # s: NaN ranks lowest, so a loses every pair; brief e (0.9) beats every noisy video
    assert df.loc["s", "brief"] == 0.0 and df.loc["s", "blend"] == pytest.approx(3 / 6)
