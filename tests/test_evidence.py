"""Why a video got its verdict: actions per verdict, the clip timeline, and the sentence,
checked against scores computed by the audit itself (not against hand-written numbers)."""

import re

import numpy as np
import pandas as pd
import pytest

from curation.audit import agreement as agr
from curation.review.evidence import (
    TrainingClips,
    TrainingWindow,
    clip_segments,
    decision_actions,
    training_series,
    triage_config,
    video_evidence,
)
from curation.review.names import FIELDS, field_help, plain_name
from curation.runs import RunDir

CLASSES = ["Happy", "Sad", "Neutral", "Angry", "Surprise", "Disgust", "Fear"]


def test_noisy_offers_the_relabel_first_and_hard_never_relabels_by_default():
    noisy = decision_actions("noisy", "Surprise", "Fear")
    assert [(a.kind, a.label, a.primary) for a in noisy] == [("accept", "Fear", True), ("keep", "Surprise", False)]
    assert noisy[0].text == "Relabel to Fear"
    hard = decision_actions("hard", "Angry", "Surprise")
    assert [(a.kind, a.label, a.primary) for a in hard] == [("keep", "Angry", True)]
    assert hard[0].text == "Keep Angry (hard)"
    undecided = decision_actions("hard-or-noisy", "Angry", "Sad")
    assert {a.kind for a in undecided} == {"accept", "keep"} and not any(a.primary for a in undecided)
    assert [(a.kind, a.primary) for a in decision_actions("clean", "Sad", "Happy")] == [("keep", True)]
    # a noisy row without a usable suggestion still offers the keep, with no default relabel
    assert [a.kind for a in decision_actions("noisy", "Sad", None)] == ["keep"]


def test_segments_are_sorted_by_start_with_key_clips_in_place():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(len(CLASSES)), size=6)
    starts = np.array([0, 10, 20, 30, 25, 5])  # 4 uniform clips, then 2 key clips appended
    seg = clip_segments(p, CLASSES, "Sad", starts=starts, span=7, n_uniform=4)
    assert seg["start"].tolist() == sorted(starts.tolist())
    assert seg["clip"].tolist() == [0, 5, 1, 2, 4, 3]
    assert (seg["end"] - seg["start"] == 6).all()
    assert seg.loc[seg["clip"] == 4, "kind"].item() == "key"
    assert np.allclose(seg["given_prob"], p[seg["clip"], 1])
    assert seg["predicted"].tolist() == [CLASSES[i] for i in p[seg["clip"]].argmax(1)]
    with pytest.raises(ValueError, match="starts has"):
        clip_segments(p, CLASSES, "Sad", starts=starts[:3])
    with pytest.raises(ValueError, match="not one of the classes"):
        clip_segments(p, CLASSES, "Calm")


def _video(votes: dict, m: int, peak: float = 0.8) -> np.ndarray:
    """(m, C) clip probabilities, ``votes[class]`` clips with that class on top."""
    rows = []
    for cls, k in votes.items():
        for _ in range(k):
            r = np.full(len(CLASSES), (1 - peak) / (len(CLASSES) - 1))
            r[CLASSES.index(cls)] = peak
            rows.append(r)
    assert len(rows) == m
    return np.array(rows)


def _scores(clip_probs, labels, *, noise_rates, video_probs=None):
    """Scores rows as the score stage writes them, from the audit itself."""
    idx = np.array([CLASSES.index(x) for x in labels])
    res = agr.audit(clip_probs, idx, noise_rates=noise_rates, video_probs=video_probs)
    a = res["agreement"]
    return pd.DataFrame({
        "video_id": [f"v{i}" for i in range(len(labels))], "split": "train", "label": labels,
        "pred_label": np.array(CLASSES)[a.pred], "pred_conf": a.pred_conf, "label_prob": a.label_prob,
        "agree_label": a.agree_label, "agree_mode": a.agree_mode, "consensus_label": np.array(CLASSES)[a.consensus],
        "margin": a.margin, "noise_score": res["noise_score"], "hardness": res["hardness"],
        "verdict": res["verdict"], "suggested_label": np.array(CLASSES)[res["suggested"]],
        "suggested_lead": res["suggested_lead"],
    })


