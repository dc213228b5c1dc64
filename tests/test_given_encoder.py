"""The frame encoder trained on the run's given labels (model/given_encoder.py, `pretrain --given-labels`)."""

import json

import numpy as np
import pytest

from curation import cli
from curation.errors import ConfigError
from model.encoders import load_encoder
from model.given_encoder import GivenEncoderConfig
from tests.fakerun import make_fake_run


@pytest.fixture
def run(tmp_path):
    return make_fake_run(tmp_path / "run", n=40, frames=16, size=16)


def test_pretrain_given_labels_writes_an_encoder_that_embed_reads(run, capsys):
    assert cli.main(["pretrain", str(run.path), "--given-labels", "--size", "16", "--steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "given labels of" in out
    assert f"next: dfer-curate embed {run.path}, then dfer-curate train {run.path} --frozen" in out
    meta = json.loads((run.path / "encoder.json").read_text())
    assert meta["objective"] == "given_labels" and meta["loss"] == "gce" and meta["size"] == 16
    # every split's videos (the fake run has train and test); 16-frame videos hold at most 8
    # salient frames 2 apart (12 asked)
    assert meta["splits"] == ["train", "val", "test"] and meta["frames"] == 40 * 8 and meta["videos"] == 40
    encoder, fields, _ = load_encoder(run.path / "encoder.pt")
    assert fields["in_ch"] == 2 and encoder.proj.out_features == 128
    assert cli.main(["embed", str(run.path)]) == 0
    emb, emb_meta = run.read_embeddings()
    assert emb.shape == (40 * 16, 128) and np.isfinite(np.asarray(emb, np.float32)).all()


def test_same_seed_same_encoder(run, tmp_path):
    from model.encoders import file_hash
    from model.given_encoder import train_given_encoder

    cfg = GivenEncoderConfig(size=16, steps=5)
    a = train_given_encoder(run.path, cfg, progress=False)["sha256"]
    b = train_given_encoder(run.path, cfg, progress=False)["sha256"]
    assert a == b == file_hash(run.path / "encoder.pt")


def test_bad_settings_are_named(run, capsys):
    assert cli.main(["pretrain", str(run.path), "--given-labels", "--from", str(run.path)]) == 2
    assert "drop --from" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="loss must be one of"):
        GivenEncoderConfig(loss="mse").validate()
    with pytest.raises(ConfigError, match="per_video must be"):
        GivenEncoderConfig(per_video=0).validate()


def test_given_splits_and_loss_choose_what_it_learns(run, capsys):
    argv = ["pretrain", str(run.path), "--given-labels", "--size", "16", "--steps", "3"]
    assert cli.main([*argv, "--given-splits", "train,test", "--loss", "ce"]) == 0
    meta = json.loads((run.path / "encoder.json").read_text())
    assert meta["splits"] == ["train", "test"] and meta["videos"] == 40 and meta["loss"] == "ce"
    assert cli.main([*argv, "--given-splits", "test"]) == 0
    assert json.loads((run.path / "encoder.json").read_text())["videos"] == 10
    capsys.readouterr()
    assert cli.main([*argv, "--given-splits", "train,holdout"]) == 2
    assert "splits must be one or more of train, val, test, got train, holdout" in capsys.readouterr().err
    assert cli.main(["pretrain", str(run.path), "--loss", "ce"]) == 2
    assert "add --given-labels" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="at least 2 classes in the splits val"):
        from model.given_encoder import train_given_encoder

        train_given_encoder(run.path, GivenEncoderConfig(size=16, steps=2, splits=("val",)), progress=False)


def test_exclude_flagged_leaves_out_what_the_last_score_flagged(run, capsys):
    """--exclude-flagged (a second pass): the encoder learns every labelled video except those
    whose verdict is noisy or hard-or-noisy, counts them, and learns different weights."""
    import pandas as pd

    from curation.fileio import write_parquet
    from model.given_encoder import train_given_encoder

    scores = pd.read_parquet(run.scores)
    train = (scores["split"] == "train").to_numpy()
    scores["verdict"] = "clean"
    scores.loc[np.flatnonzero(train)[:4], "verdict"] = "noisy"
    scores.loc[np.flatnonzero(train)[4:7], "verdict"] = "hard-or-noisy"
    scores.loc[np.flatnonzero(train)[7:9], "verdict"] = "hard"  # kept: hard means correctly labelled
    scores.loc[np.flatnonzero(~train)[:2], "verdict"] = "noisy"  # test: learned by default, so left out too
    write_parquet(run.scores, scores)
    cfg = GivenEncoderConfig(size=16, steps=5)
    every = train_given_encoder(run.path, cfg, progress=False)
    assert "excluded_flagged" not in every and every["videos"] == 40
    argv = ["pretrain", str(run.path), "--given-labels", "--size", "16", "--steps", "5", "--exclude-flagged"]
    assert cli.main(argv) == 0
    assert "of 31 videos, leaving out the 9 the last score flagged" in capsys.readouterr().out
    meta = json.loads((run.path / "encoder.json").read_text())
    assert meta["videos"] == 31 and meta["excluded_flagged"] == 9 and meta["frames"] == 31 * 8
    assert meta["sha256"] != every["sha256"]


