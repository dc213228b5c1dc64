"""`dfer-curate synth`: render a synthetic DFER dataset with known truth into a run dir."""

from __future__ import annotations

HELP = "render synthetic face-expression videos with known noisy/hard truth"
EXAMPLE = "dfer-curate synth --out runs/s --n 600 --size 48 --noise-rate 0.2 --seed 1"


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def add_arguments(parser):
    from curation.schema import DFEW_CLASSES, HARD_KINDS

    parser.add_argument("--out", required=True, metavar="RUN", help="run directory to write")
    parser.add_argument("--n", type=int, default=2000, help="total videos, all splits (default 2000)")
    parser.add_argument("--val", type=float, default=0.15, help="share of videos in val (default 0.15)")
    parser.add_argument("--test", type=float, default=0.15, help="share of videos in test (default 0.15)")
    parser.add_argument("--size", type=int, default=64, help="frame size in pixels (default 64)")
    parser.add_argument("--num-frames", type=int, default=48, help="frames per video (default 48)")
    parser.add_argument("--fps", type=int, default=16, help="frame rate (default 16)")
    parser.add_argument("--classes", type=_names, default=DFEW_CLASSES,
                        help=f"comma-separated class names (default {','.join(DFEW_CLASSES)})")
    parser.add_argument("--hard-rate", type=float, default=0.2,
                        help="share of hard (correctly labelled) videos (default 0.2)")
    parser.add_argument("--hard-kinds", type=_names, default=HARD_KINDS,
                        help=f"comma-separated hard kinds (default {','.join(HARD_KINDS)})")
    parser.add_argument("--noise-rate", type=float, default=0.2,
                        help="share of train videos with a wrong label (default 0.2)")
    parser.add_argument("--structured-share", type=float, default=0.5,
                        help="share of noisy labels flipped inside fear/surprise, disgust/angry, "
                             "sad/neutral (default 0.5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--frames", action="store_true", help="write jpg frame folders instead of mp4")
    parser.add_argument("--overwrite", action="store_true",
                        help="re-render into a run that has model results, deleting them")
    parser.add_argument("--workers", type=int, default=1, help="render processes (default 1)")


def run(args):
    import time

    from curation.data.synth import SynthConfig, generate

    cfg = SynthConfig(
        n=args.n, val=args.val, test=args.test, size=args.size, num_frames=args.num_frames,
        fps=args.fps, classes=tuple(args.classes), hard_rate=args.hard_rate,
        hard_kinds=tuple(args.hard_kinds), noise_rate=args.noise_rate,
        structured_share=args.structured_share, seed=args.seed, frames=args.frames,
        workers=args.workers,
    )
    t0 = time.perf_counter()
    m = generate(args.out, cfg, overwrite=args.overwrite)
    dt = time.perf_counter() - t0
    df = m.df
    counts = df["split"].value_counts()
    print(
        f"wrote {len(df)} videos ({', '.join(f'{s} {counts.get(s, 0)}' for s in ('train', 'val', 'test'))}) "
        f"in {dt:.1f} s ({len(df) / max(dt, 1e-9):.1f} videos/s) to {m.root}\n"
        f"manifest: {args.out}/manifest.parquet  (hard {int(df['is_hard'].sum())}, "
        f"noisy train labels {int(df['is_noisy'].sum())})\n"
        f"next: dfer-curate train {args.out}"
    )