@pytest.fixture
def audited():
    # a mislabelled video, a hard video whose clips agree with its label, a split one, clean ones
    vids = [
        ({"Fear": 9, "Surprise": 2, "Sad": 1}, "Surprise"),
        ({"Angry": 10, "Surprise": 2}, "Angry"),
        ({"Sad": 5, "Happy": 4, "Fear": 3}, "Sad"),
        *[({"Happy": 12}, "Happy")] * 3,
        *[({"Angry": 12}, "Angry")] * 3,
        *[({"Surprise": 12}, "Surprise")] * 3,
    ]
    probs = np.stack([_video(v, 12) for v, _ in vids])
    rates = np.full(len(CLASSES), 0.4)
    head = probs.mean(1)
    # the video head doubts the hard video's label: enough to flag it, not enough to name Surprise
    head[1] = np.full(len(CLASSES), 0.03)
    head[1][[CLASSES.index("Surprise"), CLASSES.index("Angry")]] = (0.75, 0.1)
    return probs, _scores(probs, [g for _, g in vids], noise_rates=rates, video_probs=head)


def _numbers(sentence):
    return [int(x) for x in re.findall(r"(\d+) of (\d+) clips", sentence)[0]]


def test_sentence_quotes_the_counts_the_verdict_came_from(audited):
    probs, scores = audited
    assert scores["verdict"].tolist()[:3] == ["noisy", "hard-or-noisy", "hard"]
    noisy = video_evidence(scores.iloc[0], probs[0], CLASSES)
    assert noisy.consistent and noisy.primary.text == "Relabel to Fear"
    assert f"Fear leads Surprise by {scores.iloc[0]['suggested_lead']:.2f}" in noisy.sentence
    assert _numbers(noisy.sentence) == [round(scores.iloc[0]["agree_mode"] * 12), 12]
    assert noisy.sentence.startswith("9 of 12 clips vote Fear and 2 of 12 clips the given Surprise")
    # a run scored before the pooled route (no suggested_lead) is explained by its votes
    by_votes = video_evidence(scores.iloc[0].drop("suggested_lead"), probs[0], CLASSES)
    assert by_votes.sentence.startswith("9 of 12 clips agree on Fear, not the given Surprise")
    # flagged by its score while its clips agree with the label: no default, the annotator decides
    unsure = video_evidence(scores.iloc[1], probs[1], CLASSES)
    assert unsure.primary is None and {a.kind for a in unsure.actions} == {"accept", "keep"}
    lead = scores.iloc[1]["suggested_lead"]
    assert 0 < lead <= agr.TriageConfig().min_margin
    assert unsure.sentence.startswith(f"Its wrong-label score ({scores.iloc[1]['noise_score']:.2f}) ranks it "
                                      "among the Angry videos most likely mislabelled")
    assert f"Surprise leads the given Angry by only {lead:.2f}" in unsure.sentence
    assert "10 of 12 clips vote Angry" in unsure.sentence and unsure.sentence.endswith("you decide.")
    split = video_evidence(scores.iloc[2], probs[2], CLASSES)
    assert split.primary.text == "Keep Sad (hard)" and split.runner_up == scores.iloc[2]["suggested_label"]
    assert split.sentence.startswith("Only 5 of 12 clips agree with the given Sad, fewer than the 50%")
    assert "Happy (4), Fear (3)" in split.sentence
    assert split.opinions.startswith(f"The suggestion {split.runner_up} is only the runner-up")
    assert noisy.opinions is None  # majority, most probable class and suggestion are one class
    clean = video_evidence(scores.iloc[3], probs[3], CLASSES)
    assert clean.verdict == "clean" and clean.sentence == "12 of 12 clips agree with the given Happy."
    assert sum(noisy.votes.values()) == noisy.n_clips == 12