def test_exclude_flagged_needs_valid_scores(run, capsys):
    import pandas as pd

    from curation.fileio import write_parquet

    argv = ["pretrain", str(run.path), "--given-labels", "--size", "16", "--steps", "2", "--exclude-flagged"]
    scores = pd.read_parquet(run.scores)
    write_parquet(run.scores, scores.iloc[:-3])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "3 manifest video(s) have no score" in err and f"dfer-curate score {run.path}" in err
    run.scores.unlink()
    assert cli.main(argv) == 2
    assert "dfer-curate score" in capsys.readouterr().err
    assert cli.main(["pretrain", str(run.path), "--exclude-flagged"]) == 2
    assert "add --given-labels" in capsys.readouterr().err



def test_mixup_is_recorded_changes_the_encoder_and_is_checked(run, capsys):
    from model.given_encoder import train_given_encoder

    argv = ["pretrain", str(run.path), "--given-labels", "--size", "16", "--steps", "5"]
    assert cli.main([*argv, "--mixup", "0"]) == 0
    plain = json.loads((run.path / "encoder.json").read_text())
    assert plain["mixup"] == 0.0
    assert cli.main(argv) == 0  # the default: mixup with alpha 1
    mixed = json.loads((run.path / "encoder.json").read_text())
    assert mixed["mixup"] == 1.0 and mixed["sha256"] != plain["sha256"]
    a = train_given_encoder(run.path, GivenEncoderConfig(size=16, steps=5), progress=False)["sha256"]
    assert a == mixed["sha256"]  # same seed, same blend weights
    capsys.readouterr()
    assert cli.main([*argv, "--mixup", "-1"]) == 2
    assert "mixup must be 0 (off) or a positive Beta alpha, got -1.0" in capsys.readouterr().err
    assert cli.main(["pretrain", str(run.path), "--mixup", "1"]) == 2
    assert "add --given-labels" in capsys.readouterr().err


def test_a_model_on_an_encoder_that_learned_the_test_labels_says_its_uar_is_not_held_out(run, capsys):
    """The default encoder learns every split's labels (the audit judges them all): the test UAR
    of a network on its embeddings is then marked, in `evaluate` and in `score`'s output; an
    encoder of train and val only (what a measuring retraining uses) leaves it a measurement."""
    from model.config import TrainConfig
    from model.evaluate import evaluate
    from model.given_encoder import RETRAIN_SPLITS, learned_splits
    from model.train import train

    tiny = TrainConfig(size=16, width=8, dim=128, clips=2, frames=4, stride=1, epochs=2, warmup=1, window=2,
                       batch_size=8, threads=1, patience=10, frozen=True)
    assert learned_splits(run.path / "encoder.json") == ()  # no encoder yet
    for splits, held_out in ((None, False), (",".join(RETRAIN_SPLITS), True)):
        argv = ["pretrain", str(run.path), "--given-labels", "--size", "16", "--steps", "3"]
        assert cli.main(argv + (["--given-splits", splits] if splits else [])) == 0
        learned = learned_splits(run.path / "encoder.json")
        assert learned == (("train", "val", "test") if splits is None else RETRAIN_SPLITS)
        assert learned_splits(run.path / "encoder.json", sha256="another encoder") == ()
        assert cli.main(["embed", str(run.path)]) == 0
        train(run.path, tiny, progress=False)
        assert evaluate(run.path, "test")["held_out"] is held_out
        assert evaluate(run.path, "train")["held_out"] is False  # train labels are learned either way
        capsys.readouterr()
        assert cli.main(["score", str(run.path)]) == 0
        assert ("no held-out measurement" in capsys.readouterr().out) is not held_out
