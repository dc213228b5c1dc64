"""`dfer-curate synth`: render a synthetic DFER dataset with known truth into a run dir."""

from __future__ import annotations

HELP = "render synthetic face-expression videos with known noisy/hard truth"
EXAMPLE = "dfer-curate synth --out runs/s --n 600 --size 48 --noise-rate 0.2 --seed 1"


OPTIONS = ("n", "val", "test", "size", "num_frames", "fps", "classes", "hard_rate", "hard_kinds", "noise_rate",
           "noise_splits", "structured_share", "seed", "frames", "workers")
# help here, defaults and types from SynthConfig's fields
_HELP = {
    "n": "total videos, all splits", "val": "share of videos in val", "test": "share of videos in test",
    "size": "frame size in pixels", "num_frames": "frames per video", "fps": "frame rate",
    "classes": "comma-separated class names", "hard_rate": "share of hard (correctly labelled) videos",
    "hard_kinds": "comma-separated hard kinds", "noise_rate": "share of the noise splits' videos with a wrong label",
    "noise_splits": "comma-separated splits whose labels carry noise (train,val,test audits every split)",
    "structured_share": "share of noisy labels flipped inside fear/surprise, disgust/angry, sad/neutral",
    "seed": "random seed", "frames": "write jpg frame folders instead of mp4", "workers": "render processes",
}


def add_arguments(parser):
    from curation.commands.options import add_options
    from curation.data.synth import SynthConfig

    parser.add_argument("--out", required=True, metavar="RUN", help="run directory to write")
    add_options(parser, SynthConfig, OPTIONS, help=_HELP)
    parser.add_argument("--overwrite", action="store_true",
                        help="re-render into a run that has model results, deleting them")


def run(args):
    import time

    from curation.commands.options import config_from_args
    from curation.data.synth import SynthConfig, generate

    cfg = config_from_args(SynthConfig, args, OPTIONS)
    t0 = time.perf_counter()
    m = generate(args.out, cfg, overwrite=args.overwrite)
    dt = time.perf_counter() - t0
    df = m.df
    counts = df["split"].value_counts()
    print(
        f"wrote {len(df)} videos ({', '.join(f'{s} {counts.get(s, 0)}' for s in ('train', 'val', 'test'))}) "
        f"in {dt:.1f} s ({len(df) / max(dt, 1e-9):.1f} videos/s) to {m.root}\n"
        f"manifest: {args.out}/manifest.parquet  (hard {int(df['is_hard'].sum())}, "
        f"noisy labels {int(df['is_noisy'].sum())} in {','.join(cfg.noise_splits)})\n"
        f"next: dfer-curate train {args.out}"
    )
