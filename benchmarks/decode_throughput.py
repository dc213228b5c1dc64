"""Decoding throughput of curation.data.video.read_video next to raw PyAV, on one core.

Usage:
  python benchmarks/decode_throughput.py                      # 200 synthetic 64x64x48 mp4s
  python benchmarks/decode_throughput.py --run runs/s         # the mp4s of a run's manifest
  python benchmarks/decode_throughput.py --n 100 --size 112 --frames 64

Prints frames/second for each way of decoding the same files and the ratio to raw PyAV
(decode + to_ndarray('rgb24'), the least any caller needs to get pixels). The process is
pinned to one CPU and FFmpeg runs one thread, so numbers compare per core. Each timing is
the best of --repeat passes after one warm-up pass (files in the page cache), in frames per
CPU-second of this process, so other processes on a shared machine do not skew it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.data.video import read_video, write_mp4  # noqa: E402


def synthetic_mp4s(folder: Path, n: int, size: int, frames: int, seed: int = 0) -> list[Path]:
    """Moving gradients plus noise: content that costs the codec about what a face video does."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    paths = []
    for i in range(n):
        t = np.arange(frames, dtype=np.float32)[:, None, None] / frames
        phase = rng.uniform(0, 6.28)
        base = 0.5 + 0.5 * np.sin(6 * xx[None] + 4 * yy[None] + 6.28 * t + phase)
        rgb = np.stack([base, np.roll(base, 3, axis=2), 1 - base], -1) * 200
        rgb += rng.normal(0, 6, rgb.shape)
        p = folder / f"{i:05d}.mp4"
        write_mp4(p, np.clip(rgb, 0, 255).astype(np.uint8), fps=16)
        paths.append(p)
    return paths


def run_paths(run: Path) -> list[Path]:
    from curation.data.manifest import read_manifest
    from curation.data.video import is_video_file

    m = read_manifest(run)
    return [m.abspath(p) for p in m.df["path"] if is_video_file(p)]


def raw_decode_only(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(c.streams.video[0]))


def raw_rgb(path: Path) -> int:
    n = 0
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.video[0]):
            frame.to_ndarray(format="rgb24")
            n += 1
    return n


def timed(ways, paths, repeat: int) -> list[tuple[float, int]]:
    """Best frames/second of each way over ``repeat`` passes, after one warm-up pass.

    Time is this process's CPU time (time.process_time): pinned to one core with one
    FFmpeg thread it is the decode work itself, not the time spent waiting for a core that
    other processes hold. The ways also take turns inside each pass, so the ratios stay fair
    on a shared machine."""
    frames = [sum(fn(p) for p in paths) for _, fn in ways]
    best = [float("inf")] * len(ways)
    for _ in range(repeat):
        for i, (_, fn) in enumerate(ways):
            t0 = time.process_time()
            for p in paths:
                fn(p)
            best[i] = min(best[i], time.process_time() - t0)
    return [(f / b, f) for f, b in zip(frames, best)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, help="decode the video files of this run's manifest")
    ap.add_argument("--n", type=int, default=200, help="synthetic videos when no --run (default 200)")
    ap.add_argument("--size", type=int, default=64, help="synthetic frame size (default 64)")
    ap.add_argument("--frames", type=int, default=48, help="synthetic frames per video (default 48)")
    ap.add_argument("--limit", type=int, default=300, help="at most this many files from --run")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    with tempfile.TemporaryDirectory() as tmp:
        if args.run:
            paths = run_paths(args.run)[: args.limit]
            what = f"{len(paths)} video files of {args.run}"
        else:
            t0 = time.perf_counter()
            paths = synthetic_mp4s(Path(tmp), args.n, args.size, args.frames)
            what = (f"{len(paths)} synthetic H.264 mp4s, {args.size}x{args.size}, {args.frames} frames "
                    f"(written in {time.perf_counter() - t0:.1f} s)")
        if not paths:
            print("no video files to decode", file=sys.stderr)
            return 1
        with av.open(str(paths[0])) as c:
            h, w = c.streams.video[0].codec_context.height, c.streams.video[0].codec_context.width
        half = (max(h // 2, 2), max(w // 2, 2))
        ways = [
            ("raw PyAV decode + to_ndarray(rgb24)", raw_rgb),
            ("raw PyAV decode only (no pixels out)", raw_decode_only),
            ("read_video(path)", lambda p: len(read_video(p))),
            ("read_video(path, gray=True)", lambda p: len(read_video(p, gray=True))),
            (f"read_video(path, size={half})", lambda p: len(read_video(p, size=half))),
            (f"read_video(path, size={half}, gray=True)", lambda p: len(read_video(p, size=half, gray=True))),
        ]
        print(f"decoding {what}; one core, FFmpeg threads=1, frames per CPU-second, best of {args.repeat}")
        results = timed(ways, paths, args.repeat)
        base = results[0][0]
        for (name, _), (fps, _) in zip(ways, results):
            print(f"  {name:<48s} {fps:10.0f} frames/s  ratio {fps / base:5.2f}")
        print(f"ratio = frames/s divided by raw PyAV decode + to_ndarray(rgb24); "
              f"{results[0][1]} frames a pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
