"""Tests of the synthetic DFER generator: truth rates, decodable H.264, determinism, a
learnable signal, and hard kinds that are hard for their stated reason."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from curation.cli import main
from curation.errors import ConfigError
from curation.data.manifest import read_manifest
from curation.schema import DFEW_CLASSES, HARD_KINDS
from curation.data.synth import (
    ACTIONS, CONFUSION_PAIRS, PROTOTYPES, SynthConfig, generate, prototype_key, render_video,
    sample_truth, sample_video_spec, validate_config,
)
from curation.data.video import read_video, segment_clip_starts, video_codec


@pytest.fixture(scope="module")
def synth300(tmp_path_factory):
    """The acceptance set (300 videos, default rates), at 32 px to stay fast."""
    run = tmp_path_factory.mktemp("synth300")
    generate(run, SynthConfig(n=300, size=32, seed=11), progress=False)
    return run


def _spec(cls, kind, seed, **kw):
    cfg = SynthConfig(size=32, **kw)
    return sample_video_spec(cls, kind, cfg.classes, cfg, np.random.default_rng(seed))


def test_rates_match_the_request(synth300):
    df = read_manifest(synth300).df
    assert len(df) == 300
    sizes = df["split"].value_counts().to_dict()
    assert sizes == {"train": 210, "val": 45, "test": 45}
    for split, part in df.groupby("split"):
        # exactly round(0.2 * split size) hard videos; classes balanced within one video
        assert part["is_hard"].sum() == round(0.2 * len(part))
        counts = part["true_label"].value_counts()
        assert set(counts.index) == set(DFEW_CLASSES)
        assert counts.max() - counts.min() <= 1
    train = df[df["split"] == "train"]
    assert train["is_noisy"].sum() == 42
    assert not df.loc[df["split"] != "train", "is_noisy"].any()
    assert (df["is_noisy"] == (df["label"] != df["true_label"])).all()
    # half the noisy labels flip inside a confusion pair, the rest anywhere
    noisy = train[train["is_noisy"]]
    pairs = {frozenset(p) for p in CONFUSION_PAIRS}
    in_pair = noisy.apply(lambda r: frozenset((prototype_key(r.label), prototype_key(r.true_label))) in pairs, axis=1)
    assert (noisy["noise_kind"] == "structured").sum() == 21
    assert in_pair[noisy["noise_kind"] == "structured"].all()
    # hard kinds: every kind present, none far from uniform (60 hard videos, 12 expected each)
    hk = df.loc[df["is_hard"], "hard_kind"].value_counts()
    assert set(hk.index) == set(HARD_KINDS)
    assert hk.min() >= 3 and hk.max() <= 24
    assert (df.loc[~df["is_hard"], "hard_kind"] == "").all()
    # noise falls on hard and easy train videos alike (within sampling error)
    hard_share = train.loc[train["is_hard"], "is_noisy"].mean()
    easy_share = train.loc[~train["is_hard"], "is_noisy"].mean()
    assert 0.03 < hard_share < 0.45 and 0.1 < easy_share < 0.3
    # apex columns are frames of the video
    assert ((0 <= df["apex_start"]) & (df["apex_start"] <= df["apex_end"]) & (df["apex_end"] < 48)).all()


def test_every_video_decodes_as_h264(synth300):
    m = read_manifest(synth300)
    for rel in m.df["path"]:
        frames = read_video(m.abspath(rel))
        assert frames.shape == (48, 32, 32, 3)
    assert {video_codec(m.abspath(p)) for p in m.df["path"][:20]} == {"h264"}


def test_same_seed_gives_byte_identical_manifest(tmp_path):
    cfg = SynthConfig(n=50, size=16, num_frames=8, seed=5)
    for name in ("a", "b"):
        generate(tmp_path / name, cfg, progress=False)
    generate(tmp_path / "c", dataclasses.replace(cfg, seed=6), progress=False)
    a, b, c = ((tmp_path / x / "manifest.parquet").read_bytes() for x in "abc")
    assert a == b
    assert a != c
    assert read_manifest(tmp_path / "a").df["label"].tolist() != read_manifest(tmp_path / "c").df["label"].tolist()


def test_frames_option_writes_jpg_folders(tmp_path):
    m = generate(tmp_path / "r", SynthConfig(n=50, size=16, num_frames=8, frames=True), progress=False)
    first = m.abspath(m.df["path"][0])
    assert first.is_dir() and len(list(first.glob("*.jpg"))) == 8
    assert read_video(first).shape == (8, 16, 16, 3)


@pytest.mark.slow
def test_a_simple_classifier_learns_the_classes(tmp_path):
    """A logistic regression on the mean frame difference from the first frames (16x16
    grey) must beat chance clearly on held-out videos: the pixels carry the class."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    m = generate(tmp_path / "r", SynthConfig(n=350, size=32, num_frames=24, hard_rate=0, noise_rate=0,
                                           seed=3),
                 progress=False)
    df = m.df

    def features(rel):
        v = read_video(m.abspath(rel)).astype(np.float32).mean(-1)
        d = (v - v[:3].mean(0)).mean(0)
        return d.reshape(16, 2, 16, 2).mean((1, 3)).ravel()

    X = np.stack([features(p) for p in df["path"]])
    y = df["true_label"].to_numpy()
    train = (df["split"] == "train").to_numpy()
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=3000))
    clf.fit(X[train], y[train])
    acc = (clf.predict(X[~train]) == y[~train]).mean()
    assert acc > 2.2 / len(DFEW_CLASSES), acc


