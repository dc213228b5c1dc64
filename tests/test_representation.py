"""benchmarks/representation.py: probes on frozen features and the report it writes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import frozen_training  # noqa: E402
import representation  # noqa: E402


def test_probe_reads_a_linear_signal_and_not_noise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    f = rng.normal(0, 1, (400, 16))
    f[:, 0] += 6 * y  # the class is linear in one feature
    good = representation.probe(f[:300], y[:300], f[300:], y[300:], seed=0)
    assert good.linear > 0.9 and good.mlp > 0.8
    noise = representation.probe(f[:300, 1:], y[:300], f[300:, 1:], y[300:], seed=0)
    assert noise.linear < 0.5


def test_end_to_end_writes_every_candidate_at_every_size(tmp_path, capsys):
    md = tmp_path / "R.md"
    md.write_text("old\n" + frozen_training.BEGIN + "\nkept section\n" + frozen_training.END + "\n")
    rc = representation.main(["--sizes", "20,40", "--test-faces", "20", "--corpus-n", "47", "--steps", "2",
                              "--sup-steps", "2", "--candidates", "diff,random,supervised,neutral_code",
                              "--workers", "1", "--md", str(md)])
    assert rc == 0
    text = md.read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| candidate")]
    assert [r.split(" | ")[0][2:] for r in rows[:4]] == ["diff", "random", "supervised", "neutral_code"]
    for r in rows[:4]:
        cells = r.strip("| ").split(" | ")[1:5]
        assert all(0.0 <= float(c) <= 1.0 for c in cells)
    assert "kept section" in text and "old" not in text.split("\n")[0]


def test_frozen_section_replaces_only_itself(tmp_path):
    md = tmp_path / "R.md"
    md.write_text("# probes\n")
    r = dict(total_s=60, pretrain_s=10, pretrain_frames=100, embed_s=2, embed_fps=50, pixel_epoch_s=10,
             frozen_epoch_s=1, frozen_train_s=5, frozen_epochs=3, auroc=0.9, f1=0.5, precision=0.5, recall=0.5,
             hard_retention=0.9, heldout=0.5)

    class A:
        threads = 1

    from model.pretrain import PretrainConfig

    frozen_training.write_section(md, A, PretrainConfig(), r, "--run x")
    frozen_training.write_section(md, A, PretrainConfig(), {**r, "auroc": 0.8}, "--run x")
    text = md.read_text()
    assert text.startswith("# probes") and text.count(frozen_training.BEGIN) == 1
    assert "| 0.800 |" in text and "10.0x faster" in text
