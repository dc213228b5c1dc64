"""The neighbour vote on embeddings: it finds planted label flips, excludes the video's own
fold, and says which argument is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from curation.audit import baselines as B
from curation.audit import crossfit
from curation.audit.neighbours import neighbour_vote, video_features
from curation.errors import RunError

C = 4


@pytest.fixture
def blobs():
    """400 videos in 4 well-separated Gaussian clusters (one per true class), 20% of the
    labels flipped to another class, 5 stratified folds."""
    rng = np.random.default_rng(3)
    n, d = 400, 16
    true = np.arange(n) % C
    centres = rng.normal(0, 1, (C, d)) * 4
    x = centres[true] + rng.normal(0, 1, (n, d))
    flipped = rng.random(n) < 0.2
    labels = np.where(flipped, (true + rng.integers(1, C, n)) % C, true)
    fold = crossfit.fold_assignment(labels, folds=5, seed=0)
    return {"x": x, "true": true, "labels": labels, "flipped": flipped, "fold": fold}


def test_flipped_labels_score_high_and_the_suggestion_is_the_true_class(blobs):
    b = blobs
    vote = neighbour_vote(b["x"], b["labels"], b["fold"], num_classes=C)
    assert roc_auc_score(b["flipped"], vote.score) > 0.95
    f = b["flipped"]
    assert np.mean(vote.suggested[f] == b["true"][f]) > 0.9
    assert np.mean(vote.suggested[~f] == b["labels"][~f]) > 0.95  # clean labels are kept
    assert vote.votes.shape == (400, C) and np.allclose(vote.votes.sum(1), 1)
    assert np.allclose(vote.score, 1 - vote.votes[np.arange(400), b["labels"]])
    # the neighbours are of other folds only
    assert (b["fold"][vote.neighbours] != b["fold"][:, None]).all()


def test_detection_flags_come_from_cleanlab_on_the_votes(blobs):
    from cleanlab.filter import find_label_issues

    b = blobs
    det = B.knn_vote(b["labels"], b["x"], b["fold"], num_classes=C)
    assert det.flag.dtype == bool and det.score.shape == det.flag.shape == (400,)
    votes = det.extra["votes"]
    assert np.array_equal(det.flag, find_label_issues(b["labels"], votes, filter_by="prune_by_noise_rate", n_jobs=1))
    tp = (det.flag & b["flipped"]).sum()
    assert tp / det.flag.sum() > 0.85 and tp / b["flipped"].sum() > 0.85
    # judging a subset: every video still votes, so the subset's scores are unchanged
    rows = np.arange(0, 400, 2)
    part = B.knn_vote(b["labels"], b["x"], b["fold"], num_classes=C, rows=rows)
    assert np.array_equal(part.score, det.score[rows]) and len(part.flag) == 200


def test_a_near_duplicate_in_the_same_fold_does_not_vouch_for_a_flip(blobs):
    b = blobs
    i = int(np.flatnonzero(b["flipped"])[0])
    x = np.vstack([b["x"], b["x"][i] + 1e-3])  # a copy of video i, with its wrong label
    labels = np.append(b["labels"], b["labels"][i])
    dup = len(x) - 1
    same = np.append(b["fold"], b["fold"][i])
    vote = neighbour_vote(x, labels, same, num_classes=C)
    assert dup not in vote.neighbours[i]
    assert vote.score[i] >= 0.8 and vote.suggested[i] == b["true"][i]
    # the same copy in another fold is the nearest neighbour and does vote (the check can fail)
    other = same.copy()
    other[dup] = (b["fold"][i] + 1) % 5
    vote = neighbour_vote(x, labels, other, num_classes=C)
    assert vote.neighbours[i, 0] == dup


def test_deterministic_and_weighted_votes_agree_on_clear_cases(blobs):
    b = blobs
    a = neighbour_vote(b["x"], b["labels"], b["fold"], num_classes=C)
    again = neighbour_vote(b["x"], b["labels"], b["fold"], num_classes=C, block=7)  # other blocks, same answer
    assert np.array_equal(a.neighbours, again.neighbours) and np.array_equal(a.score, again.score)
    w = neighbour_vote(b["x"], b["labels"], b["fold"], num_classes=C, weighted=True)
    assert roc_auc_score(b["flipped"], w.score) > 0.95 and not np.array_equal(w.votes, a.votes)


def test_a_tie_keeps_the_given_label():
    # fold 0: two identical videos labelled 0 and 1, three far away; fold 1: near them two 0s and
    # two 1s, one far away. With k=4 both get a 2:2 vote and keep their own label.
    x = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1.1], [0, 0.9],
                  [1, 0.1], [1, -0.1], [0.9, 0.05], [1.1, -0.05], [-1, 0]])
    labels = np.array([0, 1, 0, 1, 0, 0, 1, 1, 0, 1])
    fold = np.repeat([0, 1], 5)
    vote = neighbour_vote(x, labels, fold, num_classes=2, k=4)
    assert vote.votes[0].tolist() == vote.votes[1].tolist() == [0.5, 0.5]
    assert vote.suggested[:2].tolist() == [0, 1]


def test_video_features_are_the_standardised_mean_of_clip_features():
    rng = np.random.default_rng(0)
    emb = rng.normal(0, 1, (30, 3)).astype(np.float16)  # 3 videos of 10 frames
    offsets, starts = np.array([0, 10, 20]), np.array([[0, 4], [1, 5], [2, 6]])
    got = video_features(emb, offsets, starts, frames=2, stride=2, block=2)
    raw = crossfit.clip_features(emb, offsets, starts, frames=2, stride=2).mean(1)
    assert got.shape == (3, 6)
    assert np.allclose(got, (raw - raw.mean(0)) / raw.std(0), atol=1e-5)


@pytest.mark.parametrize("change, message", [
    (lambda a: {**a, "labels": a["labels"][:-1]}, "labels has 9 rows but features has 10"),
    (lambda a: {**a, "fold": a["fold"][:-1]}, r"fold has shape \(9,\) but features has 10 rows"),
    (lambda a: {**a, "features": np.where(np.arange(10)[:, None] == 3, np.nan, a["features"])},
     "features has non-finite entries in 1 row.*first row 3"),
    (lambda a: {**a, "features": np.where(np.arange(10)[:, None] == 2, 0.0, a["features"])},
     "features row 2 is all zeros"),
    (lambda a: {**a, "k": 6}, "k=6 is larger than the 5 candidate video.*outside fold"),
    (lambda a: {**a, "k": 0}, "k must be a positive integer"),
    (lambda a: {**a, "fold": np.zeros(10, int)}, "fold holds one fold only"),
    (lambda a: {**a, "labels": a["labels"] + 2}, r"labels must lie in \[0, 1\]"),
    (lambda a: {**a, "labels": a["labels"].astype(float)}, "labels must be 1-D integer"),
    (lambda a: {**a, "features": a["features"][:, 0]}, r"features must be \(N, D\)"),
])
def test_bad_inputs_name_the_argument(change, message):
    ok = {"features": np.random.default_rng(0).normal(size=(10, 3)), "labels": np.arange(10) % 2,
          "fold": np.arange(10) % 2, "k": 3}
    a = change(ok)
    with pytest.raises(ValueError, match=message):
        neighbour_vote(a["features"], a["labels"], a["fold"], num_classes=2, k=a["k"])


# ---------------------------------------------------------------- run level


def _write_embeddings(run, *, dim: int = 8, seed: int = 0, ids=None):
    """An embedding cache in the format `dfer-curate embed` writes, whose frames carry each
    video's TRUE class plus noise."""
    m = run.read_manifest()
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (len(m.classes), dim))
    true = np.asarray(m.label_index(m.df["true_label"]))
    lengths = m.df["num_frames"].to_numpy(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    frames = np.concatenate([centres[t] + rng.normal(0, 1, (n, dim)) for t, n in zip(true, lengths)])
    np.save(run.embeddings, frames.astype(np.float16))
    np.savez(run.embeddings_index, video_ids=np.array(ids or m.df["video_id"].tolist()), offsets=offsets,
             lengths=lengths, saliency=np.zeros(len(frames), np.float32), encoder_sha256=np.array("ab" * 32),
             dim=np.array(dim))


@pytest.fixture
def embedded_run(tmp_path):
    from tests.fakerun import add_clip_layout, make_fake_run

    run = make_fake_run(tmp_path / "run", n=80, frames=16, size=16)
    add_clip_layout(run)
    _write_embeddings(run)
    return run


def test_run_baselines_votes_on_the_cached_embeddings(embedded_run):
    run = embedded_run
    out = B.run_baselines(run.path, B.BaselinesConfig(methods=["cl_prune_by_noise_rate", "knn_vote"]))
    assert {"knn_vote_score", "knn_vote_flag", "knn_vote_suggested"} <= set(out.columns)
    truth = run.read_manifest().df.set_index("video_id").loc[out["video_id"].astype(str)]
    assert roc_auc_score(truth["is_noisy"], out["knn_vote_score"]) > 0.9
    flagged = out["knn_vote_flag"].to_numpy()
    assert truth["is_noisy"].to_numpy()[flagged].mean() > 0.8
    conf = run.load_config()["baselines"]
    assert conf["skipped"] == {} and conf["inputs"]["knn_vote"].startswith("frame embeddings (encoder abababab")
    # the folds are those of the out-of-fold heads, every split votes, the train split is judged
    x = B.load_inputs(run.path)
    m = run.read_manifest()
    assert np.array_equal(x.pool.fold, crossfit.manifest_folds(m))
    assert len(x.pool.labels) == len(m.df) and len(x.pool.rows) == (m.df["split"] == "train").sum()
    # more neighbours than a fold leaves: skipped with the reason, the rest still run
    B.run_baselines(run.path, B.BaselinesConfig(methods=["aum", "knn_vote"], knn_k=70))
    assert "knn_k=70 needs more" in run.load_config()["baselines"]["skipped"]["knn_vote"]


def test_a_cache_of_other_videos_is_skipped_with_a_reason(embedded_run):
    run = embedded_run
    ids = run.read_manifest().df["video_id"].tolist()
    _write_embeddings(run, ids=["stranger", *ids[1:]])
    out = B.run_baselines(run.path, B.BaselinesConfig(methods=["aum", "knn_vote"]))
    assert "knn_vote_score" not in out.columns and "aum_score" in out.columns
    assert "made for other videos" in run.load_config()["baselines"]["skipped"]["knn_vote"]
    with pytest.raises(RunError, match="knn_vote needs frame embeddings"):
        B.compute(B.load_inputs(run.path), "knn_vote")