def test_brief_apex_is_neutral_outside_its_frames():
    for seed in range(4):
        spec = _spec("Surprise", "brief", seed)
        a, b = spec.apex
        assert 4 <= b - a + 1 <= 8
        video, neutral = render_video(spec).astype(int), render_video(spec, neutral=True).astype(int)
        outside = np.r_[0:a, b + 1:48]
        assert np.abs(video[outside] - neutral[outside]).max() == 0
        assert np.abs(video[a:b + 1] - neutral[a:b + 1]).mean() > 2.0
        # a test-time clip that misses the apex sees only the neutral face
        starts = segment_clip_starts(48, 4, 8, train=False)
        for idx in np.minimum(starts[:, None] + np.arange(8)[None, :], 47):
            if idx.max() < a or idx.min() > b:
                assert np.array_equal(video[idx], neutral[idx])


def test_ordinary_expression_lasts_and_fades():
    spec = _spec("Happy", "", 0)
    a, b = spec.apex
    assert b - a + 1 >= 0.3 * 48
    assert np.all(spec.track[a:b + 1] == 1) and spec.track.min() < 1


def test_subtle_is_weaker_than_easy():
    def strength(kind):
        out = []
        for seed in range(6):
            s = _spec("Angry", kind, seed)
            a, b = s.apex
            out.append(np.abs(render_video(s, noise=False)[a:b + 1].astype(float)
                              - render_video(s, neutral=True, noise=False)[a:b + 1]).mean())
        return np.mean(out)
    assert strength("subtle") < 0.5 * strength("")


def test_blend_mixes_in_a_second_emotion():
    happy = PROTOTYPES["happy"] > 0
    for seed in range(5):
        spec = _spec("Happy", "blend", seed)
        vec = spec.actions.max(0)
        assert vec[~happy].max() > 0.1  # another emotion's actions are present
        assert vec[ACTIONS.index("corner_up")] > 0.3  # and Happy still leads


def test_occluder_covers_mouth_or_eyes_most_of_the_video():
    seen = set()
    for seed in range(8):
        spec = _spec("Fear", "occluded", seed)
        o = spec.occluder
        seen.add(o["region"])
        assert o["end"] - o["start"] >= 0.7 * 48
        with_occ = render_video(spec, noise=False).astype(float)
        without = render_video(spec, occluder=False, noise=False).astype(float)
        diff = np.abs(with_occ - without).mean(-1)  # (T, H, W)
        on = np.zeros(48, bool)
        on[o["start"]:o["end"]] = True
        assert not diff[~on].any()
        assert (diff[on].reshape(on.sum(), -1) > 2).mean(1).min() > 0.04  # covers >4% of the frame
        rows = np.nonzero(diff[on].mean((0, 2)) > 5)[0].mean()
        face_y = spec.identity.center[1]
        assert (rows > face_y) == (o["region"] == "mouth")
    assert seen == {"mouth", "eyes"}


def test_distractor_moves_more_and_talks():
    calm = np.mean([_spec("Sad", "", s).head[:, :2].std() for s in range(8)])
    busy = np.mean([_spec("Sad", "distractor", s).head[:, :2].std() for s in range(8)])
    assert busy > 3 * calm
    assert all(_spec("Sad", "distractor", s).talk.max() > 0 for s in range(4))


def test_nuisances_do_not_carry_the_class():
    """Identity, motion, lighting and talking are drawn from the same distribution for every
    class: with the expression removed, two classes' neutral renders cannot be told apart
    by their mean brightness or motion."""
    def stats(cls):
        out = []
        for seed in range(10):
            s = _spec(cls, "", seed)
            n = render_video(s, neutral=True, noise=False).astype(float)
            out.append((n.mean(), s.head[:, :2].std(), s.talk.mean()))
        return np.array(out)
    a, b = stats("Happy"), stats("Sad")
    assert np.allclose(a, b)  # same seeds -> same nuisances, whatever the class


def test_class_subset_and_pairs(tmp_path):
    cfg = SynthConfig(n=120, classes=("happy", "sad", "neutral"), noise_rate=0.3, seed=2)
    df = sample_truth(cfg)
    assert set(df["label"]) == {"happy", "sad", "neutral"}
    s = df[df["noise_kind"] == "structured"]
    assert len(s) > 0 and set(zip(s["true_label"], s["label"])) <= {("sad", "neutral"), ("neutral", "sad")}


