"""The review queue as pure pandas: joins, filters, ordering, progress, overview tables."""

import time

import numpy as np
import pandas as pd
import pytest

from curation.review.decisions import DecisionLog
from curation.review.queue import (
    QueueFilter,
    annotator_progress,
    baseline_methods,
    confusion,
    default_baseline,
    filter_queue,
    neighbours,
    format_duration,
    next_after,
    progress,
    review_pace,
    review_table,
    time_left,
    verdict_counts,
)

CLASSES = ["happy", "sad", "neutral", "angry"]


@pytest.fixture
def scores():
    # id, given, suggested, verdict, noise, hardness
    rows = [
        ("a", "happy", "sad", "noisy", 0.95, 0.10),
        ("b", "sad", "sad", "hard", 0.40, 0.80),
        ("c", "neutral", "sad", "noisy", 0.70, 0.20),
        ("d", "angry", "angry", "clean", 0.05, 0.00),
        ("e", "happy", "happy", "hard", 0.30, 0.60),
        ("f", "sad", "neutral", "noisy", 0.85, 0.30),
    ]
    df = pd.DataFrame(rows, columns=["video_id", "label", "suggested_label", "verdict", "noise_score", "hardness"])
    return df.assign(split="train", consensus_label=df["suggested_label"])


@pytest.fixture
def baselines():
    return pd.DataFrame({
        "video_id": list("abcdef"),
        "cl_prune_by_noise_rate_score": [0.9, 0.2, 0.1, 0.8, 0.1, 0.7],
        "cl_prune_by_noise_rate_flag": [True, False, False, True, False, True],
        "cl_confident_learning_score": [0.9, 0.6, 0.1, 0.1, 0.1, 0.7],
        "cl_confident_learning_flag": [True, True, False, False, False, True],
        "aum_score": [0.0] * 6, "aum_flag": [False] * 6,
    })


def _current(tmp_path, decisions):
    log = DecisionLog(tmp_path / "r.sqlite")
    for vid, action, label, who in decisions:
        log.record(video_id=vid, action=action, new_label=label, annotator=who)
    return log.current()


def test_default_queue_is_flagged_videos_most_suspicious_first(scores):
    q = filter_queue(review_table(scores))
    assert q["video_id"].tolist() == ["a", "f", "c", "b", "e"]
    q = filter_queue(review_table(scores), QueueFilter(sort_by="hardness"))
    assert q["video_id"].tolist() == ["b", "e", "f", "c", "a"]


def test_filters_on_classes_score_range_and_verdict(scores):
    t = review_table(scores)
    assert filter_queue(t, QueueFilter(given=("happy",)))["video_id"].tolist() == ["a", "e"]
    assert filter_queue(t, QueueFilter(suggested=("sad",)))["video_id"].tolist() == ["a", "c", "b"]
    assert filter_queue(t, QueueFilter(score_range=(0.5, 0.9)))["video_id"].tolist() == ["f", "c"]
    assert filter_queue(t, QueueFilter(verdicts=("clean",)))["video_id"].tolist() == ["d"]
    with pytest.raises(ValueError, match="sort_by must be one of"):
        QueueFilter(sort_by="margin")


def test_reviewed_filter_final_label_and_progress(scores, tmp_path):
    cur = _current(tmp_path, [("a", "relabel", "neutral", "ann"), ("c", "exclude", None, "bob"),
                              ("d", "keep", "angry", "ann")])
    t = review_table(scores, cur)
    assert filter_queue(t, QueueFilter(reviewed="unreviewed"))["video_id"].tolist() == ["f", "b", "e"]
    assert filter_queue(t, QueueFilter(reviewed="reviewed"))["video_id"].tolist() == ["a", "c"]
    final = t.set_index("video_id")["final_label"]
    assert final["a"] == "neutral" and pd.isna(final["c"]) and final["b"] == "sad"
    p = progress(t)
    assert (p["flagged"], p["reviewed"], p["remaining"], p["reviewed_unflagged"]) == (5, 2, 3, 1)
    assert p["share"] == pytest.approx(0.4)
    ap = annotator_progress(cur, t)
    assert ap.loc["ann", "relabel"] == 1 and ap.loc["ann", "keep"] == 1 and ap.loc["ann", "total"] == 2
    assert ap.loc["ann", "flagged"] == 1 and ap.loc["bob", "exclude"] == 1


def test_disagreement_with_cleanlab(scores, baselines):
    methods = baseline_methods(baselines)
    assert methods == ["cl_prune_by_noise_rate", "cl_confident_learning", "aum"]
    assert default_baseline(methods) == "cl_confident_learning"
    t = review_table(scores, None, baselines)
    every = QueueFilter(verdicts=("clean", "hard", "noisy"))
    ids = lambda b: filter_queue(t, QueueFilter(verdicts=every.verdicts, baseline=b))["video_id"].tolist()  # noqa: E731
    # ours noisy: a c f; confident learning flags: a b f
    assert ids("agree") == ["a", "f", "e", "d"]
    assert ids("disagree") == ["c", "b"]
    assert ids("only ours") == ["c"]
    assert ids("only baseline") == ["b"]
    t2 = review_table(scores, None, baselines, baseline="cl_prune_by_noise_rate")
    only = filter_queue(t2, QueueFilter(verdicts=every.verdicts, baseline="only baseline"))
    assert only["video_id"].tolist() == ["d"]


