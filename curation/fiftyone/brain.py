"""FiftyOne Brain mistakenness as a baseline over plain arrays.

The baselines stage calls :func:`mistakenness_scores` with the same per-video logits it
gives the other methods; the Brain runs on a temporary, non-persistent dataset that is
deleted before returning. The push stage also computes it on the pushed dataset itself
(:func:`compute_on_dataset`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from curation.errors import CurationError

log = logging.getLogger(__name__)

BRAIN_KEY = "mistakenness"


def mistakenness_scores(video_ids: Sequence[str], labels: Sequence[str], logits: np.ndarray,
                        classes: Sequence[str]) -> np.ndarray:
    """FiftyOne Brain mistakenness of each given label, shape (N,), in [0, 1].

    Higher = the label is more likely wrong (a confident prediction of another class).
    ``logits`` is (N, C) in ``classes`` order (log mean clip probabilities work); ``labels``
    are class names, ``video_ids`` unique strings naming the rows."""
    logits = np.asarray(logits, dtype=np.float64)
    video_ids = [str(v) for v in video_ids]
    labels = [str(x) for x in labels]
    classes = [str(c) for c in classes]
    n = len(video_ids)
    if logits.ndim != 2 or logits.shape[1] != len(classes):
        raise CurationError(f"logits must be (N, C={len(classes)}) for classes {classes}, got {logits.shape}")
    if logits.shape[0] != n or len(labels) != n:
        raise CurationError(f"video_ids has {n} rows, labels {len(labels)}, logits {logits.shape[0]}; "
                            "they must be aligned")
    if len(set(video_ids)) != n:
        raise CurationError("video_ids must be unique")
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise CurationError(f"labels {unknown[:5]} are not among the classes {classes}")
    if not np.isfinite(logits).all():
        raise CurationError("logits contain NaN or infinite values; clip probabilities of 0 need "
                            "clipping before the log (np.log(np.clip(p, 1e-8, 1)))")
    if n == 0:
        return np.zeros(0)
    return _scores(video_ids, labels, logits, classes)


def _scores(video_ids, labels, logits, classes) -> np.ndarray:
    from curation.fiftyone.db import import_fiftyone

    fo = import_fiftyone()
    pred_idx = logits.argmax(1)
    probs = _softmax(logits)
    ds = fo.Dataset()  # non-persistent: gone with the process even if deletion fails
    try:
        # Samples need a media path; these are never opened (image-type dummies).
        ds.add_samples([fo.Sample(filepath=f"/mistakenness/{i}.jpg") for i in range(len(video_ids))],
                       progress=False)
        ids = ds.values("id")
        ds.set_values("ground_truth", {i: fo.Classification(label=y) for i, y in zip(ids, labels)},
                      key_field="id")
        ds.set_values(
            "prediction",
            {i: fo.Classification(label=classes[p], confidence=float(probs[k, p]), logits=logits[k].tolist())
             for k, (i, p) in enumerate(zip(ids, pred_idx))},
            key_field="id",
        )
        compute_on_dataset(ds, "prediction", "ground_truth", field=BRAIN_KEY)
        by_id = dict(zip(*ds.values(["id", BRAIN_KEY])))
        return np.array([by_id[i] for i in ids], dtype=np.float64)
    finally:
        ds.delete()


def compute_on_dataset(samples, pred_field: str = "prediction", label_field: str = "ground_truth", *,
                       field: str = BRAIN_KEY) -> None:
    """Run Brain mistakenness (logits-based) on a collection, replacing an earlier run."""
    import fiftyone.brain as fob

    if field in samples.list_brain_runs():
        samples.delete_brain_run(field)
    fob.compute_mistakenness(samples, pred_field, label_field=label_field,
                             mistakenness_field=field, use_logits=True, progress=False)


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)
