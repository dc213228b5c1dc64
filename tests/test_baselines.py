"""Each baseline on hand-made outputs with planted label noise: it must find the noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from curation.audit import baselines as B
from curation.errors import ConfigError, RunError
from curation.audit.metrics import detection_metrics

C = 5


@pytest.fixture
def planted():
    """300 videos, 5 classes: 20% noisy (the model is confident in the true class, the label
    is another), 20% hard (probability split between label and a neighbour), the rest clean."""
    rng = np.random.default_rng(7)
    n = 300
    true = rng.integers(0, C, n)
    kind = rng.choice(["clean", "hard", "noisy"], size=n, p=[0.6, 0.2, 0.2])
    labels = true.copy()
    noisy = kind == "noisy"
    labels[noisy] = (true[noisy] + rng.integers(1, C, noisy.sum())) % C
    probs = np.empty((n, C))
    for i in range(n):
        alpha = np.full(C, 0.5)
        if kind[i] == "hard":
            alpha[true[i]] += 6
            alpha[(true[i] + 1) % C] += 4
        else:
            alpha[true[i]] += 20
        probs[i] = rng.dirichlet(alpha)
    return {"labels": labels, "true": true, "probs": probs, "noisy": noisy, "hard": kind == "hard", "rng": rng}


def _check_found(det, planted, *, min_f1=0.8, min_auroc=0.9):
    m = detection_metrics(planted["noisy"], det.flag, det.score, is_hard=planted["hard"])
    assert det.score.shape == det.flag.shape == planted["noisy"].shape
    assert det.flag.dtype == bool
    assert m["f1"] >= min_f1, m
    assert m["auroc"] >= min_auroc, m
    return m


@pytest.mark.parametrize("filter_by", B.CLEANLAB_FILTERS)
def test_cleanlab_filters_find_planted_noise(planted, filter_by):
    det = B.cleanlab_filter(planted["labels"], planted["probs"], filter_by=filter_by)
    _check_found(det, planted)
    flagged = det.flag & planted["noisy"]
    # the suggestion is the model's class, which is the true class for planted noise
    assert np.mean(det.suggested[flagged] == planted["true"][flagged]) > 0.95


@pytest.mark.parametrize("method", B.CLEANLAB_RANKS)
def test_cleanlab_rank_flags_its_issue_count(planted, method):
    from cleanlab.count import num_label_issues

    det = B.cleanlab_rank(planted["labels"], planted["probs"], method=method)
    _check_found(det, planted)
    assert det.flag.sum() == num_label_issues(planted["labels"], planted["probs"])
    # the flagged set is exactly the top of the ranking
    assert det.score[det.flag].min() >= det.score[~det.flag].max()


def _epochs(planted, noisy_value, clean_value, spread=0.1, epochs=6):
    rng = planted["rng"]
    base = np.where(planted["noisy"], noisy_value, clean_value)[:, None]
    return base + spread * rng.standard_normal((len(base), epochs))


def test_aum_flags_negative_margins(planted):
    margins = _epochs(planted, -2.0, 2.0, spread=1.0)
    margins[0, 2] = np.nan  # an epoch that did not see video 0 is ignored, not fatal
    det = B.aum(margins)
    _check_found(det, planted, min_f1=0.95, min_auroc=0.99)
    assert det.flag[3] == (np.nanmean(margins[3]) < 0)


def test_loss_gmm_splits_high_loss_component(planted):
    loss = np.abs(_epochs(planted, 2.5, 0.3, spread=0.4, epochs=1)[:, 0])
    det = B.loss_gmm(loss, seed=0)
    _check_found(det, planted, min_f1=0.9)
    assert ((det.score >= 0) & (det.score <= 1)).all()
    # deterministic for a seed
    assert np.array_equal(det.score, B.loss_gmm(loss, seed=0).score)


def test_loss_gmm_constant_loss_flags_nothing():
    det = B.loss_gmm(np.ones(10))
    assert not det.flag.any()


def test_cartography_hard_to_learn_region(planted):
    rng = planted["rng"]
    n = len(planted["labels"])
    # noisy: steadily low; clean: steadily high; hard: oscillating around 0.5 (high variability)
    p = np.where(planted["noisy"][:, None], 0.1, 0.9) + 0.02 * rng.standard_normal((n, 8))
    osc = 0.5 + 0.4 * np.tile([1, -1], 4)
    p[planted["hard"]] = osc
    det = B.cartography(np.clip(p, 0, 1))
    _check_found(det, planted, min_f1=0.95)
    assert not det.flag[planted["hard"]].any()  # hard videos are ambiguous, not hard-to-learn
    assert set(det.extra) == {"confidence", "variability"}


def test_single_clip_uses_one_clip_only(planted):
    n = len(planted["labels"])
    clips = np.repeat(planted["probs"][:, None, :], 4, axis=1)
    # scramble clips 1..3: the ablation must not depend on them
    clips[:, 1:] = planted["rng"].dirichlet(np.ones(C), size=(n, 3))
    det = B.single_clip(planted["labels"], clips, clip=0)
    _check_found(det, planted, min_f1=0.8)
    # the default is the middle clip: with clip 0 moved to the middle of 3, the same verdicts
    det2 = B.single_clip(planted["labels"], np.concatenate([clips[:, 1:2], clips[:, :1], clips[:, 2:3]], 1))
    assert np.array_equal(det.flag, det2.flag)
    assert np.array_equal(det.score, det2.score)


def test_fo_mistakenness_finds_planted_noise(planted):
    from curation.fiftyone.brain import mistakenness_scores

    ids = [f"v{i}" for i in range(len(planted["labels"]))]
    det = B.fo_mistakenness(ids, planted["labels"], planted["probs"], [f"c{i}" for i in range(C)],
                            scorer=mistakenness_scores)
    _check_found(det, planted)
    assert ((det.score >= 0) & (det.score <= 1)).all()


def test_input_validation_messages(planted):
    with pytest.raises(ValueError, match="labels has 300 rows but pred_probs has 299"):
        B.cleanlab_filter(planted["labels"], planted["probs"][:-1])
    with pytest.raises(ValueError, match="rows must sum to 1"):
        B.cleanlab_rank(planted["labels"], planted["probs"] * 2)
    with pytest.raises(ConfigError, match="filter_by 'nope'"):
        B.cleanlab_filter(planted["labels"], planted["probs"], filter_by="nope")
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\]"):
        B.cleanlab_filter(planted["labels"] + 5, planted["probs"])
    with pytest.raises(ValueError, match="clip 9 is out of range"):
        B.single_clip(planted["labels"], planted["probs"][:, None, :], clip=9)


def test_run_baselines_writes_parquet(fake_run):
    out = B.run_baselines(fake_run.path)
    on_disk = pd.read_parquet(fake_run.baselines)
    scores = pd.read_parquet(fake_run.scores)
    assert list(on_disk["video_id"]) == list(scores.loc[scores["split"] == "train", "video_id"])
    for m in ("cl_prune_by_noise_rate", "cl_self_confidence", "aum", "loss_gmm", "cartography", "single_clip"):
        assert on_disk[f"{m}_flag"].dtype == bool
        assert on_disk[f"{m}_score"].dtype == np.float64
    assert out.shape == on_disk.shape
    conf = fake_run.load_config()["baselines"]
    assert conf["probs_kind"].startswith("in-sample")
    assert conf["inputs"]["cl_both"].startswith("pred_probs in-sample")
    assert conf["skipped"]["fo_mistakenness"] == "no FiftyOne mistakenness scorer was given"
    assert "dfer-curate embed" in conf["skipped"]["knn_vote"]  # no embedding cache: skipped, not fatal
    assert set(conf["skipped"]) == {"fo_mistakenness", "knn_vote"}


def test_oof_probs_preferred_and_checked(fake_run):
    scores = pd.read_parquet(fake_run.scores)
    n = len(scores)
    rng = np.random.default_rng(0)
    np.save(fake_run.path / "oof_probs.npy", rng.dirichlet(np.ones(4), size=n))
    (fake_run.path / "oof_probs.json").write_text('{"kind": "out-of-fold (K=3, test)"}')
    x = B.load_inputs(fake_run.path)
    assert x.probs_kind == "out-of-fold (K=3, test)"
    assert x.pred_probs.shape == ((scores["split"] == "train").sum(), 4)
    assert B.load_inputs(fake_run.path, probs="insample").probs_kind.startswith("in-sample")
    np.save(fake_run.path / "oof_probs.npy", rng.dirichlet(np.ones(4), size=n - 1))
    with pytest.raises(RunError, match="oof_probs.npy has shape"):
        B.load_inputs(fake_run.path)


def test_run_probs_prefers_video_head_and_reads_folds(fake_run):
    n = len(pd.read_parquet(fake_run.scores))
    logits = np.zeros((n, 4))
    logits[:, 2] = 3.0
    np.save(fake_run.path / "video_logits.npy", logits)
    probs, kind = B.run_probs(fake_run.path)
    assert kind == "in-sample (video head)"
    assert np.allclose(probs[:, 2], np.exp(3) / (np.exp(3) + 3))
    with pytest.raises(RunError, match="no out-of-fold probabilities"):
        B.load_inputs(fake_run.path, probs="oof")
    fake_run.save_config("train", {"folds": 5})
    x = B.load_inputs(fake_run.path, probs="oof")
    assert x.probs_kind == "out-of-fold (K=5, video head)"


def test_missing_scores_names_command(tmp_path):
    with pytest.raises(RunError, match="dfer-curate score"):
        B.run_baselines(tmp_path)


def test_side_by_side_and_compare_table(fake_run):
    from curation.audit.compare import compare_table, side_by_side

    ran = [m for m in B.METHODS if m not in ("fo_mistakenness", "knn_vote")]  # knn_vote: no embeddings here
    B.run_baselines(fake_run.path, B.BaselinesConfig(methods=ran))
    df = side_by_side(fake_run.path)
    assert df["method"].iloc[0] == "ours"
    assert {"precision", "recall", "f1", "auroc", "hard_retention", "relabel_acc", "inputs"} <= set(df.columns)
    assert list(df["method"]) == ["ours", *ran]
    scores = pd.read_parquet(fake_run.scores)
    flagged = int(((scores["split"] == "train") & (scores["verdict"] == "noisy")).sum())
    assert df.set_index("method").loc["ours", "n_flagged"] == flagged
    # the fake run's planted verdicts are exactly the truth
    ours = df.set_index("method").loc["ours"]
    assert ours["f1"] == 1.0 and ours["hard_retention"] == 1.0
    text = compare_table(fake_run.path)
    assert "ours" in text and "cl_prune_by_noise_rate" in text and "in-sample" in text
    # the short table is ours against cleanlab and AUM, with the claim metric
    assert "aum" in text and "cartography" not in text and "noisy_vs_hard_auroc" in text
