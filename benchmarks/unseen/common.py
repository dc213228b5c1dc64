"""What the unseen sets share: who is noisy or hard, time courses, and writing a set to disk.

A set is a folder ``OUT/`` holding ``data/`` (the videos and ``labels.csv`` in the generic
CSV layout that ``dfer-curate ingest --format csv`` reads) and ``truth.csv`` beside it, outside
the dataset root, so that the tool never sees the truth. The truth table is drawn from the
set's seed; each video is then rendered from its own row and its own seed, so the same seed
gives the same table and the same bytes whatever the number of worker processes.
"""

from __future__ import annotations

import csv
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TRUTH_FILE = "truth.csv"
DATA_DIR = "data"
LABELS_FILE = "labels.csv"
TRUTH_COLUMNS = ("video_id", "path", "split", "label", "true_label", "is_noisy", "noise_kind",
                 "is_hard", "hard_kind", "seed")


@dataclass
class SetSpec:
    """How a set draws its truth. ``priors``: relative class frequencies (None = balanced);
    ``pairs``: the confusions a structured flip stays inside; ``hard_kinds``: this set's own
    ways of being hard while correctly labelled."""

    name: str
    classes: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    hard_kinds: tuple[str, ...]
    priors: tuple[float, ...] | None = None
    splits: dict = field(default_factory=lambda: {"train": 0.70, "val": 0.15, "test": 0.15})


