"""benchmarks/resolution.py: the given-label training faces and the report it writes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import resolution  # noqa: E402


def test_given_label_faces_are_the_train_splits_most_salient_frames_with_given_labels():
    from curation.data.synth import SynthConfig, sample_truth

    cfg = SynthConfig(n=47, seed=3)
    out = resolution.given_label_faces(cfg, 16, 3, workers=1)
    truth = sample_truth(cfg)
    train = truth[truth["split"].astype(str) == "train"]
    assert out["x"].shape == (3 * len(train), 2, 16, 16) and out["x"].dtype == np.float32
    index = {c: i for i, c in enumerate(cfg.classes)}
    assert np.array_equal(out["y"], np.repeat(train["label"].map(index).to_numpy(), 3))  # given, not true
    assert out["noise"] == np.mean(train["label"] != train["true_label"]) > 0
    every_split = resolution.given_label_faces(cfg, 16, 3, workers=1, splits=("train", "val", "test"))
    assert np.array_equal(every_split["y"], np.repeat(truth["label"].map(index).to_numpy(), 3))
    train_val = truth[truth["split"].astype(str).isin(["train", "val"])]
    assert len(resolution.given_label_faces(cfg, 16, 3, workers=1, splits=("train", "val"))["y"]) == 3 * len(train_val)
    assert resolution.split_key(("train", "val", "test")) == "_all" and resolution.split_key(("train", "val")) == "_train-val"
    assert resolution.split_words("train,val") == "train and val" and resolution.split_words("all") == "train, val and test"
    # the frames kept are the ones that moved most from the video's first frames
    from model.data import frame_saliency

    row = int(np.flatnonzero(truth["split"].astype(str).to_numpy() == "train")[0])
    job = truth.iloc[row], row, 16
    kept, neutral = resolution._salient_frames((cfg, *job), per_video=3)
    every, _ = resolution._salient_frames((cfg, *job), per_video=cfg.num_frames)  # all frames, in order
    assert neutral.shape == (16, 16) and np.allclose(neutral, every[:3].mean(0))
    top = np.sort(np.argsort(-frame_saliency(every), kind="stable")[:3])
    assert np.array_equal(kept, every[top])
    spread, _ = resolution._salient_frames((cfg, *job), per_video=3, gap=2)  # as score --cross-fit picks them
    where = [int(np.flatnonzero((every == f).all(axis=(1, 2)))[0]) for f in spread]
    assert len(spread) == 3 and np.diff(where).min() >= 2


def test_end_to_end_writes_both_sizes_and_every_candidate(tmp_path):
    md = tmp_path / "RES.md"
    rc = resolution.main(["--px", "16,24", "--sizes", "27", "--test-faces", "20", "--steps", "2", "--given-steps", "2",
                          "--per-video", "2", "--workers", "1", "--n", "47", "--md", str(md)])
    assert rc == 0
    text = md.read_text()
    for px in (16, 24):
        for cand in ("diff", "true_labels", "given_labels", "given_labels_gce"):
            assert f"| {px} | {cand} |" in text
    assert "--px 16,24" in text
