"""model.train on a tiny fake run: artifacts, determinism, resume, bad input."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

import model.train as T
from curation.errors import ConfigError, ManifestError, VideoError
from curation.data.manifest import Manifest, read_manifest, write_manifest
from curation.schema import DYNAMICS_COLUMNS
from model.config import TrainConfig
from model.inference import load_checkpoint, load_weights

TINY = TrainConfig(size=16, width=8, dim=16, clips=2, frames=4, stride=1, epochs=3, warmup=2, window=2,
                   batch_size=8, threads=1, patience=10)


@pytest.fixture
def tiny_run(tmp_path):
    from tests.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", n=24, frames=12, size=16)
    for name in ("scores.parquet", "dynamics.parquet", "clip_probs.npy"):
        (run.path / name).unlink()
    return run


def _weights(path):
    return torch.load(path, weights_only=True)["model"]


@pytest.mark.slow
def test_train_writes_artifacts(tiny_run, tmp_path):
    out = T.train(tiny_run.path, TINY, progress=False)
    assert out["epochs"] == 3 and out["heldout"] == "train-holdout" and out["triage_from"] == 3
    ck = tiny_run.checkpoints
    assert (ck / "last.pt").exists() and (ck / "best.pt").exists()
    dyn = pd.read_parquet(tiny_run.dynamics)
    assert list(dyn.columns) == list(DYNAMICS_COLUMNS)
    n_train = len(T.make_plan(read_manifest(tiny_run.path), TINY).train_rows)
    assert len(dyn) == 3 * n_train and sorted(dyn["epoch"].unique()) == [1, 2, 3]
    assert dyn["verdict"].isin(["clean", "hard", "noisy"]).all()
    assert dyn["agree_label"].isin([0.0, 0.5, 1.0]).all()  # a share of TINY's 2 clips
    assert "train" in tiny_run.load_config()


@pytest.mark.slow
def test_resume_after_interrupt_matches_uninterrupted(tiny_run, monkeypatch):
    T.train(tiny_run.path, TINY, progress=False)
    straight = _weights(tiny_run.checkpoints / "last.pt")
    dyn_straight = pd.read_parquet(tiny_run.dynamics)
    for f in tiny_run.checkpoints.iterdir():
        f.unlink()
    real = T._end_epoch

    def interrupted(*args, **kw):
        if args[-1] == 2:  # 0-based epoch 3: the run dies in its last epoch
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(T, "_end_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        T.train(tiny_run.path, TINY, progress=False)
    assert torch.load(tiny_run.checkpoints / "last.pt", weights_only=True)["state"]["epoch"] == 2
    monkeypatch.setattr(T, "_end_epoch", real)
    out = T.train(tiny_run.path, TINY, progress=False, resume=True)
    assert out["epochs"] == 3
    for k, v in _weights(tiny_run.checkpoints / "last.pt").items():
        assert torch.allclose(straight[k].float(), v.float(), atol=1e-6), k
    pd.testing.assert_frame_equal(pd.read_parquet(tiny_run.dynamics), dyn_straight)


def test_resume_refuses_other_network(tiny_run):
    T.train(tiny_run.path, dataclasses.replace(TINY, epochs=1), progress=False)
    with pytest.raises(ConfigError, match="another network configuration.*dim"):
        T.train(tiny_run.path, dataclasses.replace(TINY, dim=24), progress=False, resume=True)


def _rewrite(run, **changes):
    m = read_manifest(run.path)
    df = m.df.copy()
    for col, fn in changes.items():
        df[col] = fn(df)
    write_manifest(run.path, Manifest(df, m.classes, m.root))


def test_empty_train_split(tiny_run):
    _rewrite(tiny_run, split=lambda df: "test")
    with pytest.raises(ManifestError, match="train split is empty"):
        T.train(tiny_run.path, TINY, progress=False)


def test_class_missing_from_train(tiny_run):
    _rewrite(tiny_run, label=lambda df: df["label"].where((df["label"] != "angry") | (df["split"] != "train"), "sad"))
    with pytest.raises(ManifestError, match=r"\['angry'\] have no video in the train split"):
        T.train(tiny_run.path, TINY, progress=False)


def test_short_video_error_names_it(tiny_run):
    with pytest.raises(VideoError, match="fewer than one clip of 16 frames.*--pad-short"):
        T.train(tiny_run.path, dataclasses.replace(TINY, frames=16), progress=False)


def test_checkpoint_of_other_classes_refused(tiny_run):
    T.train(tiny_run.path, dataclasses.replace(TINY, epochs=1), progress=False)
    with pytest.raises(ConfigError, match="trained on classes"):
        load_checkpoint(tiny_run.checkpoints / "best.pt", classes=["a", "b"])


def test_plan_uses_val_split_when_present(tiny_run):
    m = read_manifest(tiny_run.path)
    df = m.df.copy()
    df.loc[df.index[-3:], "split"] = "val"
    plan = T.make_plan(Manifest(df, m.classes, m.root), TINY)
    assert plan.heldout_kind == "val" and len(plan.heldout_rows) == 3
    assert np.intersect1d(plan.train_rows, plan.heldout_rows).size == 0



def test_checkpoint_of_an_older_network_layout_is_a_clear_error(tiny_run):
    from model.network import build_network
    from model.score import score

    T.train(tiny_run.path, dataclasses.replace(TINY, epochs=1), progress=False)
    path = tiny_run.checkpoints / "best.pt"
    ck = torch.load(path, map_location="cpu", weights_only=True)
    ck["model"] = {k.replace("features.4", "features.9"): v for k, v in ck["model"].items()}  # a renamed layer
    torch.save(ck, path)
    net = build_network(len(ck["classes"]), T.TrainConfig.from_dict(ck["config"]))
    with pytest.raises(ConfigError, match="another version of the network.*train again"):
        load_weights(net, ck, path)
    with pytest.raises(ConfigError, match="another version of the network"):
        score(tiny_run.path, progress=False)


@pytest.mark.slow
def test_robust_training_relabels_toward_the_triage_suggestion(tiny_run, monkeypatch):
    """Noisy videos train toward the class their verdict was routed by, which under the
    pooled route need not be the clips' majority (the majority may be the label itself)."""
    real_audit = T.agr.audit

    def every_video_noisy_suggesting_class_1(*args, **kw):
        res = real_audit(*args, **kw)
        res["verdict"] = np.full(len(res["verdict"]), "noisy", dtype=object)
        res["suggested"] = np.ones(len(res["suggested"]), np.int64)
        return res

    loss_targets = []
    real_ce = T.F.cross_entropy

    def recording_ce(logits, y, *args, **kw):
        if "label_smoothing" in kw:  # the training loss: each step the video head's, then the clips'
            loss_targets.append(y.cpu().numpy().copy())
        return real_ce(logits, y, *args, **kw)

    monkeypatch.setattr(T.agr, "audit", every_video_noisy_suggesting_class_1)
    monkeypatch.setattr(T.F, "cross_entropy", recording_ce)
    cfg = dataclasses.replace(TINY, epochs=4, batch_size=64)  # one batch per epoch
    out = T.train(tiny_run.path, cfg, progress=False)
    plan = T.make_plan(read_manifest(tiny_run.path), cfg)
    labels = plan.labels[plan.train_rows]
    video_targets = loss_targets[0::2]
    assert out["triage_from"] == 3 and len(video_targets) == 4
    assert np.array_equal(np.sort(video_targets[0]), np.sort(labels))  # before triage: the given labels
    assert len(set(labels.tolist())) > 1 and np.all(video_targets[3] == 1)  # the robust epoch: the suggestion
