"""benchmarks/data_ceiling.py: the upper bound and learning curve behind issue 3's targets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import data_ceiling  # noqa: E402


def test_fit_predict_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 128)
    x = rng.normal(0, 0.3, (128, 2, 16, 16)).astype(np.float32)
    x[:, 1] += np.where(y == 1, 1.0, -1.0)[:, None, None]  # the class is in the difference channel
    probs = data_ceiling.fit_predict(x[:96], y[:96], x[96:], 2, steps=40, seed=0)
    assert probs.shape == (32, 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert np.mean(probs.argmax(1) == y[96:]) >= 0.9
    again = data_ceiling.fit_predict(x[:96], y[:96], x[96:], 2, steps=40, seed=0)
    np.testing.assert_allclose(probs, again, atol=1e-6)  # seeded


def test_end_to_end_writes_the_tables(tmp_path, capsys):
    md = tmp_path / "DC.md"
    rc = data_ceiling.main(["--n", "70", "--curve", "20,40", "--test-faces", "20", "--seeds", "1", "--steps", "4",
                            "--workers", "1", "--md", str(md)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "ceiling:" in printed and printed.count("curve:") == 2
    text = md.read_text()
    assert "--n 70 --curve 20,40" in text
    table = [ln for ln in text.splitlines() if ln.startswith("| 0.") or ln.startswith("| 1.")]
    assert len(table) == 2 and all(0.0 <= float(v) <= 1.0 for row in table for v in row.strip("| ").split(" | "))
    claim = text.split("## Ceiling for the claim")[1].splitlines()
    header = next(ln for ln in claim if ln.startswith("| all |"))
    kinds = header.strip("| ").split(" | ")[1:]
    assert kinds and set(kinds) <= {"subtle", "brief", "blend", "occluded", "distractor"}
    assert len(table[1].strip("| ").split(" | ")) == 1 + len(kinds)
    assert "| 20 |" in text and "| 40 |" in text and "easy Sad/Neutral error" in text
