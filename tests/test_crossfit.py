"""Out-of-fold heads on embeddings: folds, clip features, and scores that never saw the label."""

import numpy as np
import pytest

from curation.audit import crossfit


def _blobs(n=120, m=4, d=6, c=3, seed=0):
    """Clip features whose class is readable from the features, with labels = classes."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    centres = rng.normal(0, 3, (c, d))
    x = centres[y][:, None, :] + rng.normal(0, 1, (n, m, d))
    return x.astype(np.float32), y


def test_folds_are_stratified_and_keep_groups_together():
    y = np.repeat([0, 1, 2], 20)
    fold = crossfit.fold_assignment(y, folds=4, seed=0)
    assert sorted(np.unique(fold)) == [0, 1, 2, 3]
    for k in range(4):
        assert np.bincount(y[fold == k], minlength=3).tolist() == [5, 5, 5]
    groups = np.arange(60) // 3  # 20 groups of 3 videos
    fold = crossfit.fold_assignment(y, folds=4, groups=groups, seed=0)
    for g in range(20):
        assert len(set(fold[groups == g])) == 1
    assert np.array_equal(crossfit.fold_assignment(y, folds=4, seed=3), crossfit.fold_assignment(y, folds=4, seed=3))


def test_fewer_videos_than_folds_still_get_every_fold_index():
    fold = crossfit.fold_assignment(np.array([0, 1, 1]), folds=2, seed=0)
    assert sorted(fold.tolist()) in ([0, 0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="folds must be >= 2"):
        crossfit.fold_assignment(np.array([0, 1]), folds=1)


def test_clip_features_are_mean_and_movement_of_the_clip_frames():
    emb = np.arange(20, dtype=np.float32).reshape(10, 2)  # frames 0..9, 2 dims
    feats = crossfit.clip_features(emb, offsets=[0, 5], clip_starts=[[0], [1]], frames=2, stride=2)
    # video 0: frames 0 and 2; video 1 (offset 5): frames 6 and 8
    assert feats.shape == (2, 1, 4)
    assert feats[0, 0].tolist() == [2.0, 3.0, 4.0, 4.0]
    assert feats[1, 0].tolist() == [14.0, 15.0, 4.0, 4.0]


def test_out_of_fold_probs_find_planted_noise_and_ignore_the_videos_own_label():
    x, y = _blobs()
    noisy = np.zeros(len(y), bool)
    noisy[::10] = True
    given = np.where(noisy, (y + 1) % 3, y)
    fold = np.arange(len(y)) % 5
    probs = crossfit.out_of_fold_probs(x, given, fold, num_classes=3)
    assert probs.shape == (120, 4, 3) and np.allclose(probs.sum(2), 1)
    support = probs[np.arange(len(y)), :, given].mean(1)
    # every planted wrong label gets less support than every correct one
    assert support[noisy].max() < support[~noisy].min()
    # a video's own label never reaches the head that scores it
    flipped = given.copy()
    flipped[7] = (flipped[7] + 1) % 3
    again = crossfit.out_of_fold_probs(x, flipped, fold, num_classes=3)
    assert np.allclose(again[7], probs[7])
    assert not np.allclose(again[fold != fold[7]], probs[fold != fold[7]])


def test_out_of_fold_probs_check_shapes():
    x, y = _blobs(n=30)
    with pytest.raises(ValueError, match="must share N rows"):
        crossfit.out_of_fold_probs(x[:-1], y, np.arange(30) % 3, num_classes=3)
