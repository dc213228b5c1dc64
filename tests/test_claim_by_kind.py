"""benchmarks/claim_by_kind.py: the claim's noisy-vs-hard AUROC split by kind of hard video,
ours against every baseline of a run, and the bound of choosing the best score per kind."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import claim_by_kind  # noqa: E402


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    from curation.audit.baselines import run_baselines
    from curation.data.manifest import read_manifest, write_manifest
    from tests.fakerun import make_fake_run

    run = make_fake_run(tmp_path_factory.mktemp("kinds") / "run", n=48, seed=3)
    m = read_manifest(run.path)  # two kinds of hard video, alternating
    hard = np.flatnonzero(m.df["is_hard"].to_numpy(bool))
    m.df.loc[hard[::2], "hard_kind"] = "blend"
    write_manifest(run.path, m)
    run_baselines(run.path)
    return run


def test_each_kind_and_the_lead_agree_with_the_detection_table(audited):
    from curation.audit.compare import side_by_side

    d, same = claim_by_kind.set_table([(audited.path, None)])
    assert {"blend", "subtle"} <= set(d.columns) and d.index[-1] == "best per kind"
    assert d.drop(index="best per kind")["all"].is_monotonic_decreasing
    det = side_by_side(audited.path).set_index("method")["noisy_vs_hard_auroc"]
    for m in d.index[:-1]:  # pooled over kinds = the claim's number of the bench's table
        assert d.loc[m, "all"] == pytest.approx(det[m])
    for m, twin in same.items():  # left out only as a copy of a row kept
        assert twin in d.index and det[m] == pytest.approx(det[twin])
    kinds = ["blend", "subtle"]
    assert (d.loc["best per kind", kinds] == d.drop(index="best per kind")[kinds].max()).all()
    lead = claim_by_kind.lead_row(d)
    assert lead["all"] == pytest.approx(d.loc["ours", "all"] - d.drop(index=["ours", "best per kind"])["all"].max())


def test_report_has_the_summary_and_a_table_per_set(audited):
    text = claim_by_kind.report([("fake", [(audited.path, None)]), ("again", [(audited.path, None)] * 2)], "--set x")
    assert text.index("## Summary") < text.index("## fake") < text.index("## again")
    summary = [line for line in text.splitlines() if line.startswith("| fake |") or line.startswith("| again |")]
    assert len(summary) == 2 and summary[0].split("|")[3:] == summary[1].split("|")[3:]  # a run twice = once
    assert "lead (ours - best baseline)" in text


def test_a_set_without_runs_is_refused(capsys):
    with pytest.raises(SystemExit):
        claim_by_kind.main(["--set", "lonely", "--md", "x.md"])
    assert "--set lonely names no run" in capsys.readouterr().err
