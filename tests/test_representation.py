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
    begin, end = frozen_training.MARKERS["self_supervised"]
    md.write_text("old\n" + begin + "\nkept section\n" + end + "\n")
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


def test_frozen_sections_replace_only_themselves_and_average_the_seeds(tmp_path):
    import pandas as pd

    from model.given_encoder import GivenEncoderConfig
    from model.pretrain import PretrainConfig

    md = tmp_path / "R.md"
    md.write_text("# probes\n")

    def seed_result(seed, auroc, ours_nvh, cl_nvh):
        table = pd.DataFrame({"method": ["ours", "cl_both"], "n_flagged": [10, 12], "f1": [0.5, 0.4],
                              "auroc": [auroc, 0.9], "noisy_vs_hard_auroc": [ours_nvh, cl_nvh]})
        return dict(seed=seed, pretrain_s=10, pretrain_frames=100, embed_s=2, embed_fps=50, pixel_epoch_s=10,
                    frozen_epoch_s=1, frozen_train_s=5, frozen_epochs=3, auroc=auroc, f1=0.5, precision=0.5,
                    recall=0.5, hard_retention=0.9, heldout=0.5, test_uar=0.7, table=table,
                    by_split=pd.DataFrame({"split": ["train", "test"], "n": [10, 4], "clean_easy_flagged": [0.01, seed],
                                           "hard_precision": [0.5, 0.25], "auroc": [auroc, float("nan")]}))

    class Args:
        threads = 1
        encoder = "self_supervised"
        given_splits = given_loss = steps = None

    ssl = [{**seed_result(0, 0.9, 0.8, 0.7), "config": PretrainConfig()}]
    frozen_training.write_section(md, Args, ssl, 60, "--run x")
    ssl[0]["auroc"] = 0.8
    frozen_training.write_section(md, Args, ssl, 60, "--run x")
    Args.encoder = "given_labels"
    given = [{**seed_result(0, 0.96, 0.9, 0.8), "config": GivenEncoderConfig()},
             {**seed_result(1, 0.93, 0.8, 0.9), "config": GivenEncoderConfig()}]
    frozen_training.write_section(md, Args, given, 60, "--run y --seeds 0,1")
    Args.noise_splits, Args.given_splits = "train,val,test", "train,val,test"  # other settings: their own section
    seen = [{**g, "test_uar_held_out": False} for g in given]  # the encoder learned the test labels
    frozen_training.write_section(md, Args, seen, 60, "--run z --noise-splits train,val,test")
    text = md.read_text()
    from curation.pipelines.bench_report import SEEN_NOTE

    assert text.count("test UAR† |") == 1 and text.count(SEEN_NOTE) == 1  # only that section's UAR is marked
    for begin, _ in frozen_training.MARKERS.values():
        assert text.count(begin) == 1
    assert text.count("<!-- frozen_training given_labels noise_splits=train,val,test given_splits=train,val,test: "
                      "begin -->") == 1
    assert "(default synthetic set; noise splits train,val,test; given splits train,val,test)" in text
    assert text.startswith("# probes") and "10.0x faster" in text and "| 0 | 0.800 |" in text
    assert "| mean | 0.945 |" in text  # (0.96 + 0.93) / 2, below 0.95: not met
    assert "noise AUROC at least 0.95 (mean 0.9450): **not met**" in text
    assert "| ours | 10 | 0.500 | 0.945 | 0.850 |" in text  # each method averaged over the seeds
    assert "| cl_both | 12 | 0.400 | 0.900 | 0.850 |" in text
    assert "| train | 10 | 0.010 | 0.500 | 0.945 |" in text and "| test | 4 | 0.500 | 0.250 | – |" in text
    assert "second pass" not in text


def test_second_pass_section_sets_both_passes_side_by_side(tmp_path):
    """--second-pass: a section of its own; the first and second pass's means, each against the best
    other method's noisy-vs-hard AUROC on its own network."""
    import pandas as pd

    from model.given_encoder import GivenEncoderConfig

    def numbers(auroc, f1, ours_nvh, cl_nvh):
        table = pd.DataFrame({"method": ["ours", "cl_both", "aum"], "n_flagged": [10, 12, 14], "f1": [f1, 0.4, 0.3],
                              "auroc": [auroc, 0.9, 0.9], "noisy_vs_hard_auroc": [ours_nvh, cl_nvh, cl_nvh - 0.1]})
        return dict(auroc=auroc, f1=f1, precision=0.5, recall=0.5, hard_retention=0.9, noisy_vs_hard_auroc=ours_nvh,
                    test_uar=0.7, table=table, by_split=pd.DataFrame({"split": ["train"], "n": [10],
                                                                      "clean_easy_flagged": [0.01],
                                                                      "hard_precision": [0.5], "auroc": [auroc]}))

    def seed_result(seed, first, second):
        return dict(seed=seed, config=GivenEncoderConfig(), pretrain_s=10, pretrain_frames=100, embed_s=2, embed_fps=50,
                    pixel_epoch_s=10, frozen_epoch_s=1, frozen_train_s=5, frozen_epochs=3, heldout=0.5,
                    second_pass_s=240, first_pass=numbers(*first), **numbers(*second))

    class Args:
        threads = 1
        encoder = "given_labels"
        given_splits = given_loss = steps = None
        second_pass = True

    md = tmp_path / "R.md"
    per_seed = [seed_result(0, (0.95, 0.80, 0.88, 0.86), (0.97, 0.86, 0.92, 0.90)),
                seed_result(1, (0.95, 0.82, 0.90, 0.88), (0.97, 0.88, 0.94, 0.92))]
    frozen_training.write_section(md, Args, per_seed, 60, "--run y --seeds 0,1 --second-pass")
    text = md.read_text()
    assert "<!-- frozen_training given_labels second_pass=True: begin -->" in text
    assert "(default synthetic set; second pass)" in text and "| 4.0 min |" in text
    assert "| first (encoder learned every train and val label) | 0.950 | 0.810 |" in text
    assert "| second (encoder without the first pass's flags) | 0.970 | 0.870 |" in text
    assert "| 0.890 | 0.700 | 0.870 |" in text and "| 0.930 | 0.700 | 0.910 |" in text  # ours nvh, UAR, best other


def test_given_mixup_is_a_variant_with_its_own_section_and_reaches_the_encoder_config():
    """--given-mixup, even 0, names its section (it is not the default run); it sets the encoder's mixup."""
    import argparse

    base = dict(noise_splits="train", given_splits=None, given_loss=None, steps=None, second_pass=False,
                encoder="given_labels", threads=1)
    assert frozen_training.variant_options(argparse.Namespace(**base, given_mixup=None)) == {}
    assert frozen_training.variant_options(argparse.Namespace(**base, given_mixup=1.0)) == {"given_mixup": 1.0}
    assert frozen_training.variant_options(argparse.Namespace(**base, given_mixup=0.0)) == {"given_mixup": 0.0}
    cfg, _ = frozen_training.encoder_config(argparse.Namespace(**base, given_mixup=0.5), seed=3)
    assert (cfg.mixup, cfg.seed) == (0.5, 3)
