"""Video I/O: decode files (PyAV) and frame folders to uint8 arrays, sample clips, write
browser-playable H.264 previews.

Arrays are (T, H, W, 3) uint8 RGB, or (T, H, W, 1) uint8 luma with ``gray=True``.
Resizing and colour conversion happen inside FFmpeg's swscale (``VideoFrame.reformat``)
for video files and through JPEG draft decoding for frame folders, so the model's data
loader never touches full-size RGB frames it would throw away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter
from PIL import Image

from curation.errors import VideoError
from curation.fileio import atomic_path

VIDEO_EXTENSIONS = (".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")

# Codec chosen by write_video for each container extension.
_WRITE_CODECS = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264",
                 ".webm": "libvpx-vp9", ".avi": "mjpeg"}
_DECODE_ERRORS = (av.error.FFmpegError, OSError, ValueError)


def is_video_file(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def list_frame_files(folder) -> list[Path]:
    """Image files in a frame folder, in natural (numeric-aware) order: frame_2 before frame_10."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(files, key=_natural_key)


def _natural_key(p: Path):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", p.name)]


@dataclass(frozen=True)
class VideoInfo:
    """What a cheap look at a video (header + first frame) tells."""

    num_frames: int
    height: int
    width: int
    codec: str  # 'h264', 'vp9', 'mjpeg', or 'frames' for a frame folder
    fps: float = 0.0       # frames per second the container states; 0 = unknown (frame folders)
    pix_fmt: str = ""      # pixel format of the stream ('yuv420p', ...); "" for frame folders
    duration: float = 0.0  # seconds the container states; 0 = unknown


def probe_video(path, *, full: bool = False) -> VideoInfo:
    """Open a video file or frame folder and check it is usable, without decoding it all.

    Reads the container header (frame count, size, codec, pixel format, rate, duration)
    and decodes the first frame (first
    image of a folder). A container that does not state its frame count (webm) has its video
    packets counted, which needs no decoding. ``full=True`` decodes every frame instead and
    counts what really decodes: slower, but catches corruption after the first frame.
    Raises VideoError saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file or folder")
    if path.is_dir():
        return _probe_folder(path, full=full)
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: file is empty (0 bytes), so it has zero frames")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: file has no video stream (zero frames)")
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            pix_fmt = stream.codec_context.pix_fmt or ""
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
            if full:
                n, first = 0, None
                for frame in container.decode(stream):
                    if first is None:
                        first = frame
                    n += 1
            else:
                first = next(iter(container.decode(stream)), None)
                n = int(stream.frames or 0)
    except VideoError:
        raise
    except _DECODE_ERRORS as exc:
        raise VideoError(f"{path}: cannot be decoded ({exc})") from exc
    if first is None:
        raise VideoError(f"{path}: video stream holds zero decodable frames")
    if n == 0:
        n = _count_packets(path)
    return VideoInfo(num_frames=n, height=first.height, width=first.width, codec=codec, fps=fps,
                     pix_fmt=pix_fmt, duration=duration)


def _probe_folder(path: Path, *, full: bool) -> VideoInfo:
    files = list_frame_files(path)
    if not files:
        raise VideoError(f"{path}: frame folder holds no jpg/png frames")
    first = _load_image(files[0], None, False)
    if full:
        for f in files[1:]:
            _load_image(f, None, False)
    return VideoInfo(num_frames=len(files), height=first.shape[0], width=first.shape[1], codec="frames")


def _count_packets(path: Path) -> int:
    """Frames of a container without a frame count in its header: count non-empty video packets."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return sum(1 for pkt in container.demux(stream) if pkt.size)
    except _DECODE_ERRORS as exc:
        raise VideoError(f"{path}: cannot be read ({exc})") from exc


