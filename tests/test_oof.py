"""Out-of-fold scoring of every split from per-frame embeddings (model/oof.py)."""

import numpy as np
import pandas as pd
import pytest

from curation.audit import crossfit
from curation.errors import RunError
from curation.schema import SCORES_COLUMNS, SCORES_OPTIONAL
from model import data, oof
from tests.fakerun import FAKE_CLASSES, make_fake_run


def planted_embeddings(run, *, dim: int = 8, seed: int = 0) -> data.FrameStore:
    """Per-frame embeddings that carry each video's TRUE class (plus noise), so out-of-fold
    heads can recover the truth and disagree with planted wrong labels."""
    m = run.read_manifest()
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (len(FAKE_CLASSES), dim))
    true = np.asarray(m.label_index(m.df["true_label"]))
    lengths = m.df["num_frames"].to_numpy(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    frames = np.concatenate([centres[t] + rng.normal(0, 1, (n, dim)) for t, n in zip(true, lengths)])
    saliency = rng.uniform(0, 1, len(frames)).astype(np.float32)
    return data.FrameStore(frames.astype(np.float16), offsets, lengths, saliency, m.df["video_id"].tolist())


@pytest.fixture
def run(tmp_path):
    return make_fake_run(tmp_path / "run", n=80, frames=16, size=16)


def test_every_split_is_scored_out_of_fold_and_planted_noise_ranks_first(run):
    emb = planted_embeddings(run)
    cfg = oof.OofConfig(uniform_clips=3, key_clips=1, frames=2, stride=2)
    df = oof.score_out_of_fold(run.path, emb, cfg, progress=False)
    assert list(df.columns) == [*SCORES_COLUMNS, *SCORES_OPTIONAL]
    assert set(df["score_source"]) == {"out-of-fold"} and set(df["split"]) == {"train", "test"}
    cp = np.load(run.clip_probs)
    assert cp.shape == (80, 4, len(FAKE_CLASSES)) and np.allclose(cp.sum(2), 1, atol=1e-5)
    starts = np.load(run.clip_starts)
    assert starts.shape == (80, 4) and (np.diff(starts[:, :3], axis=1) >= 0).all()
    m = run.read_manifest()
    noisy = m.df["label"].to_numpy() != m.df["true_label"].to_numpy()
    assert noisy.any()
    # planted wrong labels, in every split, get the highest noise scores
    assert df["noise_score"][noisy].min() > df["noise_score"][~noisy].max()
    flagged = df["verdict"].isin(["noisy", "hard-or-noisy"]).to_numpy()
    assert flagged[noisy].mean() >= 0.8 and flagged[~noisy].mean() <= 0.1
    sugg = df.loc[noisy & (df["verdict"] == "noisy").to_numpy(), "suggested_label"]
    assert (sugg == m.df.loc[sugg.index, "true_label"]).all()
    assert run.load_config()["score"]["source"] == "out-of-fold"


def test_same_seed_same_scores_and_groups_share_a_fold(run, tmp_path):
    emb = planted_embeddings(run)
    cfg = oof.OofConfig(uniform_clips=3, key_clips=1, frames=2, stride=2)
    a = oof.score_out_of_fold(run.path, emb, cfg, progress=False)
    b = oof.score_out_of_fold(run.path, emb, cfg, progress=False)
    pd.testing.assert_frame_equal(a, b)
    df = pd.DataFrame({"video_id": ["a", "b"], "subject": ["s1", "s1"]})
    assert list(crossfit.group_column(df)) == ["s1", "s1"]
    assert crossfit.group_column(pd.DataFrame({"video_id": ["a"]})) is None


def test_embeddings_of_other_videos_are_refused(run):
    emb = planted_embeddings(run)
    emb.video_ids[0] = "stranger"
    with pytest.raises(RunError, match="dfer-curate embed"):
        oof.score_out_of_fold(run.path, emb, progress=False)


def test_score_command_out_of_fold_needs_two_folds_and_embeddings(run, capsys):
    from curation import cli

    assert cli.main(["score", str(run.path), "--out-of-fold", "1"]) == 2
    assert "use 2 or more folds" in capsys.readouterr().err
    assert cli.main(["score", str(run.path), "--out-of-fold", "3"]) == 2
    assert "dfer-curate pretrain" in capsys.readouterr().err  # no encoder, hence no embeddings


def test_fold_head_rates_find_the_planted_share_per_class(tmp_path):
    big = make_fake_run(tmp_path / "big", n=240, frames=12, size=16)
    emb = planted_embeddings(big)
    m = big.read_manifest()
    rows = np.flatnonzero(m.df["split"].to_numpy() == "train")
    labels = np.asarray(m.label_index(m.df["label"]))[rows]
    cfg = oof.OofConfig(uniform_clips=3, key_clips=1, frames=2, stride=2)
    rates = oof.fold_head_rates(emb, labels, rows, num_classes=len(FAKE_CLASSES), config=cfg)
    wrong = (m.df["label"] != m.df["true_label"]).to_numpy()[rows]
    true = np.array([wrong[labels == c].mean() for c in range(len(FAKE_CLASSES))])
    assert true.mean() > 0.1
    np.testing.assert_allclose(rates, true, atol=0.08)
    # gathered in chunks or at once: the same features, the same rates
    np.testing.assert_array_equal(rates, oof.fold_head_rates(emb, labels, rows, num_classes=len(FAKE_CLASSES),
                                                             config=cfg, chunk=7))
    # too few videos to hold a fold out: no estimate (the trainer then estimates in-sample)
    assert oof.fold_head_rates(emb, labels[:6], rows[:6], num_classes=len(FAKE_CLASSES), config=cfg) is None


def test_training_rates_only_for_frozen_out_of_fold_runs(run):
    from model.config import TrainConfig

    emb = planted_embeddings(run)
    m = run.read_manifest()
    rows = np.flatnonzero(m.df["split"].to_numpy() == "train")
    labels = np.asarray(m.label_index(m.df["label"]))[rows]
    k = len(FAKE_CLASSES)
    assert oof.training_rates(emb, labels, rows, TrainConfig(), num_classes=k) is None  # pixels: in-sample
    assert oof.training_rates(emb, labels, rows, TrainConfig(frozen=True, flag_rates="in-sample"), num_classes=k) is None
    rates = oof.training_rates(emb, labels, rows, TrainConfig(frozen=True), num_classes=k)
    assert rates.shape == (k,) and (rates >= 0).all() and rates.max() > 0
