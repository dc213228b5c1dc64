"""model.pretrain and `dfer-curate pretrain` on a tiny fake run."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import model.pretrain as P
from curation.errors import ConfigError, CurationError
from model.encoders import load_encoder

TINY = P.PretrainConfig(size=16, width=8, dim=16, code=4, decoder_width=4, steps=4, batch_size=8, threads=1,
                        checkpoint_every=2)


@pytest.fixture
def tiny_run(tmp_path):
    from tests.fakerun import make_fake_run

    return make_fake_run(tmp_path / "run", n=8, frames=10, size=16)


def test_still_face_has_zero_difference_under_augmentation():
    rng = np.random.default_rng(0)
    face = rng.integers(0, 255, (3, 16, 16)).astype(np.uint8)
    x = P.frame_inputs(face, face.astype(np.float32) / 255.0, np.random.default_rng(1))
    assert x.shape == (3, 2, 16, 16)
    assert np.abs(x[:, 1]).max() < 1e-5  # flip and brightness hit the frame and its neutral alike
    assert np.abs(x[:, 0] - (face / 255.0 - 0.5) / 0.25).max() > 0.01  # but the frame did change


def test_salient_frames_are_drawn_where_the_face_moves():
    sal = np.zeros(1000, np.float32)
    sal[:10] = 1.0
    corpus = P.Corpus(np.zeros((1000, 4, 4), np.uint8), np.zeros(1000, np.int64), np.zeros((1, 4, 4), np.float32), sal)
    idx = P.sample_frames(corpus, 400, np.random.default_rng(0), salient=0.9)
    assert np.mean(idx < 10) > 0.7  # 1% of the frames, drawn ~80% of the time


def test_decoder_needs_the_code():
    """The objective cannot be met from the neutral face alone: codes of two frames differ."""
    torch.manual_seed(0)
    m = P.NeutralCode(TINY).eval()
    x = torch.randn(2, 2, 16, 16)
    assert m(x).item() > 0 and not torch.allclose(m.to_code(m.encoder(x))[0], m.to_code(m.encoder(x))[1])


def test_pretrain_writes_a_safe_encoder_and_labels_are_not_read(tiny_run, monkeypatch):
    import curation.data.manifest as M

    real = M.read_manifest

    def no_labels(path):
        man = real(path)
        man.df["label"] = man.classes[0]  # scrambled labels must not change the encoder
        return man

    out = P.pretrain(tiny_run.path, TINY, progress=False)
    enc, fields, digest = load_encoder(tiny_run.path / "encoder.pt", expect={"in_ch": 2, "dim": 16, "size": 16})
    assert out["frames"] == 80 and out["videos"] == 8 and digest == out["sha256"]
    monkeypatch.setattr(M, "read_manifest", no_labels)
    again = P.pretrain(tiny_run.path, TINY, progress=False)
    assert again["sha256"] == digest  # same seed, same frames: same bytes, labels unused
    assert "pretrain" in tiny_run.load_config()


def test_resume_after_interrupt_matches_uninterrupted(tiny_run, monkeypatch):
    straight = P.pretrain(tiny_run.path, TINY, progress=False)["sha256"]
    (tiny_run.path / "encoder.pt").unlink()
    real, calls = P.frame_inputs, []

    def dies_at_step_3(*a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(P, "frame_inputs", dies_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        P.pretrain(tiny_run.path, TINY, progress=False)
    monkeypatch.setattr(P, "frame_inputs", real)
    assert not (tiny_run.path / "encoder.pt").exists() and (tiny_run.path / "pretrain" / "last.pt").exists()
    assert P.pretrain(tiny_run.path, TINY, progress=False, resume=True)["sha256"] == straight
    with pytest.raises(ConfigError, match="other settings"):
        P.pretrain(tiny_run.path, TINY.__class__(**{**TINY.__dict__, "lr": 0.1}), progress=False, resume=True)


def test_from_another_run(tiny_run, tmp_path):
    from tests.fakerun import make_fake_run

    other = make_fake_run(tmp_path / "other", n=6, frames=10, size=16)
    out = P.pretrain(tiny_run.path, TINY, source=other.path, progress=False)
    assert out["videos"] == 6 and (tiny_run.path / "encoder.pt").exists() and not (other.path / "encoder.pt").exists()


def test_corpus_without_decodable_frames_is_a_clear_cli_error(tiny_run):
    for f in (tiny_run.path / "videos").glob("*.mp4"):
        f.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "curation.cli", "pretrain", str(tiny_run.path), "--steps", "2",
                           "--size", "16", "--threads", "1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "zero frames" in proc.stderr or "decodable" in proc.stderr


def test_empty_corpus_and_bad_config():
    empty = P.Corpus(np.zeros((0, 16, 16), np.uint8), np.zeros(0, np.int64), np.zeros((0, 16, 16), np.float32),
                     np.zeros(0, np.float32))
    with pytest.raises(CurationError, match="no decodable frames"):
        P.pretrain_corpus(empty, TINY)
    with pytest.raises(ConfigError, match="code must be"):
        P.PretrainConfig(code=0).validate()
