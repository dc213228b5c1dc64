"""model.network and model.data: shapes, clip sampling, key-expression positions, cache."""

import numpy as np
import pytest
import torch

from curation.errors import ConfigError, VideoError
from model import data
from model.config import TrainConfig
from model.network import DualStreamNet, build_network


@pytest.mark.parametrize("long_term", [True, False])
def test_network_shapes_any_class_count(long_term):
    net = DualStreamNet(11, in_ch=1, width=8, dim=16, long_term=long_term)
    v, c = net(torch.randn(2, 3, 4, 1, 24, 24))
    assert v.shape == (2, 11) and c.shape == (2, 3, 11)
    v2, c2 = net.eval()(torch.randn(2, 5, 4, 1, 32, 40), video_clips=3)  # other size, extra key clips
    assert v2.shape == (2, 11) and c2.shape == (2, 5, 11)


def test_resnet18_option_rgb():
    net = DualStreamNet(7, in_ch=3, encoder="resnet18", dim=32)
    v, c = net(torch.randn(1, 2, 2, 3, 16, 16))
    assert v.shape == (1, 7) and c.shape == (1, 2, 7)


def test_encoder_weights_loaded_and_checked(tmp_path):
    cfg = TrainConfig(width=8, dim=16)
    src = build_network(5, cfg)
    path = tmp_path / "enc.pt"
    torch.save(src.encoder.state_dict(), path)
    net = build_network(5, TrainConfig(width=8, dim=16, encoder_weights=str(path)))
    for k, v in src.encoder.state_dict().items():
        assert torch.equal(net.encoder.state_dict()[k], v)
    torch.save({"foo": torch.zeros(3)}, tmp_path / "bad.pt")
    with pytest.raises(ConfigError, match="do not match"):
        build_network(5, TrainConfig(width=8, dim=16, encoder_weights=str(tmp_path / "bad.pt")))
    with pytest.raises(ConfigError, match="no such file"):
        build_network(5, TrainConfig(encoder_weights=str(tmp_path / "none.pt")))


def test_saliency_peaks_at_apex():
    frames = np.zeros((40, 8, 8), np.uint8)
    frames[20:26] = 200  # a brief apex
    s = data.frame_saliency(frames)
    assert s.max() == 1.0 and 20 <= int(np.argmax(s)) <= 25 and s[:18].max() == 0


def test_clip_starts_uniform_and_key():
    sal = np.zeros(48, np.float32)
    sal[30:36] = 1.0
    st = data.clip_starts(48, 4, 8, train=False, saliency=sal, key_clips=2)
    assert len(st) == 6 and list(st[:4]) == sorted(st[:4])
    assert all(24 <= s <= 35 for s in st[4:])  # key clips cover the apex
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(50):
        s = data.clip_starts(48, 4, 8, train=True, rng=rng, saliency=sal, key_mix=0.5)
        hits += np.sum((s >= 23) & (s <= 35))
    assert hits / 50 >= 2.0  # at least the two key clips land on the apex on average
    a = data.clip_starts(48, 4, 8, train=True, rng=np.random.default_rng(3))
    b = data.clip_starts(48, 4, 8, train=True, rng=np.random.default_rng(3))
    assert np.array_equal(a, b)


def test_short_video_needs_pad_option():
    store = data.FrameStore(np.zeros((10, 4, 4), np.uint8), np.array([0, 6]), np.array([6, 4]),
                            np.zeros(10, np.float32), ["a", "b"])
    with pytest.raises(VideoError, match="video b has 4 frames.*--pad-short"):
        data.check_lengths(store, np.array([0, 1]), 5, pad=False)
    data.check_lengths(store, np.array([0, 1]), 5, pad=True)
    x = data.gather(store, [1], [np.array([0])], 5, 2)
    assert x.shape == (1, 1, 5, 4, 4)


def test_augmentation_moves_frame_and_neutral_together():
    """Flip, shift and brightness act alike on the frames and the neutral reference, so a
    still face keeps an all-zero difference channel (no fake expression), while the bright
    pixel moves by at most ``shift`` pixels."""
    img = np.full((12, 12), 60, np.uint8)
    img[5, 4] = 250
    store = data.FrameStore(np.repeat(img[None], 10, 0), np.array([0]), np.array([10]), np.zeros(10, np.float32), ["a"])
    plain = data.make_batch(store, [0], [np.array([0, 4])], 3, 2, neutral_ref=True)
    assert plain.shape == (1, 2, 3, 2, 12, 12)
    assert np.unravel_index(plain[0, 0, 0, 0].argmax(), (12, 12)) == (5, 4)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        x = data.make_batch(store, [0], [np.array([0, 4])], 3, 2, neutral_ref=True, rng=rng, shift=1)
        assert np.abs(x[..., 1, :, :]).max() < 1e-5  # difference channel of a still face
        y, xx = np.unravel_index(x[0, 0, 0, 0].argmax(), (12, 12))
        xx = min(xx, 11 - xx)  # undo a flip
        assert abs(y - 5) <= 1 and abs(xx - 4) <= 1
        seen.add((int(y), int(xx)))
    assert len(seen) >= 4  # it does move


def test_frame_cache_reused(fake_run):
    from curation.data.manifest import read_manifest

    m = read_manifest(fake_run.path)
    cache = fake_run.path / "cache"
    a = data.load_frames(m, size=16, grey=True, cache_dir=cache, workers=1)
    assert a.frames.shape[1:] == (16, 16) and len(a.lengths) == len(m.df)
    assert (cache / "frames_16x16_grey.npz").exists()
    b = data.load_frames(m, size=16, grey=True, cache_dir=cache)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.saliency, b.saliency)
    c = data.load_frames(m, size=16, grey=False, cache_dir=None, workers=2)
    assert c.frames.shape[1:] == (16, 16, 3)