def read_video(path, *, size: tuple[int, int] | None = None, gray: bool = False,
               threads: int = 1) -> np.ndarray:
    """Decode every frame of a video file or frame folder to (T, H, W, 3) uint8 RGB.

    ``size=(H, W)`` resizes inside the decoder (swscale; JPEG draft mode for frame folders);
    ``gray=True`` returns (T, H, W, 1) luma. ``threads`` is FFmpeg's decoder thread count:
    1 by default because data loaders run one decoder per worker process; 0 = one per core."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file or folder; fix the path or re-run ingest")
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            raise VideoError(f"{path}: frame folder holds no jpg/png frames")
        out = np.stack([_load_image(f, size, gray) for f in files])
    else:
        out = _decode_file(path, size, gray, threads)
    return out[..., None] if gray else out


def _decode_file(path: Path, size, gray: bool, threads: int) -> np.ndarray:
    fmt = "gray" if gray else "rgb24"
    frames = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: file has no video stream; re-encode it or remove it")
            stream = container.streams.video[0]
            if threads != 1:
                stream.thread_type = "AUTO"
                stream.codec_context.thread_count = threads
            # One reformatter for the whole file keeps swscale's context cached between
            # frames (frame.to_ndarray(format=...) builds a new one per frame: ~1.4x slower).
            reformatter = VideoReformatter()
            height = width = None
            interpolation = Interpolation.BILINEAR
            for frame in container.decode(stream):
                if size is not None and height is None:
                    height, width = int(size[0]), int(size[1])
                    if height * width < frame.height * frame.width:
                        interpolation = Interpolation.AREA  # averages when shrinking; also faster
                frames.append(reformatter.reformat(frame, width=width, height=height, format=fmt,
                                                   interpolation=interpolation).to_ndarray())
    except VideoError:
        raise
    except _DECODE_ERRORS as exc:
        raise VideoError(f"{path}: cannot decode video ({exc}); re-encode it or remove it") from exc
    if not frames:
        raise VideoError(f"{path}: video has zero frames; re-encode it or remove it")
    return np.stack(frames)


def _load_image(path: Path, size, gray: bool) -> np.ndarray:
    mode = "L" if gray else "RGB"
    try:
        with Image.open(path) as im:
            if size is not None:
                # JPEG: decode at 1/2, 1/4 or 1/8 scale when that still covers the target size.
                im.draft(mode, (int(size[1]), int(size[0])))
            im = im.convert(mode)
            if size is not None and (im.height, im.width) != tuple(size):
                im = im.resize((int(size[1]), int(size[0])), Image.BILINEAR)
            return np.asarray(im)
    except OSError as exc:
        raise VideoError(f"{path}: cannot read frame image ({exc})") from exc


def write_mp4(path, frames: np.ndarray, *, fps: int = 16, crf: int = 20) -> Path:
    """Write (T, H, W, 3) uint8 frames as H.264/yuv420p mp4 that browsers play, atomically.

    Odd sizes are padded to even (yuv420p needs even width and height)."""
    return write_video(path, frames, fps=fps, codec="libx264", crf=crf)


def write_video(path, frames: np.ndarray, *, fps: int = 16, codec: str | None = None,
                crf: int = 20) -> Path:
    """Write frames to any container PyAV supports, atomically; the codec follows the
    extension unless given (.mp4 H.264, .webm VP9, .avi MJPEG). Used for previews and to
    build test fixtures in every format ingest accepts."""
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise VideoError(f"{path}: frames must be non-empty (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    codec = codec or _WRITE_CODECS.get(path.suffix.lower())
    if codec is None:
        raise VideoError(f"{path}: no codec known for {path.suffix!r}; use one of {sorted(_WRITE_CODECS)}")
    t, h, w, _ = frames.shape
    ph, pw = h + h % 2, w + w % 2
    if (ph, pw) != (h, w):
        frames = np.pad(frames, ((0, 0), (0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    fmt = path.suffix.lower().lstrip(".")
    fmt = {"mkv": "matroska", "m4v": "mp4"}.get(fmt, fmt)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format=fmt) as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height = pw, ph
            stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
            if codec == "libx264":
                # macroblock-tree rate control made libx264 give different files for the same
                # frames from one call to the next; without it the same frames encode the same.
                stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params": "no-mbtree=1"}
            elif codec.startswith("libvpx"):
                stream.options = {"crf": str(crf + 10), "b": "0", "deadline": "realtime", "cpu-used": "8"}
            elif codec in ("mjpeg", "mpeg4"):
                stream.bit_rate = 8_000_000  # these codecs default to a blurry 200 kb/s
            stream.thread_count = 1
            for img in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return path


def video_codec(path) -> str:
    """The codec name of a video file's first stream ('h264', 'mpeg4', ...), header only."""
    try:
        with av.open(str(path)) as c:
            return c.streams.video[0].codec_context.name
    except (*_DECODE_ERRORS, IndexError) as exc:
        raise VideoError(f"{path}: cannot open video ({exc})") from exc


def count_frames(path) -> int:
    """Number of frames of a video file or frame folder, from the header or a packet count
    (never a full decode)."""
    path = Path(path)
    if path.is_dir():
        return len(list_frame_files(path))
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            if stream.frames:
                return int(stream.frames)
    except (*_DECODE_ERRORS, IndexError) as exc:
        raise VideoError(f"{path}: cannot decode video ({exc})") from exc
    return _count_packets(path)


def clip_span(length: int, frames: int, stride: int) -> tuple[int, int]:
    """(stride, span) of a clip of ``frames`` frames that fits a video of ``length`` frames:
    the stride shrinks for short videos. The model's sampler and the dashboard's timeline
    share it, so what is drawn is what was scored."""
    s = max(1, min(stride, (length - 1) // max(frames - 1, 1))) if frames > 1 else 1
    return s, (frames - 1) * s + 1


def segment_clip_starts(num_frames: int, num_clips: int, clip_len: int, *, train: bool,
                        rng: np.random.Generator | None = None) -> np.ndarray:
    """Start frame of each of ``num_clips`` clips, one per equal segment (TSN sampling).

    Training: a random start so the clip lies inside its segment (when the clip is longer
    than the segment, a random clip centre inside the segment); test: the clip centred on the
    segment. Starts are clamped so clips stay inside the video; a video shorter than
    ``clip_len`` gets start 0 (the reader pads it with its last frame)."""
    if num_frames < 1:
        raise VideoError("a video with zero frames cannot be sampled")
    if num_clips < 1 or clip_len < 1:
        raise ValueError(f"num_clips and clip_len must be >= 1, got {num_clips} and {clip_len}")
    if train and rng is None:
        raise ValueError("training sampling needs an rng (np.random.default_rng(seed))")
    seg = num_frames / num_clips
    last = max(num_frames - clip_len, 0)
    starts = np.empty(num_clips, dtype=np.int64)
    for k in range(num_clips):
        lo, hi = k * seg, (k + 1) * seg
        if not train:
            s = (lo + hi) / 2 - clip_len / 2
        elif clip_len <= seg:
            s = rng.uniform(lo, hi - clip_len)
        else:
            s = rng.uniform(lo, hi) - clip_len / 2
        starts[k] = int(round(min(max(s, 0.0), last)))
    return starts