@pytest.mark.parametrize("change, message", [
    ({"noise_rate": 1.5}, "noise_rate=1.5 must be a rate"),
    ({"hard_kinds": ("subtle", "blurry")}, r"unknown hard kind\(s\) \['blurry'\]"),
    ({"n": 20}, "fewer than the 7 needed"),
    ({"classes": ("Happy", "Bored")}, r"\['Bored'\] have no expression prototype"),
    ({"val": 0.6, "test": 0.5}, "leave no training videos"),
    ({"size": 8}, "size=8 must be"),
])
def test_bad_parameters_raise_clear_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(dataclasses.replace(SynthConfig(), **change))


def test_cli_writes_run_and_says_what_next(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["synth", "--out", str(out), "--n", "60", "--size", "16", "--num-frames", "8",
                 "--hard-kinds", "brief,occluded"]) == 0
    printed = capsys.readouterr().out
    assert f"dfer-curate train {out}" in printed
    m = read_manifest(out)
    assert set(m.df.loc[m.df["is_hard"], "hard_kind"]) <= {"brief", "occluded"}
    assert "synth" in (out / "config.json").read_text()
    assert main(["synth", "--out", str(out), "--noise-rate", "2"]) == 2
    assert "noise_rate=2.0 must be a rate" in capsys.readouterr().err


def test_workers_and_respecified_videos_agree_with_manifest(tmp_path):
    """Videos are seeded one by one: two processes write the same manifest as one, and the
    spec rebuilt from the seed has the apex frames the manifest records."""
    from curation.data.synth import video_spec_for

    cfg = SynthConfig(n=50, size=16, num_frames=16, seed=9, hard_kinds=("brief",), hard_rate=0.5)
    m = generate(tmp_path / "one", cfg, progress=False)
    generate(tmp_path / "two", dataclasses.replace(cfg, workers=2), progress=False)
    one, two = ((tmp_path / x / "manifest.parquet").read_bytes() for x in ("one", "two"))
    assert one == two
    rows = m.df.to_dict("records")
    for i, row in enumerate(rows[:10]):
        spec = video_spec_for(row, cfg, i)
        assert spec.apex == (row["apex_start"], row["apex_end"])
        decoded = read_video(m.abspath(row["path"])).astype(float)
        own = np.abs(decoded - render_video(spec)).mean()  # H.264 is lossy: not zero
        other = np.abs(decoded - render_video(video_spec_for(rows[i + 1], cfg, i + 1))).mean()
        assert own < 0.5 * other


def test_rerun_replaces_videos_and_guards_model_results(tmp_path):
    from curation.errors import RunError

    run = tmp_path / "r"
    generate(run, SynthConfig(n=60, size=16, num_frames=8), progress=False)
    (run / "videos" / "mine.txt").write_text("user file")
    generate(run, SynthConfig(n=50, size=16, num_frames=8), progress=False)
    names = {p.name for p in (run / "videos").iterdir()}
    assert len([n for n in names if n.endswith(".mp4")]) == 50  # no stale videos left
    assert "mine.txt" in names  # files that are not ours are kept
    (run / "scores.parquet").write_text("old")
    with pytest.raises(RunError, match=r"scores.parquet.*--overwrite"):
        generate(run, SynthConfig(n=50, size=16, num_frames=8), progress=False)
    (run / "saliency.parquet").write_text("old")  # written by score after the first list of
    (run / "dynamics_probs.npz").write_text("old")  # derived files was made
    generate(run, SynthConfig(n=50, size=16, num_frames=8), progress=False, overwrite=True)
    assert not (run / "scores.parquet").exists()
    assert not (run / "saliency.parquet").exists() and not (run / "dynamics_probs.npz").exists()
    (run / "review.sqlite").write_text("decisions")
    with pytest.raises(RunError, match="annotators' work"):
        generate(run, SynthConfig(n=50, size=16, num_frames=8), progress=False, overwrite=True)
    assert (run / "review.sqlite").exists()


def test_noise_can_fall_on_every_split():
    import dataclasses

    from curation.data.synth import SynthConfig, sample_truth
    from curation.errors import ConfigError

    cfg = SynthConfig(n=400, noise_rate=0.2)
    default = sample_truth(cfg)
    assert not default.loc[default["split"] != "train", "is_noisy"].any()
    assert default.loc[default["split"] == "train", "is_noisy"].sum() == round(0.2 * (default["split"] == "train").sum())
    every = sample_truth(dataclasses.replace(cfg, noise_splits=("train", "val", "test")))
    assert every["is_noisy"].sum() == round(0.2 * 400)
    assert every.loc[every["split"] == "test", "is_noisy"].any() and every.loc[every["split"] == "val", "is_noisy"].any()
    # the truth that does not depend on the noise is the same
    assert every[["split", "true_label", "is_hard"]].equals(default[["split", "true_label", "is_hard"]])
    with pytest.raises(ConfigError, match="noise_splits"):
        sample_truth(dataclasses.replace(cfg, noise_splits=("train", "dev")))
