"""curation.data.previews: one policy for which videos browsers play as they are."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from curation.data.previews import is_playable, shown_file
from curation.data.video import video_codec, write_mp4, write_video
from curation.errors import VideoError
from curation.runs import RunDir


@pytest.fixture
def frames():
    f = np.zeros((8, 24, 32, 3), np.uint8)
    f[:, :, :16, 0] = np.linspace(0, 255, 8, dtype=np.uint8)[:, None, None]
    return f


@pytest.mark.parametrize("suffix, codec, pix_fmt, ok", [
    (".mp4", "h264", "yuv420p", True),
    (".MOV", "h264", "yuvj420p", True),
    (".m4v", "h264", "yuv420p", True),
    (".mkv", "h264", "yuv420p", False),   # browsers do not play matroska
    (".mp4", "mpeg4", "yuv420p", False),  # mp4v
    (".mp4", "h264", "yuv444p", False),   # browsers do not reliably play 4:4:4
    (".webm", "vp9", "yuv420p", False),
])
def test_playable_policy(suffix, codec, pix_fmt, ok):
    assert is_playable(suffix, codec, pix_fmt) is ok


def test_h264_source_plays_as_it_is(tmp_path, frames):
    run = RunDir(tmp_path / "run")
    src = write_mp4(tmp_path / "a.mp4", frames, fps=8)
    shown = shown_file(run, "a", src)
    assert (shown.path, shown.how) == (src, "source")
    assert (shown.info.num_frames, shown.info.fps, shown.info.pix_fmt) == (8, 8.0, "yuv420p")
    assert not run.previews.exists()


def test_other_sources_get_one_cached_preview(tmp_path, frames):
    run = RunDir(tmp_path / "run")
    avi = write_video(tmp_path / "b.avi", frames, fps=8)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, img in enumerate(frames):
        Image.fromarray(img).save(folder / f"{i:03d}.png")
    for vid, src, fps in (("b", avi, 8), ("Action/Happy/0267", folder, 12)):
        first = shown_file(run, vid, src, folder_fps=12)
        assert (first.path, first.how) == (run.preview(vid), "rendered")
        assert video_codec(first.path) == "h264" and first.info.num_frames == len(frames)
        assert first.info.fps == fps
        assert shown_file(run, vid, src, folder_fps=12).how == "cached"
    # a source newer than its preview is rendered again
    later = run.preview("b").stat().st_mtime + 10
    os.utime(avi, (later, later))
    assert shown_file(run, "b", avi).how == "rendered"


def test_unreadable_source_is_a_video_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoError, match="bad.mp4"):
        shown_file(RunDir(tmp_path / "run"), "bad", bad)
