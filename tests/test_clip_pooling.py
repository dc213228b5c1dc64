"""benchmarks/clip_pooling.py: the side-by-side table, its means and the markdown; one slow
end-to-end run on a tiny synthetic set (real encoder, network and scoring)."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import clip_pooling  # noqa: E402


def _row(run, pooling, f1, nvh, lead):
    return {"run": run, "pooling": pooling, "n_flagged": 10.0, "precision": 0.5, "recall": 0.5, "f1": f1,
            "auroc": 0.9, "noisy_vs_hard_auroc": nvh, "hard_retention": 0.8, "best baseline": "aum 0.900",
            "lead": lead}


def test_mean_rows_average_each_pooling_over_the_runs():
    table = pd.DataFrame([_row("a", "mean", 0.8, 0.90, 0.00), _row("a", "certainty", 0.9, 0.92, 0.02),
                          _row("b", "mean", 0.6, 0.80, -0.02), _row("b", "certainty", 0.7, 0.86, 0.04)])
    rows = clip_pooling.mean_rows(table)
    assert list(rows.columns) == list(table.columns)
    mean = rows.set_index("pooling")
    assert mean.loc["mean", "f1"] == pytest.approx(0.7) and mean.loc["certainty", "f1"] == pytest.approx(0.8)
    assert mean.loc["certainty", "lead"] == pytest.approx(0.03) and mean.loc["mean", "run"] == "mean"


def test_markdown_names_the_command_and_the_default(tmp_path):
    table = pd.DataFrame([_row("fz", "mean", 0.8, 0.90, 0.0), _row("fz", "certainty", 0.9, 0.92, 0.02)])
    out = tmp_path / "P.md"
    clip_pooling.write_markdown(out, table, "certainty", command="--runs runs/fz --md P.md", minutes=1.0, threads=1)
    text = out.read_text()
    assert ".venv/bin/python benchmarks/clip_pooling.py --runs runs/fz --md P.md" in text
    assert "Default: `certainty`" in text
    assert "| fz | certainty | 10 | 0.500 | 0.500 | 0.900 |" in text and "| mean | certainty | 10 |" in text


def test_a_run_without_truth_is_refused_by_name(tmp_path):
    from curation.data.manifest import Manifest, write_manifest

    df = pd.DataFrame({"video_id": ["v0", "v1"], "path": ["a.mp4", "b.mp4"], "label": ["x", "y"],
                       "split": ["train", "train"], "num_frames": [16, 16], "fps": [25.0, 25.0]})
    write_manifest(tmp_path, Manifest(df, ["x", "y"], tmp_path))
    with pytest.raises(SystemExit, match="has no truth in its manifest"):
        clip_pooling.truth_frame(tmp_path, None)


@pytest.mark.slow
def test_end_to_end_scores_each_pooling_and_leaves_the_default(tmp_path):
    import cross_fit_stack
    from curation.data.synth import SynthConfig, generate
    from curation.runs import RunDir

    run = tmp_path / "run"
    generate(run, SynthConfig(n=60, size=32, num_frames=16, seed=3))
    cross_fit_stack.audit_path(run, seed=0, threads=1, encoder_steps=3)
    md = tmp_path / "P.md"
    assert clip_pooling.main(["--runs", str(run), "--md", str(md)]) == 0
    text = md.read_text()
    assert "| run | mean |" in text and "| run | certainty |" in text
    assert RunDir(run).load_config()["score"]["clip_pooling"] == "certainty"
