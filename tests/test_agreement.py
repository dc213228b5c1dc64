"""curation.audit.agreement on hand-made clip probabilities with planted truth."""

import numpy as np
import pytest

from curation.audit import agreement as A


def _clips(votes, c=4, p=0.85):
    """(M, C) clip probabilities, each clip putting ``p`` on its voted class."""
    out = np.full((len(votes), c), (1 - p) / (c - 1))
    out[np.arange(len(votes)), votes] = p
    return out


@pytest.fixture
def planted():
    """Class 0..3; rows: clean (all on label), noisy (agree on another class), hard (split)."""
    clean = _clips([1, 1, 1, 1])
    noisy = _clips([2, 2, 2, 2])
    hard = _clips([1, 3, 1, 3])
    probs = np.stack([clean, noisy, hard])
    labels = np.array([1, 1, 1])
    return probs, labels


def test_agreement_statistics(planted):
    probs, labels = planted
    a = A.clip_agreement(probs, labels)
    np.testing.assert_allclose(a.agree_label, [1.0, 0.0, 0.5])
    np.testing.assert_allclose(a.agree_mode, [1.0, 1.0, 0.5])
    assert a.consensus.tolist() == [1, 2, 1]  # tie 1 vs 3 broken by mean prob (equal) -> lower index
    np.testing.assert_allclose(a.margin, [0.0, 0.85 - 0.05, 0.0], atol=1e-9)
    np.testing.assert_allclose(a.label_prob, [0.85, 0.05, 0.45], atol=1e-9)


def test_triage_clean_noisy_hard(planted):
    probs, labels = planted
    # noise rate 1/3 for class 1: one candidate, the noisy row ranks first
    res = A.audit(probs, labels, noise_rates=np.array([0, 1 / 3, 0, 0]))
    # the split row has half its clips on the label: hard only below half (the default cut)
    assert res["verdict"].tolist() == ["clean", "noisy", "clean"]
    earlier = A.audit(probs, labels, noise_rates=np.array([0, 1 / 3, 0, 0]), config=A.TriageConfig(hard_agree=0.75))
    assert earlier["verdict"].tolist() == ["clean", "noisy", "hard"]
    fewer = np.stack([probs[0], probs[1], _clips([1, 3, 3, 3])])
    assert A.audit(fewer, labels, noise_rates=np.array([0, 1 / 3, 0, 0]))["verdict"].tolist()[2] == "hard"
    assert res["suggested"].tolist()[1] == 2
    s = res["noise_score"]
    assert s[1] > s[2] > s[0]
    h = res["hardness"]
    assert h[2] > h[0] and h[2] > h[1]
    assert np.all((s >= 0) & (s <= 1)) and np.all((h >= 0) & (h <= 1))


def test_split_candidate_goes_to_an_annotator_not_to_hard():
    # clips split between label and another class: a flagged video is not confidently noisy,
    # and never silently hard either
    probs = np.stack([_clips([0, 2, 2, 0]), _clips([0, 0, 0, 0])])
    res = A.audit(probs, np.array([0, 0]), noise_rates=np.array([0.5, 0, 0, 0]))
    assert res["verdict"].tolist() == ["hard-or-noisy", "clean"]


def _confident_few_hesitant_many():
    """Label 0: two clear clips show class 2, three hesitant clips lean to the label."""
    hesitant = np.full((3, 4), 0.2)
    hesitant[:, 0] = 0.4
    return np.concatenate([_clips([2, 2], p=0.9), hesitant])


def test_clear_clips_outweigh_hesitant_votes_when_routing():
    probs = np.stack([_confident_few_hesitant_many(), _clips([0, 0, 0, 0, 0])])
    labels, rates = np.array([0, 0]), np.array([0.5, 0, 0, 0])
    pooled = A.audit(probs, labels, noise_rates=rates)
    assert pooled["verdict"].tolist() == ["noisy", "clean"]
    assert pooled["suggested"][0] == 2
    # mean of class 2 (0.48) minus the label's (0.253)
    assert pooled["suggested_lead"][0] == pytest.approx((1.8 + 0.6) / 5 - (1.2 + 0.2 / 3) / 5)
    # the majority of clips votes for the label, so the vote route leaves it to an annotator
    votes = A.audit(probs, labels, noise_rates=rates, config=A.TriageConfig(route="votes"))
    assert votes["verdict"].tolist() == ["hard-or-noisy", "clean"]


