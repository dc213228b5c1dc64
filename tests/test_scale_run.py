"""benchmarks/scale_run.py: every README stage run as its own measured process, and its report."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import scale_run  # noqa: E402


def test_stage_commands_follow_the_readme_pipeline(tmp_path):
    cmds = scale_run.stage_commands(tmp_path / "r", n=100, size=32, seed=3, workers=1, smoke=False, skip={"push"})
    names = [n for n, _ in cmds]
    assert names == ["synth", "pretrain", "embed", "train", "score", "baselines", "report", "export"]
    args = dict(cmds)
    assert args["synth"][args["synth"].index("--n") + 1] == "100" and "--seed" in args["synth"]
    assert args["pretrain"] == ["pretrain", str(tmp_path / "r"), "--given-labels", "--size", "32"]
    assert args["train"] == ["train", str(tmp_path / "r"), "--frozen"]  # defaults only
    smoke = dict(scale_run.stage_commands(tmp_path / "r", n=100, size=32, seed=3, workers=1, smoke=True, skip=set()))
    assert smoke["pretrain"][-2:] == ["--steps", "20"] and "push" in smoke


def test_bad_options_are_refused(capsys):
    with pytest.raises(SystemExit):
        scale_run.main(["--skip", "dance"])
    assert "unknown stage(s) ['dance']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        scale_run.main(["--smoke", "--md", "x.md"])
    assert "leave out --smoke and --skip" in capsys.readouterr().err


@pytest.mark.slow
def test_small_run_measures_every_stage(tmp_path):
    out = tmp_path / "scale"
    assert scale_run.main(["--n", "60", "--out", str(out), "--smoke", "--skip", "push", "--workers", "1",
                           "--json", str(tmp_path / "s.json")]) == 0
    res = json.loads((tmp_path / "s.json").read_text())
    assert [r["stage"] for r in res["stages"]] == ["synth", "pretrain", "embed", "train", "score", "baselines",
                                                   "report", "export"]
    for r in res["stages"]:
        assert r["wall_s"] >= 0 and r["peak_mb"] > 50 and r["disk_mb"] > 0  # a Python process, a run on disk
        assert "RUN" in r["command"] and str(out) not in r["command"]
    assert res["stages"][2]["disk_mb"] > res["stages"][0]["disk_mb"]  # embeddings were written
    q = res["quality"]
    from curation.data.manifest import read_manifest

    assert sum(q["verdicts"].values()) == int((read_manifest(out).df["split"] == "train").sum())  # every train video
    assert 0 <= q["train"]["auroc"] <= 1 and set(q["clean_easy_flagged"]) == {"train", "val", "test"}
    md = tmp_path / "S.md"
    scale_run.write_markdown(md, res)
    text = md.read_text()
    assert "| pretrain | `dfer-curate pretrain RUN --given-labels --size 32 --steps 20` |" in text
    assert "All stages: **" in text and "noisy-vs-hard AUROC" in text
    from curation.pipelines.bench import cpu_model

    assert f"CPUs ({cpu_model()})" in text and cpu_model()  # timings name the processor they ran on
