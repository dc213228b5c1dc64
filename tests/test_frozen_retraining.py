"""benchmarks/frozen_retraining.py: the label sets it retrains on and the table it writes."""

import sys
from pathlib import Path

import pandas as pd

from curation.data.manifest import read_manifest
from curation.fileio import write_parquet
from tests.fakerun import make_fake_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import frozen_retraining  # noqa: E402


def test_label_sets_relabel_remove_or_restore_and_share_the_frames(tmp_path):
    run = make_fake_run(tmp_path / "audit", n=40, frames=16, size=16)
    (run.path / "cache").mkdir(exist_ok=True)
    given = read_manifest(run.path).df.set_index("video_id")
    scores = pd.read_parquet(run.scores).set_index("video_id")
    train_ids = given.index[given["split"] == "train"]
    flag = pd.Series(False, index=train_ids)
    flag.iloc[:3] = True
    write_parquet(run.baselines, pd.DataFrame({"video_id": train_ids, "cl_prune_by_class_flag": flag.to_numpy()}))

    ours = frozen_retraining.make_variant_run(run.path, "ours", tmp_path / "ours", cleanlab_method="cl_prune_by_class")
    assert (ours / "cache").is_symlink() and (ours / "cache").resolve() == (run.path / "cache").resolve()
    labels = read_manifest(ours).df.set_index("video_id")["label"]
    noisy = scores.index[(scores["verdict"] == "noisy") & (scores["split"] == "train")]
    assert len(noisy) and (labels.loc[noisy] == scores.loc[noisy, "suggested_label"]).all()
    ch = frozen_retraining.changed_labels(run.path, ours)
    assert ch["removed"] == 0 and ch["train_videos"] == len(train_ids)
    assert ch["relabelled"] == int((scores.loc[noisy, "suggested_label"] != given.loc[noisy, "label"]).sum())
    assert ch["wrong_before"] == int((given.loc[train_ids, "label"] != given.loc[train_ids, "true_label"]).sum())

    cl = frozen_retraining.make_variant_run(run.path, "cleanlab", tmp_path / "cl", cleanlab_method="cl_prune_by_class")
    assert frozen_retraining.changed_labels(run.path, cl)["removed"] == 3
    oracle = frozen_retraining.make_variant_run(run.path, "oracle", tmp_path / "or", cleanlab_method="cl_prune_by_class")
    assert frozen_retraining.changed_labels(run.path, oracle)["wrong_labels"] == 0


def test_table_states_the_gain_and_the_target(tmp_path):
    class Args:
        threads, cleanlab = 1, "cl_prune_by_class"

    row = dict(train_videos=100, removed=0, relabelled=0, wrong_labels=20, wrong_before=20, war=0.7)
    rows = [dict(row, variant="noisy", uar=0.70), dict(row, variant="ours", uar=0.745, relabelled=15, wrong_labels=8),
            dict(row, variant="oracle", uar=0.76, wrong_labels=0)]
    md = tmp_path / "R.md"
    frozen_retraining.write_markdown(md, rows, Path("runs/a"), Args, 60, "--audit runs/a")
    text = md.read_text()
    assert "| ours | 0 | 100 | 0 | 15 | 8 (of 20 given) | 0.745 | 0.700 | +4.5 points |" in text
    assert "+4.5 points above noisy, 1.5 below the oracle: met." in text
    rows[1]["uar"] = 0.72
    frozen_retraining.write_markdown(md, rows, Path("runs/a"), Args, 60, "--audit runs/a")
    assert "+2.0 points above noisy, 4.0 below the oracle: **not met**." in md.read_text()


def test_several_seeds_give_each_label_set_its_range_and_judge_the_means(tmp_path):
    class Args:
        threads, cleanlab = 1, "cl_prune_by_class"

    row = dict(train_videos=100, removed=0, relabelled=0, wrong_labels=20, wrong_before=20, war=0.7)
    uar = {("noisy", 0): 0.70, ("ours", 0): 0.76, ("oracle", 0): 0.78,
           ("noisy", 1): 0.74, ("ours", 1): 0.72, ("oracle", 1): 0.78}
    rows = [dict(row, variant=v, seed=s, uar=u) for (v, s), u in uar.items()]
    md = tmp_path / "R.md"
    frozen_retraining.write_markdown(md, rows, Path("runs/a"), Args, 60, "--audit runs/a --seeds 0,1")
    text = md.read_text()
    assert "| ours | 1 | 100 | 0 | 0 | 20 (of 20 given) | 0.720 | 0.700 | -2.0 points |" in text  # against seed 1's noisy
    assert "| ours | 0.740 | 0.720 | 0.760 |" in text and "| noisy | 0.720 | 0.700 | 0.740 |" in text
    assert "Measured (means over the seeds): +2.0 points above noisy, 4.0 below the oracle: **not met**." in text
