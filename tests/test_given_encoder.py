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
    assert "given labels of" in out and "--size 16 --init" in out
    meta = json.loads((run.path / "encoder.json").read_text())
    assert meta["objective"] == "given_labels" and meta["loss"] == "ce" and meta["size"] == 16
    # every video of every split; 16-frame videos hold at most 8 salient frames 2 apart (12 asked)
    assert meta["frames"] == 40 * 8 and meta["videos"] == 40
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
