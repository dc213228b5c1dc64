"""Measuring and resuming the bench's steps: timings, traced peaks, records keyed by what a step depends on."""

from __future__ import annotations

import numpy as np

from curation.audit.agreement import TriageConfig
from curation.pipelines import bench, bench_config
from curation.pipelines import bench_measure as M
from curation.schema import SPLITS


def test_measure_reports_time_and_traced_peak():
    import time

    out, wall, peak = M.measure(lambda n: (time.sleep(0.02), np.ones(n).sum())[1], 4_000_000)
    assert out == 4_000_000
    assert wall >= 0.02  # the plain run is timed, not the traced one
    assert 25 < peak < 200  # 32 MB of float64 was allocated


def probe_step(run_dir: str, cfg, labels: str = "") -> dict:
    """A stand-in step for the resume test (a real function the child entry imports by name)."""
    return {"n": cfg.n}


PROBE = "tests.test_bench_measure.probe_step"


def test_steps_record_and_resume_only_with_same_settings(tmp_path):
    cfg = bench_config.profile("smoke")
    out, wall, peak, cpu = M.child_entry(PROBE, (str(tmp_path), cfg), {})
    assert out == {"n": cfg.n} and wall > 0 and peak > 0
    assert (tmp_path / "bench_probe_step.json").exists()
    rec = M.resume_record(PROBE, (str(tmp_path), cfg))
    assert rec == (out, wall, peak, cpu)
    # settings that do not change the step still resume; ones that do, do not
    assert M.resume_record(PROBE, (str(tmp_path), bench_config.profile("smoke", downstream=False)))
    assert M.resume_record(PROBE, (str(tmp_path), bench_config.profile("smoke", epochs=3))) is None
    assert M.resume_record(PROBE, (str(tmp_path / "other"), cfg)) is None
    # a retraining is keyed by its labels' digest too
    M.child_entry(PROBE, (str(tmp_path), cfg, "digest-a"), {})
    assert M.resume_record(PROBE, (str(tmp_path), cfg, "digest-a")) is not None
    assert M.resume_record(PROBE, (str(tmp_path), cfg, "digest-b")) is None
    # the audit's trainings are keyed by the resolved TrainConfig and the triage cuts, the
    # encoder by its config: a changed default (here the hard cut, the encoder's splits) trains again
    settings = bench.training_settings(cfg)
    assert settings["triage"]["hard_agree"] == TriageConfig().hard_agree and settings["train"]["seed"] == cfg.seed
    M.child_entry(PROBE, (str(tmp_path), cfg, settings), {})
    assert M.resume_record(PROBE, (str(tmp_path), cfg, bench.training_settings(cfg)))
    older = {**settings, "triage": {**settings["triage"], "hard_agree": 0.75}}
    assert M.resume_record(PROBE, (str(tmp_path), cfg, older)) is None
    enc = bench.encoder_settings(cfg)
    assert enc["splits"] == list(SPLITS) and bench.encoder_settings(cfg, splits=("train", "val"))["splits"] != enc["splits"]