def test_video_head_settles_a_tied_flag():
    probs = np.stack([_clips([0, 2, 2, 0]), _clips([0, 0, 0, 0])])
    video = np.array([[0.1, 0.0, 0.9, 0.0], [1.0, 0.0, 0.0, 0.0]])
    labels, rates = np.array([0, 0]), np.array([0.5, 0, 0, 0])
    assert A.audit(probs, labels, noise_rates=rates)["verdict"][0] == "hard-or-noisy"
    res = A.audit(probs, labels, noise_rates=rates, video_probs=video)
    assert res["verdict"].tolist() == ["noisy", "clean"] and res["suggested"][0] == 2
    # a video head that backs the label lowers the score below the flag; with half its clips on
    # the label the video is not hard either (hard: fewer than half)
    back = A.audit(probs, labels, noise_rates=rates, video_probs=video[::-1].copy())
    assert back["verdict"][0] == "clean" and back["noise_score"][0] < 0.5


def test_unknown_route_raises():
    probs, labels = np.stack([_clips([0, 0])]), np.array([0])
    with pytest.raises(ValueError, match="route must be one of"):
        A.audit(probs, labels, noise_rates=np.zeros(4), config=A.TriageConfig(route="majority"))


def test_split_video_that_is_not_flagged_is_hard():
    probs = np.stack([_clips([0, 2, 2, 1]), _clips([0, 2, 2, 0]), _clips([0, 0, 0, 0])])
    res = A.audit(probs, np.array([0, 0, 0]), noise_rates=np.zeros(4))
    assert res["verdict"].tolist() == ["hard", "clean", "clean"]  # hard: fewer than half the clips on the label


def test_cut_calibrated_to_noise_rate():
    rng = np.random.default_rng(0)
    n, c = 200, 4
    labels = rng.integers(0, c, n)
    true = labels.copy()
    noisy = rng.random(n) < 0.25
    true[noisy] = (labels[noisy] + rng.integers(1, c, noisy.sum())) % c
    probs = np.stack([_clips([t] * 6, c, p=rng.uniform(0.5, 0.95)) for t in true])
    rates = A.estimate_noise_rates(probs.mean(1), labels)
    assert np.all(np.abs(rates - 0.25) < 0.15)
    res = A.audit(probs, labels)
    flag = res["verdict"] == "noisy"
    tp = np.sum(flag & noisy)
    assert tp / flag.sum() > 0.95 and tp / noisy.sum() > 0.9
    # halving the estimated rates halves the flagged set: the cut follows the rate, not a constant
    half = A.audit(probs, labels, config=A.TriageConfig(rate_scale=0.5))
    assert 0.35 < (half["verdict"] == "noisy").sum() / flag.sum() < 0.65


def test_never_flags_more_than_max_rate():
    probs = np.stack([_clips([1] * 4)] * 10)  # every video labelled 0 but clips say 1
    res = A.audit(probs, np.zeros(10, int), noise_rates=np.array([1.0, 0, 0, 0]))
    assert (res["verdict"] == "noisy").sum() == 5  # default max_rate 0.5


def test_suggested_second_best_when_consensus_is_label():
    p = np.array([[[0.6, 0.3, 0.1], [0.5, 0.1, 0.4], [0.7, 0.25, 0.05]]])
    a = A.clip_agreement(p, np.array([0]))
    assert A.suggested_label(a, np.array([0])).tolist() == [1]


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="labels has"):
        A.clip_agreement(np.ones((3, 2, 4)) / 4, np.zeros(2, int))
    with pytest.raises(ValueError, match=r"must be \(N, M, C\)"):
        A.clip_agreement(np.ones((3, 4)) / 4, np.zeros(3, int))
    with pytest.raises(ValueError, match="class indices"):
        A.clip_agreement(np.ones((1, 2, 4)) / 4, np.array([4]))
    with pytest.raises(ValueError, match="NaN"):
        A.clip_agreement(np.full((1, 2, 3), np.nan), np.array([0]))


