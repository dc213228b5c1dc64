"""The bench: label sets for retraining, the verdict lines, measuring, and one tiny end-to-end run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from curation.audit import baselines as B
from curation.pipelines import bench, bench_config, bench_report
from curation.errors import ConfigError, CurationError
from curation.data.manifest import read_manifest
from curation.fileio import read_json
from curation.schema import SPLITS


@pytest.fixture
def audited(fake_run):
    B.run_baselines(fake_run.path, B.BaselinesConfig(methods=["cl_prune_by_noise_rate", "cl_both"]))
    return fake_run


def test_label_variants(audited):
    run = audited.path
    m = read_manifest(run).df
    sc = pd.read_parquet(audited.scores).set_index("video_id")
    train = m["split"] == "train"

    noisy = bench.label_variant(run, run, "noisy", cleanlab_method="cl_prune_by_noise_rate").df
    assert list(noisy["label"]) == list(m["label"])

    ours = bench.label_variant(run, run, "ours", cleanlab_method="cl_prune_by_noise_rate").df.set_index("video_id")
    fixed = [v for v in m.loc[train, "video_id"] if sc.loc[v, "verdict"] == "noisy"]
    assert fixed, "the fake run plants noisy verdicts in train"
    for v in m["video_id"]:
        want = sc.loc[v, "suggested_label"] if v in fixed else m.set_index("video_id").loc[v, "label"]
        assert ours.loc[v, "label"] == want
    # hard videos keep their label
    hard = [v for v in m.loc[train, "video_id"] if sc.loc[v, "verdict"] == "hard"]
    assert all(ours.loc[v, "label"] == m.set_index("video_id").loc[v, "label"] for v in hard)
    assert list(ours.index) == list(m["video_id"])  # the manifest's order: retraining sees the same sequence

    # the exclude policy leaves out train videos flagged noisy or hard-or-noisy, keeps the rest as given
    left_out = set(m.loc[train & m["video_id"].map(sc["verdict"]).isin(["noisy", "hard-or-noisy"]), "video_id"])
    excl = bench.label_variant(run, run, "ours_excluded", cleanlab_method="cl_both").df
    assert set(excl["video_id"]) == set(m["video_id"]) - left_out
    assert list(excl["label"]) == list(m.set_index("video_id").loc[excl["video_id"], "label"])

    bl = pd.read_parquet(audited.baselines)
    flagged = set(bl.loc[bl["cl_both_flag"], "video_id"])
    clean = bench.label_variant(run, run, "cleanlab", cleanlab_method="cl_both").df
    assert len(clean) == len(m) - len(flagged)
    assert not set(clean["video_id"]) & flagged
    assert (clean["split"] == "test").sum() == (m["split"] == "test").sum()  # only train is cleaned

    oracle = bench.label_variant(run, run, "oracle", cleanlab_method="cl_both").df
    assert list(oracle["label"]) == list(m["true_label"])
    with pytest.raises(ConfigError, match="unknown downstream variant 'best'"):
        bench.label_variant(run, run, "best", cleanlab_method="cl_both")


def _tables(ours_f1, cl_f1, ours_hr, cl_hr_at_n, uar, nvh=(0.97, 0.90)):
    det = pd.DataFrame([
        {"config": "default", "method": "ours", "f1": ours_f1, "hard_retention": ours_hr, "hard_ret_at_ours_n": ours_hr,
         "n_flagged": 200, "noisy_vs_hard_auroc": nvh[0]},
        {"config": "default", "method": "cl_both", "f1": cl_f1, "hard_retention": 0.5, "hard_ret_at_ours_n": cl_hr_at_n,
         "n_flagged": 400, "noisy_vs_hard_auroc": nvh[1]},
        {"config": "default", "method": "cl_prune_by_class (in-sample)", "f1": cl_f1 + 0.05, "hard_retention": 1.0,
         "hard_ret_at_ours_n": 1.0, "n_flagged": 100, "noisy_vs_hard_auroc": 0.5},
        {"config": "default", "method": "aum", "f1": 0.99, "hard_retention": 0.0, "hard_ret_at_ours_n": 0.0,
         "n_flagged": 600, "noisy_vs_hard_auroc": nvh[1] - 0.1},
    ])
    down = pd.DataFrame([{"config": "default", "labels": k, "uar": v} for k, v in uar.items()])
    cost = pd.DataFrame([
        {"config": "default", "pipeline": "ours", "wall_s": 100.0, "cpu_s": 190.0, "wall_ratio": 1.0, "cpu_ratio": 1.0},
        {"config": "default", "pipeline": "cl", "wall_s": 250.0, "cpu_s": 380.0, "wall_ratio": 2.5, "cpu_ratio": 2.0},
        {"config": "default", "pipeline": "plain", "wall_s": 80.0, "cpu_s": 95.0, "wall_ratio": 0.8, "cpu_ratio": 0.5},
    ])
    return {"detection": det, "downstream": down, "cost": cost}


def test_criteria_states_numbers_and_verdicts():
    good = bench_report.criteria(_tables(0.80, 0.60, 0.95, 0.70,
                                  {"noisy": 0.5, "ours": 0.70, "cleanlab": 0.60, "oracle": 0.72}))
    text = "\n".join(good)
    # the best cleanlab *filter* on out-of-fold probabilities is cl_both: aum is not a cleanlab
    # filter, and the in-sample row is left out when out-of-fold ones exist
    assert "ours 0.800 vs best cleanlab filter `cl_both` 0.600 (difference +0.200" in text
    assert "Hard retention at our 200 flags: ours 0.950 vs `cl_both`'s top 200 0.700 (difference +0.250" in text
    assert "Noisy-vs-hard AUROC: ours 0.970 vs best baseline `cl_both` 0.900 (difference +0.070" in text
    assert "ours 70.0, noisy 50.0 (+20.0 points" in text and "gap 2.0" in text
    assert text.count("**met**") == 4 and "NOT met" not in text
    assert "cl: 250 s wall, 380 s CPU; our audit 100 s wall, 190 s CPU (0.40x the wall time, 0.50x the CPU" in text
    assert "plain: 80 s wall, 95 s CPU; our audit 100 s wall, 190 s CPU (1.25x the wall time, 2.00x" in text
    bad = "\n".join(bench_report.criteria(_tables(0.55, 0.60, 0.80, 0.85,
                                           {"noisy": 0.5, "ours": 0.52, "cleanlab": 0.65, "oracle": 0.72},
                                           nvh=(0.96, 0.94))))
    assert bad.count("**NOT met**") == 4 and "**met**" not in bad
    assert "difference -0.050" in bad and "(+2.0 points" in bad and "difference +0.020" in bad


def test_profile_rejects_unknown_configs():
    with pytest.raises(ConfigError, match="unknown bench config"):
        bench_config.profile("quick", configs=["easy"])
    assert bench_config.profile("quick").configs == ["default"]
    assert set(bench_config.profile("full").configs) >= {"default", "noise40", "hard40_noise10", "symmetric"}
    full, pixels = bench_config.profile("full"), bench_config.profile("full", pixels=True)
    assert (full.frozen, full.size, full.num_frames) == (True, 64, 48)
    assert (pixels.frozen, pixels.size, pixels.num_frames, pixels.epochs) == (False, 32, 24, 12)
    assert "--pixels" in bench_config.command_line(pixels, "runs/b") and "--pixels" not in bench_config.command_line(full, "runs/b")
    assert "--epochs" not in bench_config.command_line(pixels, "runs/b")  # the profile's own
    assert "--n 300" in bench_config.command_line(bench_config.profile("full", pixels=True, n=300), "runs/b")


@pytest.mark.slow
def test_bench_smoke_end_to_end(tmp_path):
    """The whole orchestration on a very small set (one epoch): tables have every method and
    every label set, numbers lie in their ranges, the files are written."""
    cfg = bench_config.profile("smoke")
    report = tmp_path / "BENCH.md"
    res = bench.run_bench(cfg, tmp_path / "out", report=report, progress=False)
    det, down, cost = res["detection"], res["downstream"], res["cost"]
    methods = set(det["method"])
    assert {"ours", "aum", "loss_gmm", "cartography", "single_clip"} <= methods
    for f in B.CLEANLAB_FILTERS:
        assert f"cl_{f}" in methods and f"cl_{f} (in-sample)" in methods
    assert det.loc[det["method"] == "cl_both", "inputs"].iloc[0].startswith("pred_probs out-of-fold (K=2")
    assert not det[["precision", "recall", "f1", "auroc", "ap", "hard_retention"]].isna().any().any()
    truth = read_manifest(tmp_path / "out" / "default" / "audit").df
    assert (det["n_noisy"] == int(truth.loc[truth["split"] == "train", "is_noisy"].sum())).all()
    assert (det["time_s"] > 0).all() and (det["peak_mb"] > 0).all()
    assert list(down["labels"]) == list(bench.DOWNSTREAM)
    assert down[["uar", "war"]].apply(lambda c: c.between(0, 1)).all().all()
    n_train = down.set_index("labels")["n_train"]
    assert n_train["cleanlab"] < n_train["noisy"] == n_train["ours"] == n_train["oracle"]
    # ours, cleanlab's K-fold heads, one plain training (the noisy retraining), all on the default path
    assert len(cost) == 3 and cost["wall_s"].gt(0).all()
    assert "given-label encoder + embed" in cost.iloc[0]["pipeline"] and "2-fold heads" in cost.iloc[1]["pipeline"]
    assert cost.iloc[1]["wall_ratio"] == pytest.approx(cost.iloc[1]["wall_s"] / cost.iloc[0]["wall_s"])
    assert cost.iloc[2]["wall_s"] == down.set_index("labels").loc["noisy", "wall_s"]
    assert cost["cpu_s"].gt(0).all()
    # the fold heads read the audit network's own embeddings (hard links, not a second encoder)
    audit, kfold = tmp_path / "out" / "default" / "audit", tmp_path / "out" / "default" / "kfold"
    assert (audit / "embeddings.npy").stat().st_ino == (kfold / "embeddings.npy").stat().st_ino
    assert read_json(audit / "config.json")["train"]["frozen"] is True
    # the audit's encoder learned every split's labels; a retraining's never saw test's, so its UAR measures
    assert read_json(audit / "encoder.json")["splits"] == list(SPLITS)
    for variant in bench.DOWNSTREAM:
        assert read_json(audit.parent / f"retrain_{variant}" / "encoder.json")["splits"] == ["train", "val"]
    assert det["hard_ret_at_ours_n"].between(0, 1).all()
    md = report.read_text()
    assert md == (tmp_path / "out" / "BENCHMARKS.md").read_text()
    assert "dfer-curate bench --quick" in md and "torch" in md and "## Verdict per configuration" in md
    assert "### `default`\n\n- F1: ours" in md and "- Curated retraining, test UAR: ours" in md
    # the report again from the saved tables (no training): the same text
    assert bench_report.rerender(tmp_path / "out") == md
    # what an annotator meets, per split of the audit run, judged against the targets
    ver = pd.read_csv(tmp_path / "out" / "verdicts.csv")
    assert set(ver["split"]) == set(truth["split"]) and (ver["config"] == "default").all()
    assert ver["clean_easy_flagged"].between(0, 1).all()
    assert "## What an annotator meets, by split" in md and "- Clean, easy videos sent to review" in md
    assert "truly hard and correctly labelled: train" in md
    (tmp_path / "out" / "verdicts.csv").unlink()  # a bench from before the table: made again from its audit run
    assert bench_report.rerender(tmp_path / "out") == md and (tmp_path / "out" / "verdicts.csv").exists()
    # scoring again (a changed scoring default drops the score record the same way) redoes the
    # steps after it that read the audit, and reuses the retrainings whose labels did not change
    (audit / "bench_step_score.json").unlink()
    again = bench.run_bench(cfg, tmp_path / "out", progress=False)
    resumed = again["info"]["resumed"]["default"]
    assert resumed[:2] == ["step_encoder", "step_audit_train"] and "step_score" not in resumed
    assert "step_folds" not in resumed and resumed.count("step_downstream") == len(bench.DOWNSTREAM)
    pd.testing.assert_frame_equal(again["detection"].drop(columns=["time_s", "peak_mb"]),
                                  det.drop(columns=["time_s", "peak_mb"]))
    with pytest.raises(CurationError, match="lacks detection.csv"):
        bench_report.rerender(tmp_path)
    assert res["model"]["chance"].tolist() == [0.25]  # 4 classes
    log = read_json(tmp_path / "out" / "default" / "audit" / "checkpoints" / "train_log.json")["log"]
    assert res["model"]["heldout_acc"].iloc[0] == max(e["heldout_acc"] for e in log)
    for name in ("detection.csv", "downstream.csv", "cost.csv", "model.csv", "verdicts.csv", "bench.json"):
        assert (tmp_path / "out" / name).exists()


def test_labels_digest_changes_with_a_label_a_split_or_a_video(audited):
    m = read_manifest(audited.path)
    base = bench.labels_digest(m)
    assert bench.labels_digest(read_manifest(audited.path)) == base
    for col, value in (("label", m.classes[0] if m.df["label"].iloc[0] != m.classes[0] else m.classes[1]),
                       ("split", "test" if m.df["split"].iloc[0] != "test" else "train")):
        df = m.df.copy()
        df.loc[0, col] = value
        assert bench.labels_digest(type(m)(df, m.classes, m.root)) != base
    assert bench.labels_digest(type(m)(m.df.iloc[1:], m.classes, m.root)) != base


def test_model_quality_markdown(tmp_path):
    """benchmarks/model_quality.py --md: one row per variant with its numbers, and the command."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import model_quality

    row = {"train_s": 300.0, "score_s": 20.0, "epochs": 25, "best_epoch": 19, "precision": 0.8, "recall": 0.5,
           "f1": 0.615, "auroc": 0.88, "noisy_vs_hard_auroc": 0.75, "hard_retention": 0.92, "relabel_accuracy": 0.9,
           "test_uar": 0.73, "test_war": 0.74,
           "single_clip": {"f1": 0.5, "auroc": 0.8, "noisy_vs_hard_auroc": 0.7, "hard_retention": 0.85}}
    results = {"full": row, "plain": {**row, "f1": 0.5, "single_clip": None}, "total_s": 600.0, "peak_mb": 900.0}
    out = tmp_path / "MQ.md"
    model_quality.write_markdown(results, out, "benchmarks/model_quality.py --n 10")
    text = out.read_text()
    assert "| full | the method as shipped | 320 | 25 (19) | 0.800 | 0.500 | 0.615 | 0.880 | 0.750 |" in text
    assert "| plain |" in text and "| 0.500 | 0.880 |" in text
    assert "benchmarks/model_quality.py --n 10" in text and "total wall time 10.0 min" in text
    assert "one centred clip per video" in text and "F1 0.500, AUROC 0.800, noisy-vs-hard AUROC 0.700" in text
    assert "--frozen" not in text
    # on the default path: the config says so, and is not a row
    model_quality.write_markdown({**results, "train_config": {"frozen": True, "seed": 1}}, out, "x")
    text = out.read_text()
    assert "trains `--frozen` on the run's cached embeddings" in text and "seed 1)" in text
    assert "| train_config |" not in text


