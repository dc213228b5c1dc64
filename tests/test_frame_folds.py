"""Cross-fitted frame classifiers scoring every split (model/frame_folds.py, `score --cross-fit`)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from curation.errors import ConfigError
from curation.schema import SCORES_COLUMNS, SCORES_OPTIONAL
from model import data, frame_folds
from model.oof import OofConfig
from tests.fakerun import FAKE_CLASSES, make_fake_run

SMALL = dict(folds=2, size=16, per_video=2, steps=150,
             clips=OofConfig(uniform_clips=3, key_clips=1, frames=2, stride=2))


@pytest.fixture
def run(tmp_path):
    # each video's grey level shows its TRUE class; a fifth of the given labels are wrong
    return make_fake_run(tmp_path / "run", n=80, frames=16, size=16)


def test_salient_frames_pick_the_peaks_of_each_video_apart():
    sal = np.array([0, 0.2, 1.0, 0.9, 0.1, 0.5, 0, 0, 0.3, 1.0], np.float32)  # video 0: 6 frames, video 1: 4
    store = data.FrameStore(np.zeros((10, 2, 2), np.uint8), np.array([0, 6]), np.array([6, 4]), sal, ["a", "b"])
    idx, vid = frame_folds.salient_frames(store, per_video=2)
    assert vid.tolist() == [0, 0, 1, 1]
    # video 0: frame 3 is next to 2 and skipped; video 1: its frame 2 is next to 3, so its frame 0
    assert idx.tolist() == [2, 5, 9, 6]


def test_every_split_is_scored_by_a_classifier_that_never_saw_its_label(run):
    np.save(run.video_logits, np.zeros((80, len(FAKE_CLASSES)), np.float32))  # left by an in-sample score
    df = frame_folds.score_frame_folds(run.path, frame_folds.FrameFoldsConfig(**SMALL), progress=False)
    assert list(df.columns) == [*SCORES_COLUMNS, *SCORES_OPTIONAL]
    assert set(df["score_source"]) == {"out-of-fold"} and set(df["split"]) == {"train", "test"}
    cp = np.load(run.clip_probs)
    assert cp.shape == (80, 4, len(FAKE_CLASSES)) and np.allclose(cp.sum(2), 1, atol=1e-5)
    assert not run.video_logits.exists()  # baselines would have read it as this run's probabilities
    m = run.read_manifest()
    noisy = (m.df["label"] != m.df["true_label"]).to_numpy()
    # a classifier that had fitted a wrong label would support it; none of these saw theirs
    assert roc_auc_score(noisy, df["noise_score"]) > 0.95
    assert df["verdict"].isin(["noisy", "hard-or-noisy"])[noisy].mean() >= 0.7
    saved = run.load_config()["score"]
    assert saved["source"] == "out-of-fold" and saved["scorer"] == "frame classifiers" and saved["size"] == 16

    from curation.audit.baselines import run_probs

    assert run_probs(run.path)[1].startswith("out-of-fold")


def test_same_seed_same_scores(run):
    cfg = frame_folds.FrameFoldsConfig(**{**SMALL, "steps": 20})
    a = frame_folds.score_frame_folds(run.path, cfg, progress=False)
    b = frame_folds.score_frame_folds(run.path, cfg, progress=False)
    pd.testing.assert_frame_equal(a, b)


def test_gce_and_ce_both_learn_planted_classes():
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    x = rng.normal(0, 0.3, (120, 2, 16, 16)).astype(np.float32)
    for c in range(3):  # a bright square whose place is the class
        x[y == c, :, 2 + 4 * c: 6 + 4 * c, 2:6] += 2.0
    for loss, mixup in (("ce", 0.0), ("gce", 0.0), ("gce", 1.0)):
        net = frame_folds.fit_frame_classifier(x[:90], y[:90], 3, steps=120, seed=0, shift=1, loss=loss, mixup=mixup)
        import torch

        with torch.no_grad():
            acc = (net(torch.from_numpy(x[90:])).argmax(1).numpy() == y[90:]).mean()
        assert acc >= 0.9, (loss, mixup)


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="folds must be at least 2"):
        frame_folds.FrameFoldsConfig(folds=1).validate()
    with pytest.raises(ConfigError, match="loss must be one of ce, gce"):
        frame_folds.FrameFoldsConfig(loss="mae").validate()
    with pytest.raises(ConfigError, match="mixup must be 0"):
        frame_folds.fit_frame_classifier(np.zeros((4, 2, 16, 16), np.float32), [0, 1, 0, 1], 2, steps=1, seed=0,
                                         mixup=-0.5)
    with pytest.raises(ConfigError, match="at least 2 training frames"):
        frame_folds.fit_frame_classifier(np.zeros((1, 2, 16, 16), np.float32), [0], 2, steps=1, seed=0)


def test_score_command_cross_fit(run, capsys):
    from curation import cli

    assert cli.main(["score", str(run.path), "--cross-fit", "2", "--out-of-fold", "2"]) == 2
    assert "pick one" in capsys.readouterr().err
    assert cli.main(["score", str(run.path), "--cross-fit", "1"]) == 2
    assert "folds must be at least 2" in capsys.readouterr().err
    assert cli.main(["score", str(run.path), "--cross-fit", "2", "--cross-fit-size", "16",
                     "--cross-fit-steps", "10", "--clips", "3", "--key-clips", "1"]) == 0
    out = capsys.readouterr().out
    assert "2 frame classifiers at 16 px" in out and "next: dfer-curate baselines" in out
    assert pd.read_parquet(run.scores)["score_source"].eq("out-of-fold").all()


def test_frame_inputs_built_per_batch_train_the_same_network():
    """FrameInputs builds each batch from uint8 pixels (memory of a 40,000-video set): the
    classifier must be exactly the one trained on the same inputs built all at once."""
    import torch

    from model.pretrain import frame_inputs

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (60, 16, 16), dtype=np.uint8)
    neutral = rng.random((5, 16, 16)).astype(np.float32)
    video = np.arange(60) % 5
    y = np.arange(60) % 3
    lazy = frame_folds.FrameInputs(frames, neutral, video)
    eager = frame_inputs(frames, neutral[video])
    assert lazy.shape == eager.shape and np.array_equal(lazy[np.array([7, 3])], eager[[7, 3]])
    a = frame_folds.fit_frame_classifier(eager, y, 3, steps=6, seed=1, shift=1, loss="gce")
    b = frame_folds.fit_frame_classifier(lazy, y, 3, steps=6, seed=1, shift=1, loss="gce")
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(pa, pb)
    with pytest.raises(ValueError, match="60 frames but 59 video rows"):
        frame_folds.FrameInputs(frames, neutral, video[:59])
