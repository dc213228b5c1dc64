"""Decoded-frame cache and clip batches.

Every video is decoded once (PyAV, ~40 videos/s per core) into one flat uint8 array held in
memory (and optionally saved as RUN/cache/frames_<H>x<W>_<grey|rgb>.npz); training then
samples clips from memory. Clip positions are segment-based (TSN) or, with key-expression
re-sampling, drawn where the face moves away from the video's own neutral (first) frames.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import multiprocessing as mp
import numpy as np

from curation.errors import VideoError
from curation.fileio import atomic_path
from curation.data.video import clip_span, read_video, segment_clip_starts

log = logging.getLogger(__name__)


@dataclass
class FrameStore:
    """All videos' frames in one array; video i is frames[offsets[i]:offsets[i]+lengths[i]]."""

    frames: np.ndarray  # (F, H, W) grey or (F, H, W, 3) RGB, uint8
    offsets: np.ndarray  # (N,) int64
    lengths: np.ndarray  # (N,) int64
    saliency: np.ndarray  # (F,) float32, movement away from the video's neutral frames, per video in [0, 1]
    video_ids: list[str]

    def index(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.video_ids)}

    def video(self, i: int) -> np.ndarray:
        return self.frames[self.offsets[i]: self.offsets[i] + self.lengths[i]]


def _decode(args):
    path, size, grey = args
    frames = read_video(path, size=(size, size))
    if grey:
        frames = np.round(frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)
    return frames