def test_video_margin_score_and_blend(planted):
    probs, labels = planted
    video = np.array([[0.1, 0.7, 0.1, 0.1],   # the video head agrees with the label
                      [0.1, 0.1, 0.7, 0.1],   # and disagrees strongly
                      [0.0, 0.5, 0.0, 0.5]])  # a tie
    v = A.video_margin_score(video, labels)
    np.testing.assert_allclose(v, [(1 + 0.1 - 0.7) / 2, (1 + 0.7 - 0.1) / 2, 0.5])
    rates = np.array([0, 1 / 3, 0, 0])
    clips_only = A.audit(probs, labels, noise_rates=rates)["noise_score"]
    blended = A.audit(probs, labels, noise_rates=rates, video_probs=video, video_weight=0.5)
    np.testing.assert_allclose(blended["noise_score"], 0.5 * clips_only + 0.5 * v)
    assert blended["verdict"].tolist() == ["clean", "noisy", "clean"]
    with pytest.raises(ValueError, match="video_weight"):
        A.audit(probs, labels, noise_rates=rates, video_probs=video, video_weight=1.5)
    with pytest.raises(ValueError, match="aligned"):
        A.video_margin_score(video[:2], labels)


def test_aum_score_and_blend(planted):
    """A low (negative) area under the margin means the label was never learned before
    memorization: it raises the noise score, at ``aum_weight`` of the blend."""
    probs, labels = planted
    aum = np.array([3.0, -3.0, 0.0])
    a = A.aum_score(aum, 3)
    np.testing.assert_allclose(a, 1 / (1 + np.exp(aum)))
    assert a[1] > a[2] == 0.5 > a[0]
    rates = np.array([0, 1 / 3, 0, 0])
    base = A.audit(probs, labels, noise_rates=rates)
    blended = A.audit(probs, labels, noise_rates=rates, aum=aum, aum_weight=0.25)
    np.testing.assert_allclose(blended["noise_score"], 0.75 * base["noise_score"] + 0.25 * a)
    assert blended["verdict"].tolist() == base["verdict"].tolist()  # the gate still decides
    with pytest.raises(ValueError, match="aum_weight"):
        A.audit(probs, labels, noise_rates=rates, aum=aum, aum_weight=-0.1)
    with pytest.raises(ValueError, match="aligned"):
        A.aum_score(aum[:2], 3)
    with pytest.raises(ValueError, match="NaN"):
        A.aum_score(np.array([0.0, np.nan, 1.0]), 3)


def test_certainty_pooling_lets_the_clip_that_saw_the_expression_speak():
    """A brief expression: one peaked clip on the label among spread-out clips leaning to
    another class. The plain mean (and the vote) call it against the label; weighting the
    clips by their certainty keeps it below a video whose clips confidently show another class."""
    spread = np.array([0.1, 0.55, 0.15, 0.2])  # no clear expression, leaning to class 1
    peaked = _clips([0], p=0.97)[0]  # the expression, on the label
    brief = np.stack([spread, spread, spread, peaked])
    wrong = _clips([1, 1, 1, 1], p=0.6)  # every clip moderately sure of another class
    probs, labels = np.stack([brief, wrong]), np.array([0, 0])
    w = A.clip_certainty(probs)
    assert w.shape == (2, 4) and w[0, 3] > 5 * w[0, 0] and np.all((w > 0) & (w <= 1 + 1e-6))
    plain = A.audit(probs, labels, noise_rates=np.zeros(4), vote_weight=0.0)["noise_score"]
    pooled = A.certainty_pooled_score(probs, labels)
    assert plain[0] > 0.5 and pooled[0] < 0.5 < pooled[1]  # the mean leans against the label; pooling does not
    np.testing.assert_allclose(A.audit(probs, labels, noise_rates=np.zeros(4), pooling="certainty")["noise_score"],
                               pooled)
    # identical clips: certainty pooling is the plain margin
    same = np.stack([_clips([1, 1, 1, 1])])
    np.testing.assert_allclose(A.certainty_pooled_score(same, np.array([0])),
                               A.video_margin_score(same[:, 0], np.array([0])))
    with pytest.raises(ValueError, match="pooling must be one of"):
        A.audit(probs, labels, pooling="max")