def test_without_baselines_the_baseline_filter_yields_nothing(scores):
    t = review_table(scores, None, None)
    assert t["baseline_flag"].isna().all()
    assert filter_queue(t, QueueFilter(baseline="disagree")).empty
    assert len(filter_queue(t, QueueFilter(baseline="any"))) == 5


def test_confusion_and_verdict_counts_in_class_order(scores):
    t = review_table(scores)
    cm = confusion(t, CLASSES)
    assert list(cm.index) == CLASSES and list(cm.columns) == CLASSES
    assert cm.loc["happy", "sad"] == 1 and cm.loc["sad", "sad"] == 1 and cm.loc["sad", "neutral"] == 1
    assert cm.to_numpy().sum() == 6
    assert confusion(t, CLASSES, only_flagged=True).to_numpy().sum() == 5
    # after the default decisions: noisy videos move to their suggestion, hard ones stay put
    prop = confusion(t, CLASSES, column="proposed_label")
    assert prop.loc["happy", "sad"] == 1 and prop.loc["happy", "happy"] == 1  # a (noisy), e (hard)
    assert prop.loc["sad", "neutral"] == 1 and prop.loc["sad", "sad"] == 1  # f (noisy), b (hard)
    assert np.trace(prop.to_numpy()) == 3 and prop.columns.name == "proposed"
    vc = verdict_counts(t, CLASSES)
    # columns: clean, hard, hard-or-noisy, noisy, total
    assert vc.loc["happy"].tolist() == [0, 1, 0, 1, 2] and vc.loc["neutral"].tolist() == [0, 0, 0, 1, 1]


def test_navigation_helpers():
    assert neighbours(["a", "b", "c"], "b") == ("a", "c")
    assert neighbours(["a", "b", "c"], "a") == (None, "b")
    assert neighbours(["a", "b"], "z") == (None, "a")
    # after deciding b under an "unreviewed" filter, b leaves the queue: go to c
    assert next_after(["a", "b", "c"], ["a", "c"], "b") == "c"
    assert next_after(["a", "b", "c"], ["a"], "c") == "a"
    assert next_after(["a"], [], "a") is None


def test_review_order_puts_likely_wrong_labels_first_and_hard_videos_last(scores):
    # a hard video with a higher score than every noisy one still comes after them
    s = pd.concat([scores, pd.DataFrame([{"video_id": "g", "label": "sad", "suggested_label": "happy",
                                         "verdict": "hard", "noise_score": 0.99, "hardness": 0.5,
                                         "split": "val", "consensus_label": "sad"},
                                        {"video_id": "h", "label": "sad", "suggested_label": "happy",
                                         "verdict": "hard-or-noisy", "noise_score": 0.45, "hardness": 0.5,
                                         "split": "test", "consensus_label": "happy"}])], ignore_index=True)
    t = review_table(s)
    assert filter_queue(t)["video_id"].tolist() == ["a", "f", "c", "h", "g", "b", "e"]
    # the plain score order is still there for those who want it
    assert filter_queue(t, QueueFilter(sort_by="noise_score"))["video_id"].tolist()[:2] == ["g", "a"]
    assert filter_queue(t, QueueFilter(splits=("val", "test")))["video_id"].tolist() == ["h", "g"]
    assert filter_queue(t, QueueFilter(score_range=(0.9, 1.0)))["video_id"].tolist() == ["a", "g"]
    assert bool(t.set_index("video_id").loc["h", "flagged"])
    with pytest.raises(ValueError, match="unknown verdict"):
        QueueFilter(verdicts=("suspicious",))


def _events(times, actions=None, who="ann"):
    actions = actions or ["relabel"] * len(times)
    return pd.DataFrame({"time": times, "action": actions, "annotator": who})


def test_pace_counts_decisions_of_the_latest_stretch():
    ev = _events(["2026-01-01T09:00:00.000Z", "2026-01-01T09:00:30.000Z",  # an earlier stretch
                  "2026-01-01T10:00:00.000Z", "2026-01-01T10:00:20.000Z", "2026-01-01T10:00:30.000Z",
                  "2026-01-01T10:01:00.000Z"], ["keep", "keep", "relabel", "keep", "undo", "exclude"])
    p = review_pace(ev, annotator="ann", now="2026-01-01T10:02:00Z")
    # 3 decisions (undo is not one) in the minute from 10:00:00 to 10:01:00: 2 intervals a minute
    assert p["decisions"] == 3 and p["minutes"] == pytest.approx(1.0)
    assert p["per_hour"] == pytest.approx(120.0) and p["active"]
    assert not review_pace(ev, annotator="ann", now="2026-01-01T11:00:00Z")["active"]
    assert review_pace(ev, annotator="bob") is None
    assert review_pace(_events(["2026-01-01T10:00:00.000Z"])) is None
    assert time_left(30, 120.0) == pytest.approx(900.0) and time_left(5, None) is None
    assert format_duration(900.0) == "15 min" and format_duration(3900) == "1 h 05 min"
    assert format_duration(10) == "< 1 min" and format_duration(None) == "—"


def test_pace_from_a_real_decision_log(tmp_path):
    log = DecisionLog(tmp_path / "r.sqlite")
    for vid in "abc":
        log.record(video_id=vid, action="keep", annotator="ann")
        time.sleep(0.01)  # timestamps have millisecond resolution
    p = review_pace(log.events(), annotator="ann")
    assert p is not None and p["decisions"] == 3 and p["per_hour"] > 0 and p["active"]
