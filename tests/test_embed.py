"""model.embed and the frozen path: cache, invalidation, train --frozen / --init, score."""

import dataclasses

import numpy as np
import pytest
import torch

import model.embed as E
import model.pretrain as P
from curation.errors import ConfigError, RunError
from model.config import TrainConfig
from model.encoders import load_encoder, save_encoder
from model.network import SmallCNN

PRE = P.PretrainConfig(size=16, width=8, dim=16, code=4, decoder_width=4, steps=2, batch_size=8, threads=1)
TINY = TrainConfig(size=16, width=8, dim=16, clips=2, frames=4, stride=1, epochs=2, warmup=1, window=2,
                   batch_size=8, threads=1, patience=10)


@pytest.fixture
def embedded_run(tmp_path):
    from tests.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", n=16, frames=10, size=16)
    for name in ("scores.parquet", "dynamics.parquet", "clip_probs.npy"):
        (run.path / name).unlink()
    P.pretrain(run.path, PRE, progress=False)
    E.embed(run.path, progress=False, device="cpu")
    return run


def test_embeddings_match_the_encoder_and_are_reused(embedded_run):
    run = embedded_run
    store = E.open_embeddings(run.path)
    assert store.frames.dtype == np.float16 and store.frames.shape == (160, 16)
    assert isinstance(store.frames, np.memmap)
    enc, _, digest = load_encoder(run.path / "encoder.pt")
    from model import data

    frames = data.load_frames(__import__("curation.data.manifest", fromlist=["x"]).read_manifest(run.path),
                              size=16, grey=True, cache_dir=run.path / "cache")
    x = torch.from_numpy(P.frame_inputs(frames.video(3), data.neutral_frames(frames, [3])[0][None].repeat(10, 0)))
    with torch.no_grad():
        want = enc(x).numpy()
    np.testing.assert_allclose(store.video(3).astype(np.float32), want, atol=2e-2)
    assert E.embed(run.path, progress=False)["reused"] is True


def test_another_encoder_invalidates_the_cache(embedded_run):
    run = embedded_run
    old = E.open_embeddings(run.path).frames.copy()
    torch.manual_seed(5)
    save_encoder(run.path / "encoder.pt", SmallCNN(2, 8, 16), PRE.encoder_fields())
    new_hash = E.current_encoder_hash(run.path)
    with pytest.raises(ConfigError, match="made by encoder .* not by the current encoder"):
        E.open_embeddings(run.path, encoder_hash=new_hash)
    with pytest.raises(ConfigError, match="run `dfer-curate embed"):
        E.store_for_training(run.path, __import__("curation.data.manifest", fromlist=["x"]).read_manifest(run.path),
                             dataclasses.replace(TINY, frozen=True))
    out = E.embed(run.path, progress=False)
    assert out["reused"] is False and out["encoder_sha256"] == new_hash
    assert not np.allclose(E.open_embeddings(run.path, encoder_hash=new_hash).frames, old)


def test_missing_pieces_name_the_command(tmp_path):
    from tests.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "r", n=4, frames=6, size=16)
    with pytest.raises(RunError, match="dfer-curate pretrain"):
        E.embed(run.path, progress=False)
    with pytest.raises(RunError, match="dfer-curate embed"):
        E.open_embeddings(run.path)


@pytest.mark.slow
def test_train_frozen_and_score_on_embeddings(embedded_run, monkeypatch):
    import model.data as D
    import model.score as S
    import model.train as T

    def no_pixels(*a, **kw):
        raise AssertionError("frozen training decoded pixels")

    monkeypatch.setattr(D, "load_frames", no_pixels)
    cfg = dataclasses.replace(TINY, frozen=True)
    out = T.train(embedded_run.path, cfg, progress=False)
    assert out["epochs"] == 2
    ck = torch.load(embedded_run.checkpoints / "last.pt", weights_only=False)
    assert not any(k.startswith("encoder.") for k in ck["model"])  # only streams and heads
    # triage flagged by the K-fold heads' rates, fixed before training; score reads the same
    from curation.data.manifest import read_manifest
    from model import oof

    plan = T.make_plan(read_manifest(embedded_run.path), cfg)
    want = oof.training_rates(E.store_for_training(embedded_run.path, read_manifest(embedded_run.path), cfg),
                              plan.labels[plan.train_rows], plan.train_rows, cfg, num_classes=len(plan.classes))
    with np.load(embedded_run.dynamics_probs) as z:
        np.testing.assert_array_equal(z["noise_rates"], want)
    scores = S.score(embedded_run.path, progress=False)
    assert len(scores) == 16 and scores["noise_score"].between(0, 1).all()
    from model.evaluate import evaluate

    ev = evaluate(embedded_run.path, "train")  # a frozen network is evaluated on embeddings too
    assert ev["n"] == (scores["split"] == "train").sum() and 0 <= ev["uar"] <= 1


def test_init_starts_the_encoder_from_the_pretrained_file(embedded_run):
    from model.encoders import init_encoder
    from model.network import build_network

    cfg = dataclasses.replace(TINY, init=str(embedded_run.path / "encoder.pt"))
    net = build_network(4, cfg)
    init_encoder(net, cfg)
    enc, _, _ = load_encoder(embedded_run.path / "encoder.pt")
    for k, v in enc.state_dict().items():
        assert torch.equal(net.encoder.state_dict()[k], v)
    with pytest.raises(ConfigError, match="has dim=16 but 32 is needed"):
        init_encoder(build_network(4, dataclasses.replace(cfg, dim=32)), dataclasses.replace(cfg, dim=32))
    with pytest.raises(ConfigError, match="has size=16 but 32 is needed"):
        init_encoder(net, dataclasses.replace(cfg, size=32))
