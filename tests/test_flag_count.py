"""benchmarks/flag_count.py: our triage re-run on a bench's saved outputs with two noise-rate estimates."""

import sys
from pathlib import Path

import pytest

from curation.pipelines import bench, bench_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import flag_count  # noqa: E402


@pytest.mark.slow
def test_rates_compared_on_a_smoke_bench(tmp_path, capsys):
    cfg = bench_config.profile("smoke", downstream=False)
    bench.run_bench(cfg, tmp_path / "out", progress=False)
    rows = flag_count.rates_compared(tmp_path / "out" / "default" / "audit")
    assert [r["rates"] for r in rows] == ["in-sample clip probabilities", "confident joint, out-of-fold"]
    for r in rows:
        assert 0 <= r["mean_rate"] <= 1 and 0 <= r["true_rate"] <= 1
        assert r["or_undecided_n_flagged"] >= r["n_flagged"]  # hard-or-noisy adds to the noisy flags
        assert 0 <= r["hard_retention"] <= 1
    assert flag_count.main(["--bench", str(tmp_path / "out")]) == 0
    assert "confident joint, out-of-fold" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no audit run with out-of-fold probabilities"):
        flag_count.main(["--bench", str(tmp_path / "empty")])
