"""Video I/O: decode files (PyAV) and frame folders to uint8 arrays, sample clips, write
browser-playable H.264 previews.

Arrays are (T, H, W, 3) uint8 RGB.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from curation.errors import VideoError
from curation.fileio import atomic_path

VIDEO_EXTENSIONS = (".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def is_video_file(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def list_frame_files(folder) -> list[Path]:
    """Image files in a frame folder, in natural (numeric-aware) order."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(files, key=_natural_key)


def _natural_key(p: Path):
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def read_video(path, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode every frame of a video file or frame folder; optionally resize to (H, W)."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file or folder; fix the path or re-run ingest")
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            raise VideoError(f"{path}: frame folder holds no jpg/png frames")
        frames = [_load_image(f, size) for f in files]
    else:
        frames = []
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    img = frame.to_ndarray(format="rgb24")
                    if size is not None and img.shape[:2] != tuple(size):
                        img = np.asarray(Image.fromarray(img).resize((size[1], size[0]), Image.BILINEAR))
                    frames.append(img)
        except (av.error.FFmpegError, IndexError, OSError) as exc:
            raise VideoError(f"{path}: cannot decode video ({exc}); re-encode it or remove it") from exc
        if not frames:
            raise VideoError(f"{path}: video has zero frames; re-encode it or remove it")
    return np.stack(frames)


def _load_image(path: Path, size) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if size is not None and (im.height, im.width) != tuple(size):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            return np.asarray(im)
    except OSError as exc:
        raise VideoError(f"{path}: cannot read frame image ({exc})") from exc


def write_mp4(path, frames: np.ndarray, *, fps: int = 16, crf: int = 20) -> Path:
    """Write (T, H, W, 3) uint8 frames as H.264/yuv420p mp4 that browsers play, atomically.

    Odd sizes are padded to even (yuv420p needs even width and height)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise VideoError(f"{path}: frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    t, h, w, _ = frames.shape
    ph, pw = h + h % 2, w + w % 2
    if (ph, pw) != (h, w):
        frames = np.pad(frames, ((0, 0), (0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    path = Path(path)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height = pw, ph
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": "veryfast"}
            stream.thread_count = 1
            for img in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return path


def video_codec(path) -> str:
    """The codec name of a video file's first stream ('h264', 'mpeg4', ...)."""
    try:
        with av.open(str(path)) as c:
            return c.streams.video[0].codec_context.name
    except (av.error.FFmpegError, IndexError) as exc:
        raise VideoError(f"{path}: cannot open video ({exc})") from exc


def count_frames(path) -> int:
    """Number of frames of a video file or frame folder (decodes when the container lacks it)."""
    path = Path(path)
    if path.is_dir():
        return len(list_frame_files(path))
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            return sum(1 for _ in c.decode(stream))
    except (av.error.FFmpegError, IndexError, OSError) as exc:
        raise VideoError(f"{path}: cannot decode video ({exc})") from exc


def segment_clip_starts(num_frames: int, num_clips: int, clip_len: int, *, train: bool,
                        rng: np.random.Generator | None = None) -> np.ndarray:
    """Start frame of each of ``num_clips`` clips, one per equal segment (TSN sampling).

    Training: a random start inside each segment; test: the clip centred on the segment."""
    if num_frames < 1:
        raise VideoError("a video with zero frames cannot be sampled")
    seg = num_frames / num_clips
    starts = []
    for k in range(num_clips):
        lo, hi = k * seg, (k + 1) * seg
        if train:
            if rng is None:
                raise ValueError("training sampling needs an rng (seeded)")
            top = max(lo, hi - clip_len)
            s = rng.uniform(lo, top) if top > lo else lo
        else:
            s = (lo + hi) / 2 - clip_len / 2
        starts.append(int(round(min(max(s, 0), max(num_frames - clip_len, 0)))))
    return np.asarray(starts, dtype=np.int64)


def clip_indices(starts: np.ndarray, clip_len: int, num_frames: int) -> np.ndarray:
    """(clips, clip_len) frame indices; a short video repeats its last frame."""
    idx = np.asarray(starts)[:, None] + np.arange(clip_len)[None, :]
    return np.minimum(idx, num_frames - 1)