def test_label_support_keeps_a_brief_expression_and_flags_a_wrong_label():
    brief = _clips([1, 1, 1, 0])  # the label (0) shows in one clip only
    wrong = _clips([1, 1, 1, 1])  # no clip supports the label
    probs = np.stack([brief, wrong])
    labels = np.array([0, 0])
    mean_only = A.label_support_score(probs, labels, best_clip_weight=0.0)
    blended = A.label_support_score(probs, labels)
    assert blended[0] < mean_only[0] and blended[1] == pytest.approx(mean_only[1])
    assert blended[0] < blended[1]
    with pytest.raises(ValueError, match="best_clip_weight"):
        A.label_support_score(probs, labels, best_clip_weight=1.5)


def test_neutral_clips_are_no_evidence_against_an_expression_label():
    n = 3  # the neutral class
    brief = _clips([n, n, n, 0])  # labelled 0; the expression shows in one clip, the rest look neutral
    wrong = _clips([1, 1, n, n])  # labelled 0; half the clips show another expression
    clean_neutral, wrong_neutral = _clips([n, n, n, n]), _clips([n, 1, 1, 1])  # labelled neutral
    probs = np.stack([brief, wrong, clean_neutral, wrong_neutral])
    labels = np.array([0, 0, n, n])
    plain = A.label_support_score(probs, labels, best_clip_weight=0.0)
    aware = A.label_support_score(probs, labels, best_clip_weight=0.0, neutral=n)
    assert plain[1] - plain[0] < 0.25  # counted plainly, the brief expression looks almost as wrong
    assert aware[1] - aware[0] > 0.6  # neutral-aware, the wrong label stands out
    np.testing.assert_allclose(aware[2:], plain[2:])  # a neutral label is judged as before
    # a face that never shows an expression but is labelled with one is still flagged
    never = A.label_support_score(_clips([n, n, n, n])[None], np.array([0]), best_clip_weight=0.0, neutral=n)
    assert never[0] > 0.8
    assert ((0 <= aware) & (aware <= 1)).all()
    assert A.neutral_class(["Happy", " neutral ", "Sad"]) == 1 and A.neutral_class(["a", "b"]) is None
    with pytest.raises(ValueError, match="neutral must be a class index"):
        A.label_support_score(probs, labels, neutral=4)
    res = A.audit_out_of_fold(np.concatenate([probs, np.stack([_clips([0, 0, 0, 0])] * 20)]),
                              np.concatenate([labels, np.zeros(20, int)]), neutral=n)
    assert res["noise_score"][1] > res["noise_score"][0]


def test_confident_noise_rates_find_the_planted_share():
    rng = np.random.default_rng(0)
    true = np.repeat([0, 1, 2], 100)
    conf = rng.uniform(0.5, 0.9, 300)
    conf[:20] = 0.95  # the model is sure of the true class of the 20 mislabelled videos
    probs = np.repeat(((1 - conf) / 2)[:, None], 3, axis=1)
    probs[np.arange(300), true] = conf
    given = true.copy()
    given[:20] = 1  # 20 of class 0 given class 1
    rates = A.confident_noise_rates(probs, given, num_classes=4)
    assert rates[0] == pytest.approx(0.0) and rates[2] == pytest.approx(0.0) and rates[3] == 0.0
    assert rates[1] == pytest.approx(20 / 120, abs=0.05) and rates[1] == rates.max()


def test_audit_out_of_fold_flags_confident_errors_and_keeps_split_videos_hard():
    # 30 clean videos of class 0 and 30 of class 2; 3 given 0 whose clips all say 2 (flagged by
    # the confident joint, clips agree: noisy); 3 given 0 whose clips lean to 2 without
    # confidence (not flagged; clips split: hard)
    labels = np.array([0] * 30 + [2] * 30 + [0] * 6)
    clips = [_clips([0, 0, 0, 0])] * 30 + [_clips([2, 2, 2, 2])] * 33 + [_clips([0, 2, 2, 2])] * 3
    res = A.audit_out_of_fold(np.stack(clips), labels)
    v = res["verdict"]
    assert v[60:63].tolist() == ["noisy"] * 3 and res["suggested"][60] == 2
    assert v[63:].tolist() == ["hard"] * 3
    assert set(v[:60]) == {"clean"}
