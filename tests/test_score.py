"""model.score / model.evaluate and the train/score CLI on a tiny trained run."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from curation.cli import main
from curation.data.manifest import read_manifest
from curation.errors import RunError
from curation.schema import SCORES_COLUMNS, SCORES_OPTIONAL
from model.config import ScoreConfig
from model.evaluate import evaluate
from model.score import Evidence, clip_counts, score, summary, write_scores
from model.train import train
from tests.test_train import TINY


@pytest.fixture
def trained(tmp_path):
    from tests.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", n=24, frames=12, size=16)
    for name in ("scores.parquet", "dynamics.parquet", "clip_probs.npy"):
        (run.path / name).unlink()
    train(run.path, dataclasses.replace(TINY, resample=True), progress=False)
    return run


def test_key_expression_clips_are_scored_only_after_resampled_training():
    sc = ScoreConfig(uniform_clips=3, key_clips=2)
    assert clip_counts(sc, TINY) == (3, 0)
    assert clip_counts(sc, dataclasses.replace(TINY, resample=True)) == (3, 2)
    assert clip_counts(dataclasses.replace(sc, single_clip=True), dataclasses.replace(TINY, resample=True)) == (1, 0)


@pytest.mark.slow
def test_score_contract_and_determinism(trained):
    sc = ScoreConfig(uniform_clips=3, key_clips=2)
    df = score(trained.path, sc, progress=False)
    assert list(df.columns) == [*SCORES_COLUMNS, *SCORES_OPTIONAL] and len(df) == 24
    assert set(df["split"]) == {"train", "test"}
    assert set(df.loc[df["split"] == "test", "score_source"]) == {"unseen"}
    assert set(df.loc[df["split"] == "train", "score_source"]) <= {"dynamics", "in-sample"}
    cp = np.load(trained.clip_probs)
    assert cp.shape == (24, 5, 4)
    np.testing.assert_allclose(cp.sum(-1), 1.0, atol=1e-5)
    assert np.load(trained.path / "video_logits.npy").shape == (24, 4)
    # where each clip came from: 3 uniform starts in time order, then 2 key-expression starts
    starts = np.load(trained.path / "clip_starts.npy")
    assert starts.shape == (24, 5) and (starts >= 0).all() and (starts < 12).all()
    assert (np.diff(starts[:, :3], axis=1) >= 0).all()
    sal = pd.read_parquet(trained.path / "saliency.parquet")
    assert len(sal) == 24 * 12 and set(sal["frame"]) == set(range(12))
    assert sal["saliency"].between(0, 1).all()
    assert df["noise_score"].between(0, 1).all() and df["hardness"].between(0, 1).all()
    assert df["verdict"].isin(["clean", "hard", "noisy"]).all()
    noisy = df[df["verdict"] == "noisy"]
    assert (noisy["suggested_label"] != noisy["label"]).all()
    # test rows (no dynamics) follow their clip probabilities exactly
    test = (df["split"] == "test").to_numpy()
    np.testing.assert_allclose(df.loc[test, "label_prob"], cp[test].mean(1)[
        np.arange(test.sum()), [["happy", "sad", "neutral", "angry"].index(x) for x in df.loc[test, "label"]]], atol=1e-6)
    again = score(trained.path, sc, progress=False)
    pd.testing.assert_frame_equal(df, again)
    s = summary(trained.path, df)
    assert sum(s["counts"].values()) == 24
    truth = read_manifest(trained.path).df.set_index("video_id").loc[df["video_id"]]
    train = (df["split"] == "train").to_numpy()
    assert s["detection"]["n_noisy"] == int(truth["is_noisy"].to_numpy()[train].sum())
    assert s["detection"]["n_flagged"] == int((df["verdict"] == "noisy").to_numpy()[train].sum())
    ev = evaluate(trained.path, "test")
    assert ev["uar"] == pytest.approx(np.mean(list(ev["per_class_recall"].values())))
    assert ev["n"] == 6 and ev["labels"] == "true_label"
    one = score(trained.path, dataclasses.replace(sc, single_clip=True), progress=False)
    assert np.load(trained.clip_probs).shape == (24, 1, 4) and len(one) == 24


def test_write_scores_blends_dynamics_evidence(tmp_path, fake_run):
    """Train rows with evidence: agreement over final clips + evidence clips."""
    from curation.data.manifest import read_manifest

    m = read_manifest(fake_run.path)
    n = len(m.df)
    labels = np.array(m.label_index(m.df["label"]))
    final = np.full((n, 2, 4), 0.25)
    final[np.arange(n), :, labels] = 0.7  # the final model agrees with every label (memorized)
    final /= final.sum(-1, keepdims=True)
    tr = np.flatnonzero(m.df["split"] == "train")
    ev = np.full((len(tr), 6, 4), 0.05)
    other = (labels[tr] + 1) % 4
    ev[np.arange(len(tr)), :, other] = 0.85  # earlier epochs agreed on another class
    ids = m.df["video_id"].to_numpy()[tr].tolist()
    df = write_scores(fake_run, m, final, np.zeros((n, 4)), ScoreConfig(), evidence=Evidence(ids, ev))
    sub = df.iloc[tr]
    assert (sub["agree_label"] == 0.25).all() and (sub["consensus_label"] != sub["label"]).all()
    assert (df.iloc[np.setdiff1d(np.arange(n), tr)]["agree_label"] == 1.0).all()


def test_training_aum_averages_the_margin_up_to_the_evidence_epoch(tmp_path, caplog):
    from model.score import training_aum

    dyn = pd.DataFrame({"epoch": [1, 2, 3, 1, 2, 3], "video_id": ["a", "a", "a", "b", "b", "b"],
                        "logit_margin": [-2.0, 0.0, 9.0, 1.0, 3.0, -9.0]})
    path = tmp_path / "dynamics.parquet"
    dyn.to_parquet(path)
    np.testing.assert_allclose(training_aum(path, ["b", "a"], 2), [2.0, -1.0])  # epoch 3 is after the evidence
    assert training_aum(path, ["a", "c"], 2) is None and "no logit margin for 1 of the 2" in caplog.text
    assert training_aum(tmp_path / "none.parquet", ["a"], 2) is None


def test_write_scores_blends_the_training_aum(tmp_path, fake_run):
    """Two train videos with the same clips: the one whose label had a negative AUM ranks higher."""
    from curation.data.manifest import read_manifest

    m = read_manifest(fake_run.path)
    n = len(m.df)
    tr = np.flatnonzero(m.df["split"] == "train")
    probs = np.full((n, 2, 4), 0.25)
    ids = m.df["video_id"].to_numpy()[tr].tolist()
    ev = np.full((len(tr), 4, 4), 0.25)
    aum = np.zeros(len(tr))
    aum[0], aum[1] = -4.0, 4.0
    sc = ScoreConfig(aum_weight=0.5)
    df = write_scores(fake_run, m, probs, np.zeros((n, 4)), sc, evidence=Evidence(ids, ev, aum=aum))
    off = write_scores(fake_run, m, probs, np.zeros((n, 4)), dataclasses.replace(sc, aum_weight=0.0),
                       evidence=Evidence(ids, ev, aum=aum))
    s, s0 = df["noise_score"].to_numpy(), off["noise_score"].to_numpy()
    assert s0[tr[0]] == s0[tr[1]] and s[tr[0]] > s0[tr[0]] > s[tr[1]]
    np.testing.assert_allclose(s[tr[0]], 0.5 * s0[tr[0]] + 0.5 / (1 + np.exp(-4.0)))


def test_score_without_checkpoint_says_train(fake_run):
    with pytest.raises(RunError, match="dfer-curate train"):
        score(fake_run.path, progress=False)


def test_cli_bad_input_is_clean(fake_run, capsys):
    code = main(["score", str(fake_run.path)])
    err = capsys.readouterr().err
    assert code == 2 and "dfer-curate train" in err and "Traceback" not in err
    code = main(["train", str(fake_run.path), "--frames", "40", "--epochs", "1", "--size", "16"])
    err = capsys.readouterr().err
    assert code == 2 and "fewer than one clip of 40 frames" in err


@pytest.mark.slow
def test_cli_train_then_score(tmp_path, capsys):
    from tests.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", n=20, frames=12, size=16)
    args = ["--epochs", "2", "--size", "16", "--clips", "2", "--frames", "4", "--batch-size", "8", "--threads", "1"]
    assert main(["train", str(run.path), *args]) == 0
    out = capsys.readouterr().out
    assert "trained 2 epochs" in out and "next: dfer-curate score" in out
    assert main(["score", str(run.path), "--clips", "2", "--key-clips", "1"]) == 0
    out = capsys.readouterr().out
    assert "verdicts: clean" in out and "AUROC" in out and "test UAR" in out


@pytest.mark.slow
def test_train_folds_scores_out_of_fold(tmp_path):
    from model.folds import train_folds
    from tests.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", n=24, frames=12, size=16)
    df = train_folds(run.path, folds=2, config=dataclasses.replace(TINY, epochs=2))
    assert list(df.columns) == [*SCORES_COLUMNS, *SCORES_OPTIONAL] and len(df) == 24
    assert set(df.loc[df["split"] == "train", "score_source"]) == {"out-of-fold"}
    assert (run.checkpoints / "fold0" / "best.pt").exists() and (run.checkpoints / "fold1" / "best.pt").exists()
    assert run.load_config()["train"]["folds"] == 2
    assert np.load(run.clip_probs).shape[0] == 24


def test_a_split_never_trained_on_is_flagged_at_its_own_noise_rate(tmp_path):
    """Training rates of 40 % must not flag 40 % of a clean test split; planted wrong labels in
    the test split are flagged even when the training rates are 0."""
    from tests.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", n=80, frames=12, size=16)
    m = read_manifest(run.path)
    n, c = len(m.df), 4
    labels = np.array(m.label_index(m.df["label"]))
    test = np.flatnonzero(m.df["split"] == "test")
    tr = np.flatnonzero(m.df["split"] == "train")
    assert len(test) >= 10
    rng = np.random.default_rng(0)

    def held_out_probs(wrong_rows):
        """The network's held-out view: confident on the label, or on another class for wrong rows."""
        target = labels.copy()
        target[wrong_rows] = (labels[wrong_rows] + 1) % c
        logits = rng.normal(0, 0.3, (n, c))
        logits[np.arange(n), target] += 3.0
        logits[wrong_rows, target[wrong_rows]] += 1.0  # sure of the other class
        return logits, np.repeat(np.exp(logits)[:, None] / np.exp(logits).sum(1)[:, None, None], 3, axis=1)

    ids = m.df["video_id"].to_numpy()[tr].tolist()
    ev = np.full((len(tr), 3, c), 1 / c)
    ev[np.arange(len(tr)), :, labels[tr]] = 0.7
    ev /= ev.sum(-1, keepdims=True)
    logits, clips = held_out_probs(np.zeros(0, np.int64))
    clean = write_scores(run, m, clips, logits, ScoreConfig(), evidence=Evidence(ids, ev, noise_rates=np.full(c, 0.4)))
    assert not clean.iloc[test]["verdict"].isin(["noisy", "hard-or-noisy"]).any()

    wrong = test[:4]
    logits, clips = held_out_probs(wrong)
    noisy = write_scores(run, m, clips, logits, ScoreConfig(), evidence=Evidence(ids, ev, noise_rates=np.zeros(c)))
    flagged = noisy["verdict"].isin(["noisy", "hard-or-noisy"]).to_numpy()
    assert flagged[wrong].all() and not flagged[np.setdiff1d(test, wrong)].any()
    assert not flagged[tr].any()  # training videos still flag at the training rates (0 here)
