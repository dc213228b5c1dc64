"""Tiny dataset trees in the official layouts (real jpg frames, real video files) for the
ingest and adapter tests. Each builder returns the truth it planted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from curation.data.formats import FERV39K_CLASSES
from curation.schema import DFEW_CLASSES, MAFW_CLASSES
from curation.data.video import write_video


def frames(folder, n: int = 3, size: int = 16, value: int = 0, ext: str = "jpg") -> Path:
    """A frame folder of ``n`` images frame_1..frame_n whose brightness encodes the index."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        img = np.full((size, size, 3), (value + 20 * i) % 256, dtype=np.uint8)
        Image.fromarray(img).save(folder / f"frame_{i}.{ext}")
    return folder


def video(path, n: int = 6, size: int = 16, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (1, size, size, 3))
    vid = np.clip(base + np.arange(n)[:, None, None, None] * 8, 0, 255).astype(np.uint8)
    return write_video(path, vid, fps=8)


def dfew_tree(root, n: int = 10, *, padded: bool = True) -> dict[str, dict]:
    """DFEW layout: 5 folds, video i is a test video in set (i % 5) + 1, label i % 7."""
    root = Path(root)
    truth = {}
    for i in range(n):
        vid = f"{i + 1:05d}"
        truth[vid] = {"label": DFEW_CLASSES[i % 7], "fold": i % 5 + 1, "frames": 2 + i % 3}
        frames(root / "Clip/clip_224x224" / vid, n=truth[vid]["frames"])
    for k in range(1, 6):
        for kind in ("train", "test"):
            lines = ["video_name,label"]
            for vid, t in truth.items():
                if (t["fold"] == k) == (kind == "test"):
                    name = vid if padded else str(int(vid))
                    lines.append(f"{name},{DFEW_CLASSES.index(t['label']) + 1}")
            write_split(root / "EmoLabel_DataSplit" / f"{kind}(single-labeled)" / f"set_{k}.csv", lines)
    return truth


def ferv39k_tree(root, n: int = 8) -> dict[str, dict]:
    root = Path(root)
    truth = {}
    lines = {"train": [], "test": []}
    for i in range(n):
        scene = ("Action", "Daily")[i % 2]
        label = FERV39K_CLASSES[i % 7]
        rel = f"{scene}/{label}/{i:04d}"
        split = "test" if i % 4 == 3 else "train"
        truth[rel.replace("/", "_")] = {"label": label, "split": split, "path": f"2_ClipsforFaceCrop/{rel}"}
        frames(root / "2_ClipsforFaceCrop" / rel, n=3)
        lines[split].append(f"{rel} {label}")
    for split, ls in lines.items():
        write_split(root / "4_setups/All_scenes" / f"{split}_All.csv", ls)
    return truth


def mafw_tree(root, n: int = 11) -> dict[str, dict]:
    root = Path(root)
    truth = {}
    for i in range(n):
        vid = f"{i + 1:05d}"
        truth[vid] = {"label": MAFW_CLASSES[i % 11], "fold": i % 5 + 1}
        if i == 0:  # one video only as a clip file, no frame folder
            video(root / "data/clips" / f"{vid}.mp4", n=5)
        else:
            frames(root / "data/frames" / vid, n=3)
    for k in range(1, 6):
        for kind in ("train", "test"):
            write_split(root / "split/single/no_caption" / f"set_{k}" / f"{kind}.txt",
                        [f"{v}.mp4 {t['label']}" for v, t in truth.items() if (t["fold"] == k) == (kind == "test")])
    return truth


def write_split(path, lines) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