def sample_truth(spec: SetSpec, n: int, seed: int, *, noise_rate: float, structured_share: float,
                 hard_rate: float, noise_splits=("train",)) -> list[dict]:
    """One row per video (TRUTH_COLUMNS less path): split, true class drawn from the priors,
    a hard kind for ``hard_rate`` of every split, and in ``noise_splits`` a wrong label for
    ``noise_rate`` of the videos: ``structured_share`` of them go to the class's confusion
    partner (a class without one gets a uniform flip instead, so the structured share of all
    flips is lower when some classes have no partner), the rest to any other class. Noise
    ignores hardness."""
    rng = np.random.default_rng([seed, 7011])
    classes = list(spec.classes)
    C = len(classes)
    p = np.ones(C) if spec.priors is None else np.asarray(spec.priors, float)
    p = p / p.sum()
    names = list(spec.splits)
    counts = [int(round(n * spec.splits[s])) for s in names[1:]]
    counts.insert(0, n - sum(counts))
    split = rng.permutation(np.repeat(names, counts))
    true = np.empty(n, int)
    for s in names:  # every class in every split, then the priors
        idx = rng.permutation(np.flatnonzero(split == s))
        base = min(len(idx) // C, 2)
        fixed = np.repeat(np.arange(C), base)
        true[idx[: len(fixed)]] = fixed
        true[idx[len(fixed):]] = rng.choice(C, size=len(idx) - len(fixed), p=p)
    hard_kind = np.full(n, "", dtype=object)
    for s in names:
        idx = np.flatnonzero(split == s)
        pick = rng.choice(idx, size=int(round(hard_rate * len(idx))), replace=False)
        hard_kind[pick] = rng.choice(np.array(spec.hard_kinds, dtype=object), size=len(pick))
    label = true.copy()
    noise_kind = np.full(n, "", dtype=object)
    pool = np.flatnonzero(np.isin(split, list(noise_splits)))
    noisy = rng.choice(pool, size=int(round(noise_rate * len(pool))), replace=False)
    partner = {classes.index(a): classes.index(b) for a, b in spec.pairs}
    partner.update({b: a for a, b in partner.items()})
    structured = set(noisy[: int(round(structured_share * len(noisy)))].tolist())
    for i in noisy:
        if i in structured and true[i] in partner:
            label[i], noise_kind[i] = partner[true[i]], "structured"
        else:
            label[i] = rng.choice([c for c in range(C) if c != true[i]])
            noise_kind[i] = "uniform"
    seeds = np.random.SeedSequence(seed).generate_state(n, dtype=np.uint32)
    return [{"video_id": f"{spec.name}_{i:05d}", "split": str(split[i]), "label": classes[label[i]],
             "true_label": classes[true[i]], "is_noisy": bool(label[i] != true[i]),
             "noise_kind": noise_kind[i], "is_hard": bool(hard_kind[i]), "hard_kind": hard_kind[i],
             "seed": int(seeds[i])} for i in range(n)]


def envelope(T: int, onset: float, rise: float, hold: float, fall: float) -> np.ndarray:
    """(T,) in [0, 1]: 0 before ``onset``, a smoothstep rise over ``rise`` frames, 1 for
    ``hold`` frames, a smoothstep fall over ``fall`` frames (the offset may lie past the end)."""
    t = np.arange(T, dtype=np.float64)
    up = np.clip((t - onset) / max(rise, 1e-6), 0, 1)
    down = np.clip((t - onset - rise - hold) / max(fall, 1e-6), 0, 1)
    s = lambda x: x * x * (3 - 2 * x)  # noqa: E731
    return s(up) * (1 - s(down))


def smooth_noise(rng: np.random.Generator, T: int, *, knots: int = 5) -> np.ndarray:
    """(T,) a slow random curve in about [-1, 1] (cubic interpolation of random knots)."""
    k = rng.uniform(-1, 1, knots + 3)
    x = np.linspace(1, knots + 1, T)
    i = np.floor(x).astype(int)
    f = x - i
    p0, p1, p2, p3 = k[i - 1], k[i], k[i + 1], k[np.minimum(i + 2, len(k) - 1)]
    return 0.5 * (2 * p1 + (-p0 + p2) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f ** 2
                  + (-p0 + 3 * p1 - 3 * p2 + p3) * f ** 3)


def write_set(out, rows: list[dict], render, *, ext: str, path_of, csv_columns, split_names=None,
              label_case=str, workers: int = 1, fps: int = 16) -> Path:
    """Render every row with ``render(row) -> (T, H, W, 3) uint8`` into ``OUT/data`` (paths
    from ``path_of(row)``), write ``OUT/data/labels.csv`` (``csv_columns`` in that order,
    ``split_names`` renaming splits, ``label_case`` spelling labels) and ``OUT/truth.csv``."""
    out = Path(out)
    data = out / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    for r in rows:
        r["path"] = path_of(r) + ext
    jobs = [(render, r, str(data / r["path"]), fps) for r in rows]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_render_one, jobs, chunksize=8))
    else:
        for j in jobs:
            _render_one(j)
    split_names = split_names or {}
    with open(data / LABELS_FILE, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(csv_columns)
        for r in rows:
            cell = {"path": r["path"], "label": label_case(r["label"]), "video_id": r["video_id"],
                    "split": split_names.get(r["split"], r["split"])}
            w.writerow([cell[c] for c in csv_columns])
    with open(out / TRUTH_FILE, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(TRUTH_COLUMNS))
        w.writeheader()
        for r in rows:  # labels spelled as in labels.csv, so that they match the run's classes
            w.writerow({**{c: r[c] for c in TRUTH_COLUMNS}, "label": label_case(r["label"]),
                        "true_label": label_case(r["true_label"])})
    return out


def _render_one(job) -> None:
    from curation.data.video import write_mp4

    render, row, path, fps = job
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_mp4(path, render(row), fps=fps)


def truth_by_path(videos, truth_rows: list[dict], run):
    """The truth of each of a run's videos (``videos``: its manifest's video_id, path, split),
    matched by path, since ingest gives the videos ids of its own; a SystemExit naming ``run``
    when a video has no truth row."""
    import pandas as pd

    truth = pd.DataFrame(truth_rows).drop(columns=["video_id", "label", "split"])
    out = videos[["video_id", "path", "split"]].merge(truth, on="path", how="left", validate="one_to_one")
    if out["true_label"].isna().any():
        raise SystemExit(f"{int(out['true_label'].isna().sum())} videos of {run} have no truth row")
    return out


def truth_of_run(run, set_dir=None, *, kinds: bool = False):
    """video_id, is_noisy, is_hard, true_label (and with ``kinds`` hard_kind) of every video
    of an audited ``run``: from its manifest (a synthetic run), or, with ``set_dir``, from that
    set's truth.csv matched by path (a run of benchmarks/unseen_sets.py); a SystemExit naming
    the run when neither has it."""
    from curation.runs import RunDir

    cols = ["video_id", "is_noisy", "is_hard", "true_label", *(["hard_kind"] if kinds else [])]
    manifest = RunDir(run).read_manifest().df
    if set_dir is None:
        if "is_noisy" not in manifest.columns:
            raise SystemExit(f"{run} has no truth in its manifest (is_noisy, is_hard): run it on a synthetic "
                             f"set, or give the set's folder as {run}=SET_DIR")
        return manifest[cols]
    return truth_by_path(manifest, read_truth(set_dir), run)[cols]


def run_and_set(text: str) -> tuple[Path, Path | None]:
    """A benchmark's ``RUN`` or ``RUN=SET_DIR`` argument (the truth of an unseen set's run)."""
    run, _, set_dir = text.partition("=")
    return Path(run), Path(set_dir) if set_dir else None


def read_truth(out) -> list[dict]:
    """``OUT/truth.csv`` as dicts with booleans parsed."""
    with open(Path(out) / TRUTH_FILE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["is_noisy"] = r["is_noisy"] == "True"
        r["is_hard"] = r["is_hard"] == "True"
        r["seed"] = int(r["seed"])
    return rows
