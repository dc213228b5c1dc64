"""FiftyOne Brain mistakenness over arrays, on a real (temporary) FiftyOne dataset."""

from __future__ import annotations

import numpy as np
import pytest

from curation.errors import CurationError
from curation.fiftyone.brain import mistakenness_scores

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fiftyone_db")]

CLASSES = ["happy", "sad", "neutral", "angry"]


@pytest.fixture
def planted():
    """Confident predictions; a planted tenth of the labels is wrong."""
    rng = np.random.default_rng(0)
    n = 40
    true = rng.integers(0, 4, n)
    given = true.copy()
    wrong = np.zeros(n, bool)
    wrong[rng.choice(n, 4, replace=False)] = True
    given[wrong] = (true[wrong] + 1) % 4
    probs = np.full((n, 4), 0.04)
    probs[np.arange(n), true] = 0.88
    probs[:5] = 0.25  # five undecided predictions
    ids = [f"v{i}" for i in range(n)]
    return ids, [CLASSES[g] for g in given], np.log(probs), wrong


def test_wrong_labels_score_high(planted):
    ids, labels, logits, wrong = planted
    s = mistakenness_scores(ids, labels, logits, CLASSES)
    assert s.shape == (len(ids),) and np.all((s >= 0) & (s <= 1))
    confident = np.arange(len(ids)) >= 5
    assert s[wrong & confident].min() > 0.7
    assert s[~wrong & confident].max() < 0.3
    # undecided (uniform) predictions: (±exp(-entropy) + 1) / 2 = 0.5 ± 1/8, middling
    assert np.allclose(np.abs(s[:5] - 0.5), 0.125)


def test_rows_stay_aligned(planted):
    ids, labels, logits, _ = planted
    s = mistakenness_scores(ids, labels, logits, CLASSES)
    order = np.arange(len(ids))[::-1]
    r = mistakenness_scores([ids[i] for i in order], [labels[i] for i in order], logits[order], CLASSES)
    assert np.allclose(r, s[order])


def test_leaves_no_dataset_behind(planted):
    import fiftyone as fo

    ids, labels, logits, _ = planted
    before = fo.list_datasets()
    mistakenness_scores(ids, labels, logits, CLASSES)
    assert fo.list_datasets() == before


@pytest.mark.parametrize("mutate, match", [
    (lambda a: (a[0][:-1], a[1], a[2]), r"video_ids has 39 rows, labels 40, logits 40"),
    (lambda a: (a[0], a[1], a[2][:, :3]), r"logits must be \(N, C=4\)"),
    (lambda a: (a[0], ["joy"] + a[1][1:], a[2]), r"labels \['joy'\] are not among the classes"),
    (lambda a: (a[0], a[1], np.where(np.arange(4) == 0, -np.inf, a[2])), r"NaN or infinite.*np\.clip"),
    (lambda a: (["v0"] * 40, a[1], a[2]), r"video_ids must be unique"),
])
def test_bad_input_is_refused(planted, mutate, match):
    ids, labels, logits, _ = planted
    with pytest.raises(CurationError, match=match):
        mistakenness_scores(*mutate((ids, labels, logits)), CLASSES)
