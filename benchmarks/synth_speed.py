"""How fast the synthetic generator renders and encodes, on one core.

Times are CPU seconds of this process (time.process_time), so a busy machine does not
inflate them much; wall time on an idle core is about the same. Prints videos/s for spec sampling, rendering alone, H.264 encoding alone, and the estimated
time of a whole `dfer-curate synth` run of the given size.

    .venv/bin/python benchmarks/synth_speed.py            # default set: 64 px, 48 frames
    .venv/bin/python benchmarks/synth_speed.py --size 48 --videos 60
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from curation.data.synth import SynthConfig, render_video, sample_truth, video_spec_for
from curation.data.video import write_mp4


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--num-frames", type=int, default=48)
    ap.add_argument("--videos", type=int, default=100, help="videos to time")
    ap.add_argument("--n", type=int, default=2000, help="dataset size to extrapolate to")
    args = ap.parse_args(argv)
    cfg = SynthConfig(n=max(args.videos, 100), size=args.size, num_frames=args.num_frames)
    df = sample_truth(cfg).head(args.videos)

    t0 = time.process_time()
    specs = [video_spec_for(r, cfg, i) for i, r in enumerate(df.to_dict("records"))]
    t_spec = time.process_time() - t0
    t0 = time.process_time()
    videos = [render_video(s) for s in specs]
    t_render = time.process_time() - t0
    with tempfile.TemporaryDirectory() as d:
        t0 = time.process_time()
        for i, v in enumerate(videos):
            write_mp4(Path(d) / f"{i}.mp4", v, fps=cfg.fps)
        t_enc = time.process_time() - t0
    k = len(videos)
    total = t_spec + t_render + t_enc
    print(f"{k} videos of {args.num_frames} frames at {args.size}x{args.size}, one process")
    for name, t in (("sample specs", t_spec), ("render", t_render), ("encode H.264", t_enc),
                    ("all", total)):
        print(f"  {name:13s} {1000 * t / k:7.1f} ms/video  {k / t:7.1f} videos/s")
    print(f"  estimated `dfer-curate synth --n {args.n} --size {args.size}`: "
          f"{args.n * total / k:.0f} s")
    return np.float64(k / total)


if __name__ == "__main__":
    main()
