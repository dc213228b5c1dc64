"""Video I/O on real files: PyAV round trips per container, frame folders, clip sampling."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from curation.errors import VideoError
from curation.data.video import (
    count_frames,
    list_frame_files,
    probe_video,
    read_video,
    segment_clip_starts,
    video_codec,
    write_mp4,
    write_video,
)


@pytest.fixture
def frames():
    """20 smooth 48x64 RGB frames whose mean brightness rises with time."""
    t = np.arange(20)[:, None, None]
    yy, xx = np.mgrid[0:48, 0:64]
    r = np.broadcast_to(xx * 3, (20, 48, 64))
    g = np.broadcast_to(yy * 4, (20, 48, 64))
    b = np.broadcast_to(40 + 8 * t, (20, 48, 64))
    return np.stack([r, g, b], -1).astype(np.uint8)


@pytest.mark.parametrize(("name", "codec", "expect"), [
    ("a.mp4", None, "h264"),
    ("a.webm", None, "vp9"),
    ("a.webm", "libvpx", "vp8"),
    ("a.avi", None, "mjpeg"),
    ("a.avi", "mpeg4", "mpeg4"),
])
def test_round_trip_per_container(tmp_path, frames, name, codec, expect):
    path = write_video(tmp_path / name, frames, codec=codec)
    assert video_codec(path) == expect
    out = read_video(path)
    assert out.shape == frames.shape and out.dtype == np.uint8
    err = np.abs(out.astype(int) - frames.astype(int)).mean()
    assert err < 6, err
    # frame order survives: the blue channel rises by 8 a frame
    assert np.all(np.diff(out[..., 2].mean(axis=(1, 2))) > 0.5)
    assert count_frames(path) == 20
    info = probe_video(path)
    assert (info.num_frames, info.height, info.width, info.codec) == (20, 48, 64, expect)


def test_mp4_is_browser_playable_h264_yuv420p(tmp_path, frames):
    path = write_mp4(tmp_path / "p.mp4", frames[:, :47, :63])  # odd size is padded to even
    info = probe_video(path)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.fps, info.duration) == (16.0, 20 / 16)
    assert read_video(path).shape == (20, 48, 64, 3)
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic temp file is gone


def test_write_refuses_bad_arrays(tmp_path):
    with pytest.raises(VideoError, match=r"\(T, H, W, 3\) uint8"):
        write_mp4(tmp_path / "x.mp4", np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(VideoError, match="no codec known"):
        write_video(tmp_path / "x.gif", np.zeros((3, 8, 8, 3), np.uint8))
    assert not (tmp_path / "x.mp4").exists()


def test_resize_and_gray_inside_the_decoder(tmp_path, frames):
    path = write_mp4(tmp_path / "a.mp4", frames)
    small = read_video(path, size=(24, 32))
    assert small.shape == (20, 24, 32, 3)
    full = read_video(path).astype(float)
    down = full.reshape(20, 24, 2, 32, 2, 3).mean(axis=(2, 4))
    assert np.abs(small - down).mean() < 4
    gray = read_video(path, size=(24, 32), gray=True)
    assert gray.shape == (20, 24, 32, 1)
    luma = (0.299 * down[..., 0] + 0.587 * down[..., 1] + 0.114 * down[..., 2])
    assert np.abs(gray[..., 0] - luma).mean() < 6
    assert np.array_equal(read_video(path, threads=0), read_video(path))


def _frame_folder(folder, n, ext="jpg", size=(12, 16)):
    folder.mkdir(parents=True)
    for i in range(1, n + 1):
        Image.fromarray(np.full((*size, 3), 10 * i, np.uint8)).save(folder / f"frame_{i}.{ext}")
    return folder


@pytest.mark.parametrize("ext", ["jpg", "png"])
def test_frame_folder_natural_order(tmp_path, ext):
    folder = _frame_folder(tmp_path / "f", 12, ext)
    (folder / "notes.txt").write_text("ignored")
    names = [p.name for p in list_frame_files(folder)]
    assert names[:3] == [f"frame_1.{ext}", f"frame_2.{ext}", f"frame_3.{ext}"]
    assert names.index(f"frame_2.{ext}") < names.index(f"frame_10.{ext}")
    video = read_video(folder)
    assert video.shape == (12, 12, 16, 3)
    assert np.allclose(video[:, 0, 0, 0], 10 * np.arange(1, 13), atol=3)
    assert read_video(folder, size=(6, 8), gray=True).shape == (12, 6, 8, 1)
    assert count_frames(folder) == 12 and probe_video(folder).num_frames == 12


def test_jpeg_draft_resize_keeps_content(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    yy, xx = np.mgrid[0:224, 0:224]
    img = np.stack([xx, yy, np.full_like(xx, 128)], -1).astype(np.uint8)
    Image.fromarray(img).save(folder / "0001.jpg", quality=95)
    out = read_video(folder, size=(56, 56))[0].astype(float)
    ref = img.reshape(56, 4, 56, 4, 3).mean(axis=(1, 3))
    assert np.abs(out - ref).mean() < 3


def test_errors_name_the_file(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        read_video(tmp_path / "nope.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoError, match="no jpg/png frames"):
        read_video(tmp_path / "empty")
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 500)
    with pytest.raises(VideoError, match="bad.mp4: cannot decode"):
        read_video(tmp_path / "bad.mp4")
    with pytest.raises(VideoError, match="cannot be decoded"):
        probe_video(tmp_path / "bad.mp4")
    (tmp_path / "zero.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="0 bytes"):
        probe_video(tmp_path / "zero.mp4")


def test_full_probe_catches_damage_after_the_first_frame(tmp_path):
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (30, 64, 64, 3), dtype=np.uint8)  # big frames: damage lands late
    path = write_video(tmp_path / "n.avi", noisy)
    data = bytearray(path.read_bytes())
    cut = tmp_path / "cut.avi"
    cut.write_bytes(bytes(data[: int(len(data) * 0.6)]))
    assert probe_video(cut).num_frames == 30  # the header still says 30 frames
    assert probe_video(cut, full=True).num_frames < 30  # decoding all finds fewer


# -------------------------------------------------------------------- clip sampling

@pytest.mark.parametrize(("n", "m", "t"), [(48, 4, 8), (64, 4, 16), (20, 8, 4), (9, 4, 4), (100, 3, 40)])
def test_train_starts_deterministic_and_in_bounds(n, m, t):
    a = segment_clip_starts(n, m, t, train=True, rng=np.random.default_rng(7))
    b = segment_clip_starts(n, m, t, train=True, rng=np.random.default_rng(7))
    assert np.array_equal(a, b)
    draws = np.stack([segment_clip_starts(n, m, t, train=True, rng=np.random.default_rng(s)) for s in range(200)])
    assert draws.min() >= 0 and (draws + t).max() <= n
    assert np.all(np.diff(draws, axis=1) >= 0)  # clips stay in temporal order
    seg = n / m
    if t <= seg:  # each clip lies inside its own segment
        lo = np.floor(np.arange(m) * seg)
        hi = np.ceil((np.arange(m) + 1) * seg)
        assert np.all(draws >= lo - 0.5) and np.all(draws + t <= hi + 0.5)
    if t < seg or t > seg + 1:  # random, not fixed (a clip exactly filling its segment is fixed)
        assert all(len(np.unique(draws[:, k])) > 1 for k in range(1, m - 1))


def test_train_needs_a_seeded_rng():
    with pytest.raises(ValueError, match="rng"):
        segment_clip_starts(48, 4, 8, train=True)


def test_test_starts_are_segment_centres():
    starts = segment_clip_starts(48, 4, 8, train=False)
    assert starts.tolist() == [2, 14, 26, 38]  # centres 6, 18, 30, 42 minus half a clip
    centres = starts + 4
    assert np.array_equal(centres, (np.arange(4) + 0.5) * 12)
    assert np.array_equal(starts, segment_clip_starts(48, 4, 8, train=False))


def _clip_frames(starts, clip_len, num_frames):
    """(clips, clip_len) frame indices, a short video repeating its last frame (as readers do)."""
    return np.minimum(np.asarray(starts)[:, None] + np.arange(clip_len)[None, :], num_frames - 1)


def test_short_video_is_padded_with_its_last_frame():
    starts = segment_clip_starts(5, 2, 8, train=False)
    idx = _clip_frames(starts, 8, 5)
    assert idx.shape == (2, 8)
    assert np.array_equal(idx[0], [0, 1, 2, 3, 4, 4, 4, 4])
    video = np.arange(5)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)
    clips = video[_clip_frames(segment_clip_starts(5, 2, 8, train=True, rng=np.random.default_rng(0)), 8, 5)]
    assert clips.shape == (2, 8, 2, 2, 1)
    assert clips[:, -1, 0, 0, 0].tolist() == [4, 4]


def test_zero_frames_cannot_be_sampled():
    with pytest.raises(VideoError, match="zero frames"):
        segment_clip_starts(0, 4, 8, train=False)


def test_the_same_frames_encode_to_the_same_bytes(tmp_path):
    """Rendering a synthetic set twice must give the same files, or training on them is not
    reproducible. libx264's macroblock-tree made 3 of these 12 synthetic videos differ
    between two encodings in one process."""
    import hashlib

    from curation.data import synth

    cfg = synth.SynthConfig(n=100)
    truth = synth.sample_truth(cfg)
    differing = []
    for j in range(12):
        frames = synth.render_video(synth.video_spec_for(truth.iloc[j], cfg, j))
        digests = {hashlib.md5(write_mp4(tmp_path / f"v{j}_{i}.mp4", frames).read_bytes()).hexdigest()
                   for i in range(3)}
        if len(digests) > 1:
            differing.append(j)
    assert differing == []


def test_clip_span_shrinks_the_stride_to_fit_short_videos():
    from curation.data.video import clip_span

    assert clip_span(48, 4, 3) == (3, 10)  # room for the full stride
    assert clip_span(7, 4, 3) == (2, 7)  # 7 frames: stride 2 covers them
    assert clip_span(3, 4, 3) == (1, 4)  # too short even at stride 1: the sampler pads
    assert clip_span(10, 1, 5) == (1, 1)