def test_model_quality_markdown_over_seeds(tmp_path):
    """--seeds: the main table holds each variant's mean over the seeds, a second table each seed's row."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import model_quality

    def row(f1, hr, epochs):
        return {"train_s": 20.0, "score_s": 4.0, "epochs": epochs, "best_epoch": epochs - 6, "precision": 0.8,
                "recall": 0.7, "f1": f1, "auroc": 0.95, "noisy_vs_hard_auroc": 0.9, "hard_retention": hr,
                "relabel_accuracy": 0.9, "test_uar": 0.85, "test_war": 0.86,
                "single_clip": {"f1": f1 - 0.1, "auroc": 0.9, "noisy_vs_hard_auroc": 0.8, "hard_retention": 0.8}}

    per_seed = {0: {"train_config": {"seed": 0, "frozen": True}, "full": row(0.80, 0.85, 20), "no_robust": row(0.78, 0.90, 22)},
                1: {"train_config": {"seed": 1, "frozen": True}, "full": row(0.84, 0.87, 23), "no_robust": row(0.80, 0.86, 24)}}
    means = model_quality.mean_over_seeds([per_seed[0], per_seed[1]])
    assert means["full"]["f1"] == pytest.approx(0.82) and means["no_robust"]["hard_retention"] == pytest.approx(0.88)
    assert means["full"]["single_clip"]["f1"] == pytest.approx(0.72) and "single_clip" in means["no_robust"]
    results = {"train_config": per_seed[0]["train_config"], "seeds": [0, 1], "per_seed": per_seed, **means,
               "total_s": 120.0, "peak_mb": 500.0}
    out = tmp_path / "MQ.md"
    model_quality.write_markdown(results, out, "benchmarks/model_quality.py --seeds 0,1")
    text = out.read_text()
    assert "Mean over seeds 0, 1" in text and "reads `RUN_seedS`" in text
    assert "| full | the method as shipped | 24 | 22 (16) | 0.800 | 0.700 | 0.820 |" in text  # epochs 21.5 rounds to 22
    assert "| no_robust | 1 | 0.800 | 0.950 | 0.900 | 0.860 |" in text and "| full | 0 | 0.800 |" in text
    assert "(mean over the seeds) with one centred clip per video (no agreement, no dynamics): F1 0.720" in text
    assert "| per_seed |" not in text and "| train_config |" not in text


def test_bench_report_only_names_what_is_missing(tmp_path, capsys):
    from curation import cli

    assert cli.main(["bench", "--report-only", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "lacks detection.csv, downstream.csv, cost.csv, bench.json" in err and "dfer-curate bench --out" in err