def frame_saliency(frames: np.ndarray, neutral_frames: int = 3) -> np.ndarray:
    """(T,) in [0, 1]: mean absolute difference from the mean of the first frames (the face's
    own neutral), smoothed over 3 frames and scaled by the video's maximum."""
    f = frames.astype(np.float32)
    neutral = f[: max(1, min(neutral_frames, len(f)))].mean(0)
    d = np.abs(f - neutral).reshape(len(f), -1).mean(1)
    if len(d) >= 3:
        d = np.convolve(np.pad(d, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    top = d.max()
    return (d / top if top > 0 else np.zeros_like(d)).astype(np.float32)


def _cache_key(paths: list[str], size: int, grey: bool) -> str:
    h = hashlib.sha256()
    for p in paths:  # resolved, so a run that points at another run's videos reuses its cache
        st = os.stat(p)
        h.update(f"{os.path.realpath(p)}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    h.update(f"{size}|{grey}".encode())
    return h.hexdigest()[:16]


def load_frames(manifest, *, size: int, grey: bool, cache_dir=None, workers: int | None = None,
                progress: bool = False) -> FrameStore:
    """Decode every manifest video once (resized to size x size), reusing a valid cache file."""
    ids = manifest.df["video_id"].astype(str).tolist()
    paths = [str(manifest.abspath(p)) for p in manifest.df["path"]]
    missing = [(v, p) for v, p in zip(ids, paths) if not Path(p).exists()]
    if missing:
        v, p = missing[0]
        raise VideoError(f"video {v}: file {p} does not exist ({len(missing)} missing); fix the manifest or the dataset root")
    key = _cache_key(paths, size, grey)
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"frames_{size}x{size}_{'grey' if grey else 'rgb'}.npz"
        if cache_file.exists():
            try:
                with np.load(cache_file, allow_pickle=False) as z:
                    if str(z["key"]) == key and list(z["video_ids"]) == ids:
                        log.info("frame cache %s reused", cache_file)
                        return FrameStore(z["frames"], z["offsets"], z["lengths"], z["saliency"], ids)
            except (OSError, KeyError, ValueError) as exc:
                log.warning("frame cache %s unreadable (%s); decoding again", cache_file, exc)
    videos = _decode_all(paths, size, grey, workers, progress)
    lengths = np.array([len(v) for v in videos], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    frames = np.concatenate(videos) if videos else np.zeros((0, size, size) + (() if grey else (3,)), np.uint8)
    saliency = np.concatenate([frame_saliency(v) for v in videos]) if videos else np.zeros(0, np.float32)
    store = FrameStore(frames, offsets, lengths, saliency, ids)
    if cache_file is not None:
        with atomic_path(cache_file) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, frames=frames, offsets=offsets, lengths=lengths, saliency=saliency,
                         video_ids=np.array(ids), key=np.array(key))
        log.info("frame cache written to %s (%.0f MB)", cache_file, frames.nbytes / 1e6)
    return store


def _decode_all(paths, size, grey, workers, progress):
    from tqdm import tqdm

    jobs = [(p, size, grey) for p in paths]
    workers = workers if workers is not None else min(len(jobs), os.cpu_count() or 1, 4)
    bar = dict(total=len(jobs), desc="decode", unit="video", disable=not progress, leave=False)
    if workers <= 1 or len(jobs) < 8:
        return [_decode(j) for j in tqdm(jobs, **bar)]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
        return list(tqdm(ex.map(_decode, jobs, chunksize=8), **bar))


def check_lengths(store: FrameStore, rows: np.ndarray, frames: int, *, pad: bool) -> None:
    """A clip needs ``frames`` frames; shorter videos are an error unless padding is on."""
    short = rows[store.lengths[rows] < frames]
    if len(short) and not pad:
        v = store.video_ids[short[0]]
        raise VideoError(
            f"video {v} has {store.lengths[short[0]]} frames, fewer than one clip of {frames} frames "
            f"({len(short)} such videos); use fewer --frames or pass --pad-short to repeat their last frame"
        )
    if len(short):
        log.warning("%d videos shorter than %d frames are padded by repeating their last frame (first: %s)",
                    len(short), frames, store.video_ids[short[0]])


def _window_scores(sal: np.ndarray, span: int) -> np.ndarray:
    n = max(len(sal) - span + 1, 1)
    c = np.concatenate([[0.0], np.cumsum(sal)])
    return (c[np.minimum(np.arange(n) + span, len(sal))] - c[np.arange(n)]) / span


def clip_starts(length: int, n_clips: int, span: int, *, train: bool, rng=None, saliency=None,
                key_mix: float = 0.0, key_clips: int = 0) -> np.ndarray:
    """Start frames of the clips of one video, in time order.

    Training: one random clip per segment; with ``saliency`` a share ``key_mix`` of them is
    re-drawn from windows weighted by saliency^2 (key expressions). Test: segment centres,
    plus ``key_clips`` extra clips on the most salient windows (non-overlapping peaks)."""
    starts = segment_clip_starts(length, n_clips, span, train=train, rng=rng)
    if saliency is None:
        return np.sort(starts)
    w = _window_scores(np.asarray(saliency, np.float64), span)
    if train:
        n_key = int(round(key_mix * n_clips))
        if n_key and w.sum() > 0:
            p = w ** 2 + 1e-3
            p /= p.sum()
            swap = rng.choice(n_clips, size=n_key, replace=False)
            starts[swap] = rng.choice(len(w), size=n_key, p=p)
        return np.sort(starts)
    keys = []
    order = np.argsort(-w, kind="stable")
    for s in order:
        if len(keys) >= key_clips:
            break
        if all(abs(int(s) - k) >= max(span // 2, 1) for k in keys):
            keys.append(int(s))
    while len(keys) < key_clips:  # short videos: repeat the best window
        keys.append(int(order[0]))
    return np.concatenate([np.sort(starts), np.asarray(keys, dtype=np.int64)])


def gather(store: FrameStore, rows, starts: list[np.ndarray], frames: int, stride: int) -> np.ndarray:
    """uint8 (B, K, T, H, W[, 3]) frames for videos ``rows`` at clip ``starts``."""
    out = []
    for r, st in zip(rows, starts):
        length = int(store.lengths[r])
        s, _ = clip_span(length, frames, stride)
        idx = np.minimum(np.asarray(st)[:, None] + np.arange(frames)[None, :] * s, length - 1)
        out.append(store.frames[store.offsets[r] + idx])
    return np.stack(out)


def neutral_frames(store: FrameStore, rows, n: int = 3) -> np.ndarray:
    """(B, H, W[, 3]) float32 in [0, 1]: mean of each video's first frames (its own neutral face)."""
    return np.stack([store.frames[store.offsets[r]: store.offsets[r] + max(1, min(n, int(store.lengths[r])))]
                     .astype(np.float32).mean(0) / 255.0 for r in rows])


def input_channels(frames: np.ndarray, neutral: np.ndarray | None) -> list[np.ndarray]:
    """The network's input channels from frames in [0, 1]: the frame, centred and scaled, and
    (with a neutral reference) its difference from the neutral face, amplified."""
    chans = [(frames - 0.5) / 0.25]
    if neutral is not None:
        chans.append((frames - neutral) * 4.0)
    return chans


def make_batch(store: FrameStore, rows, starts: list[np.ndarray], frames: int, stride: int, *,
               neutral_ref: bool, rng: np.random.Generator | None = None, shift: int = 0) -> np.ndarray:
    """float32 (B, K, T, ch, H, W) network input. Channels: the frame, and (``neutral_ref``)
    its difference from the video's neutral frames, which cancels identity and background
    and leaves the expression (and head motion). With ``rng``: per-video flip, translation
    and brightness/contrast, the same for all frames and the neutral reference.

    A store of cached embeddings (frames of shape (F, dim), model/embed.py) gives float32
    (B, K, T, dim) instead: no pixels, no augmentation."""
    if store.frames.ndim == 2:
        return gather(store, rows, starts, frames, stride).astype(np.float32)
    x = gather(store, rows, starts, frames, stride).astype(np.float32) / 255.0  # (B, K, T, H, W[, 3])
    neu = neutral_frames(store, rows)[:, None, None]  # (B, 1, 1, H, W[, 3])
    if rng is not None:
        h, w = x.shape[3], x.shape[4]
        for i in range(len(x)):
            xi, ni = x[i], neu[i]
            if rng.random() < 0.5:
                xi, ni = xi[:, :, :, ::-1], ni[:, :, :, ::-1]
            if shift:
                dy, dx = rng.integers(-shift, shift + 1, size=2)
                pad = [(0, 0), (0, 0), (shift, shift), (shift, shift)] + [(0, 0)] * (xi.ndim - 4)
                sl = (slice(None), slice(None), slice(shift + dy, shift + dy + h), slice(shift + dx, shift + dx + w))
                xi = np.pad(xi, pad, mode="edge")[sl]
                ni = np.pad(ni, pad, mode="edge")[sl]
            a, c = rng.uniform(0.8, 1.2), rng.uniform(-0.1, 0.1)
            x[i] = (xi - 0.5) * a + 0.5 + c
            neu[i] = (ni - 0.5) * a + 0.5 + c
    chans = input_channels(x, neu if neutral_ref else None)
    if x.ndim == 5:  # grey
        return np.ascontiguousarray(np.stack(chans, axis=3))
    return np.ascontiguousarray(np.concatenate([np.moveaxis(c, -1, 3) for c in chans], axis=3))
