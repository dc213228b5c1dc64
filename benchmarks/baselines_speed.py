"""How long each post-hoc baseline takes at dataset scale (DFEW ~12k, FERV39K ~39k videos).

Inputs are random but shaped like a real audit: N videos, C classes, E epochs of dynamics,
M clips. Prints one line per method and size: wall seconds and traced peak MB.

    .venv/bin/python benchmarks/baselines_speed.py --sizes 12000 39000 --classes 7
"""

from __future__ import annotations

import argparse

import numpy as np

from curation.audit import baselines as B
from curation.pipelines.bench_measure import measure


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[12000, 39000])
    ap.add_argument("--classes", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fiftyone", action="store_true", help="also time FiftyOne mistakenness (starts mongod)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    for n in args.sizes:
        c = args.classes
        labels = rng.integers(0, c, n)
        alpha = np.ones((n, c))
        alpha[np.arange(n), labels] += 8
        probs = np.stack([rng.dirichlet(a) for a in alpha])
        clips = np.stack([probs] * args.clips, 1)
        margins = rng.normal(1, 1, (n, args.epochs))
        runs = {f"cl_{f}": (B.cleanlab_filter, (labels, probs), {"filter_by": f}) for f in B.CLEANLAB_FILTERS}
        runs |= {f"cl_{r}": (B.cleanlab_rank, (labels, probs), {"method": r}) for r in B.CLEANLAB_RANKS}
        runs |= {
            "aum": (B.aum, (margins,), {}),
            "loss_gmm": (B.loss_gmm, (np.abs(margins[:, -1]),), {}),
            "cartography": (B.cartography, (np.clip(margins / 4 + 0.5, 0, 1),), {}),
            "single_clip": (B.single_clip, (labels, clips), {}),
        }
        if args.fiftyone:
            from curation.fiftyone.brain import mistakenness_scores

            ids = [f"v{i}" for i in range(n)]
            runs["fo_mistakenness"] = (B.fo_mistakenness, (ids, labels, probs, [f"c{i}" for i in range(c)]),
                                       {"scorer": mistakenness_scores})
        for name, (f, a, kw) in runs.items():
            _, wall, peak = measure(f, *a, **kw)
            print(f"N={n:>6} C={c} {name:<24} {wall:8.3f} s {peak:9.1f} MB")


if __name__ == "__main__":
    main()