def test_training_clips_count_only_when_they_entered_the_verdict(audited):
    probs, _ = audited
    # the score stage audits a train video on its 12 scored clips plus 2 epochs x 4 training clips
    train = _video({"Fear": 8}, 8)
    full = np.concatenate([probs[0], train])
    rows = _scores(np.stack([full, *[np.concatenate([p, _video({"Surprise": 8}, 8)]) for p in probs[-3:]]]),
                   ["Surprise"] * 4, noise_rates=np.full(len(CLASSES), 0.4))
    ev = video_evidence(rows.iloc[0], probs[0], CLASSES, training=TrainingClips(train, (5, 6)))
    assert ev.consistent and ev.n_clips == 20 and ev.n_training_clips == 8 and ev.training_epochs == (5, 6)
    assert ev.sentence.startswith("17 of 20 clips vote Fear")
    assert "12 scored clips and 8 from training epochs 5-6" in ev.sentence
    # without the training clips the recount cannot reproduce the row: said, not hidden
    blind = video_evidence(rows.iloc[0], probs[0], CLASSES)
    assert not blind.consistent and blind.notes and "of the clips" in blind.sentence
    assert f"{rows.iloc[0]['agree_mode']:.0%}" in blind.sentence
    # a video scored without training clips ignores a window passed by mistake
    _, scores = audited
    val = video_evidence(scores.iloc[0], probs[0], CLASSES, training=TrainingClips(train, (5, 6)))
    assert val.consistent and val.n_clips == 12 and val.n_training_clips == 0


def test_training_window_reads_the_npz_and_the_series_marks_its_epochs(tmp_path):
    run = RunDir(tmp_path)
    clips = np.random.default_rng(1).dirichlet(np.ones(3), size=(2, 6)).astype(np.float16)
    np.savez(run.dynamics_probs, clip_probs=clips, video_ids=np.array(["a", "b"]), epoch=np.array(7),
             noise_rates=np.zeros(3))
    w = TrainingWindow.read(run, window=3)
    assert w.epochs == (5, 7) and w.get("c") is None
    assert np.allclose(w.get("b").clip_probs, clips[1].astype(np.float32))
    dyn = pd.DataFrame({"epoch": [3, 1, 2, 5, 6, 7, 1], "video_id": ["b"] * 6 + ["a"],
                        "agree_label": np.linspace(0, 1, 7), "label_prob": np.linspace(0, 1, 7)})
    s = training_series(dyn, "b", w.epochs)
    assert s["epoch"].tolist() == [1, 2, 3, 5, 6, 7]
    assert s["in_window"].tolist() == [False, False, False, True, True, True]
    assert TrainingWindow.read(RunDir(tmp_path / "none")) is None


def test_triage_config_takes_the_score_sections_cuts():
    t = triage_config({"min_agree": 0.6, "hard_agree": 0.8, "vote_weight": 0.5})
    assert (t.min_agree, t.hard_agree, t.min_margin) == (0.6, 0.8, agr.TriageConfig().min_margin)


def test_plain_names_keep_the_raw_field_in_the_tooltip():
    assert plain_name("agree_label") == "Clips agreeing with the label"
    assert "`agree_label`" in field_help("agree_label")
    assert plain_name("no_such_field") == "no_such_field"
    names = [v[0] for v in FIELDS.values()]
    assert len(names) == len(set(names))  # one name per field


def test_opinions_explain_a_majority_that_is_not_the_most_probable_class():
    from curation.review.evidence import opinions

    row = {"label": "Sad", "pred_label": "Fear", "consensus_label": "Angry", "suggested_label": "Angry"}
    text = opinions(row, "Angry")
    assert text.startswith("Most clips vote Angry, but averaged over the clips Fear is more probable")
    assert opinions({**row, "pred_label": "Angry"}, "Angry") is None
    # a noisy verdict whose pooled evidence names another class than the clips' majority says so
    noisy = {"label": "Sad", "pred_label": "Sad", "consensus_label": "Sad", "suggested_label": "Fear",
             "verdict": "noisy"}
    assert opinions(noisy, "Sad").startswith("The suggestion Fear is not the clips' majority (Sad): weighing")
    assert "runner-up" in opinions({**noisy, "verdict": "hard"}, "Sad")
