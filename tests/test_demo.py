"""The demo runs every stage end to end on a tiny synthetic set (push included, against the
private mongod of the fiftyone_db fixture) and leaves each artifact where it says."""

import pandas as pd
import pytest

from curation.pipelines.demo import DemoConfig, run_demo
from curation.data.manifest import read_manifest
from curation.runs import RunDir
from curation.schema import VERDICTS

pytestmark = pytest.mark.usefixtures("fiftyone_db")


@pytest.mark.slow
def test_demo_runs_every_stage(tmp_path, capsys):
    out = tmp_path / "demo"
    times = run_demo(out, DemoConfig(n=70, size=32, num_frames=24, epochs=2, encoder_steps=20,
                                     dataset="dfer-curate-demo-test"))
    assert list(times) == ["synth", "ingest", "pretrain", "embed", "train", "score", "baselines", "push", "export",
                           "report"]
    run = RunDir(out)
    for path in (run.manifest, run.scores, run.clip_probs, run.dynamics, run.baselines, run.report,
                 run.path / "encoder.pt", run.path / "embeddings.npy"):
        assert path.exists(), path
    assert run.load_config()["train"]["frozen"] is True  # the network trained on the embeddings
    scores = pd.read_parquet(run.scores)
    assert len(scores) == 70 and set(scores["verdict"]) <= set(VERDICTS)
    # the same videos came through the generic CSV ingest with the same labels
    ingested = read_manifest(tmp_path / "demo-ingested")
    synth = read_manifest(out)
    assert ingested.df.set_index("video_id")["label"].equals(synth.df.set_index("video_id")["label"])
    exports = list(run.exports.iterdir())
    assert len(exports) == 1 and (exports[0] / "provenance.json").exists()
    page = run.report.read_text(encoding="utf-8")  # written after the export: it lists it
    assert f"data-export='{exports[0].name}'" in page and "No exports yet" not in page
    text = capsys.readouterr().out
    assert f"dfer-curate browse {out}" in text
    assert f"dfer-curate review {out}" in text

    import fiftyone as fo

    assert len(fo.load_dataset("dfer-curate-demo-test")) == 70


@pytest.mark.slow
def test_demo_runs_twice_but_keeps_review_decisions(tmp_path, capsys):
    """`make demo` is idempotent: a rerun replaces the demo's own export; a decision an
    annotator made in the demo run is never deleted (synth refuses, naming the fix)."""
    from curation.review.decisions import DecisionLog
    from curation.errors import RunError

    out = tmp_path / "demo"
    cfg = DemoConfig(n=70, size=32, num_frames=24, epochs=1, push=False, given_encoder=False)
    run_demo(out, cfg)
    first = list(RunDir(out).exports.iterdir())
    run_demo(out, cfg)
    second = list(RunDir(out).exports.iterdir())
    assert len(first) == 1 and len(second) == 1
    vid = pd.read_parquet(RunDir(out).scores)["video_id"].iloc[0]
    DecisionLog.for_run(out).record(video_id=vid, action="exclude", annotator="ann")
    with pytest.raises(RunError, match="annotators' work"):
        run_demo(out, cfg)
    assert DecisionLog.for_run(out).stamp()[0] == 1
