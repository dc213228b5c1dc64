"""A small, schema-conformant run directory for tests of downstream stages (push, review,
export, report) that must not wait for a model to train. Videos are real H.264 mp4 files;
scores are drawn from planted truth with a seed, not from a model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from curation.fileio import write_json, write_parquet
from curation.data.manifest import Manifest, write_manifest
from curation.runs import RunDir
from curation.data.video import write_mp4

FAKE_CLASSES = ["happy", "sad", "neutral", "angry"]


def make_fake_run(run_dir, *, n: int = 24, clips: int = 4, frames: int = 16, size: int = 32,
                  seed: int = 0, epochs: int = 3) -> RunDir:
    rng = np.random.default_rng(seed)
    run = RunDir(run_dir)
    videos = run.path / "videos"
    C = len(FAKE_CLASSES)
    true = rng.integers(0, C, n)
    kind = rng.choice(["clean", "hard", "noisy"], size=n, p=[0.6, 0.2, 0.2])
    given = true.copy()
    noisy = kind == "noisy"
    given[noisy] = (true[noisy] + rng.integers(1, C, noisy.sum())) % C
    rows = []
    for i in range(n):
        rel = f"{i:04d}.mp4"
        base = np.array([60 * true[i] % 255, 80, 200 - 40 * true[i]], dtype=np.uint8)
        vid = np.broadcast_to(base, (frames, size, size, 3)).copy()
        vid[:, : size // 2, :, 0] = np.linspace(0, 255, frames, dtype=np.uint8)[:, None, None]
        write_mp4(videos / rel, vid, fps=8)
        rows.append({
            "video_id": f"v{i:04d}", "path": rel, "label": FAKE_CLASSES[given[i]],
            "split": "train" if i < n * 3 // 4 else "test", "num_frames": frames, "source": "fake",
            "true_label": FAKE_CLASSES[true[i]], "is_noisy": bool(noisy[i]),
            "is_hard": kind[i] == "hard", "hard_kind": "subtle" if kind[i] == "hard" else "",
        })
    manifest = Manifest(pd.DataFrame(rows), FAKE_CLASSES, videos)
    write_manifest(run.path, manifest)

    # clip probabilities: clean -> on the label; noisy -> agree on the true class; hard -> split
    clip_probs = np.full((n, clips, C), 0.05)
    for i in range(n):
        for k in range(clips):
            if kind[i] == "clean":
                c = given[i]
            elif kind[i] == "noisy":
                c = true[i]
            else:
                c = given[i] if k % 2 == 0 else (given[i] + 1) % C
            clip_probs[i, k, c] = 0.85
    clip_probs /= clip_probs.sum(-1, keepdims=True)
    np.save(run.clip_probs, clip_probs)
    mean = clip_probs.mean(1)
    arg = clip_probs.argmax(-1)
    consensus = np.array([np.bincount(a, minlength=C).argmax() for a in arg])
    agree_label = (arg == given[:, None]).mean(1)
    agree_mode = (arg == consensus[:, None]).mean(1)
    label_prob = mean[np.arange(n), given]
    margin = mean[np.arange(n), consensus] - label_prob
    verdict = np.where(kind == "noisy", "noisy", np.where(kind == "hard", "hard", "clean"))
    scores = pd.DataFrame({
        "video_id": [r["video_id"] for r in rows],
        "split": [r["split"] for r in rows],
        "label": [FAKE_CLASSES[g] for g in given],
        "pred_label": [FAKE_CLASSES[m] for m in mean.argmax(1)],
        "pred_conf": mean.max(1),
        "label_prob": label_prob,
        "agree_label": agree_label,
        "agree_mode": agree_mode,
        "consensus_label": [FAKE_CLASSES[c] for c in consensus],
        "margin": margin,
        "noise_score": np.clip(0.5 + margin / 2, 0, 1),
        "hardness": 1 - agree_mode,
        "verdict": verdict,
        "suggested_label": [FAKE_CLASSES[c] for c in consensus],
    })
    write_parquet(run.scores, scores)
    dyn = []
    for e in range(epochs):
        for i in range(n):
            dyn.append({
                "epoch": e, "video_id": f"v{i:04d}", "agree_label": float(agree_label[i]),
                "agree_mode": float(agree_mode[i]), "consensus_label": FAKE_CLASSES[consensus[i]],
                "margin": float(margin[i]), "loss": float(-np.log(label_prob[i])),
                "logit_margin": float(-margin[i] * 4), "label_prob": float(label_prob[i]),
                "verdict": verdict[i],
            })
    write_parquet(run.dynamics, pd.DataFrame(dyn))
    return run


def add_clip_layout(run: RunDir, *, frames: int = 16, span: int = 4) -> RunDir:
    """What the score stage writes beside the scores (clip_starts.npy, saliency.parquet and
    config.json's clip settings): the uniform clips in order, the last clip a key-expression
    clip appended out of order, and a per-frame saliency bump around it."""
    scores = pd.read_parquet(run.scores)
    n, clips = np.load(run.clip_probs).shape[:2]
    uniform = np.linspace(0, frames - span, clips - 1).round().astype(np.int64)
    key = (frames - span) // 3
    np.save(run.clip_starts, np.tile(np.append(uniform, key), (n, 1)))
    t = np.arange(frames)
    write_parquet(run.saliency, pd.DataFrame({
        "video_id": np.repeat(scores["video_id"].to_numpy(), frames), "frame": np.tile(t, n),
        "saliency": np.tile(np.exp(-0.5 * ((t - key - span / 2) / 2.0) ** 2), n).astype(np.float32)}))
    write_json(run.config, {"train": {"frames": span, "stride": 1, "window": 3},
                            "score": {"uniform_clips": clips - 1, "key_clips": 1}})
    return run
