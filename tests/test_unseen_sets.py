"""benchmarks/unseen/: the two video sets the synthetic generator did not make. Same seed,
same bytes; the truth agrees with labels.csv; the generic CSV ingest reads them (real PyAV)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from unseen import SETS, generate, read_truth  # noqa: E402
from unseen.common import DATA_DIR, LABELS_FILE, sample_truth  # noqa: E402

from curation.data.ingest import IngestConfig, ingest  # noqa: E402
from curation.data.manifest import read_manifest  # noqa: E402
from curation.data.video import read_video  # noqa: E402

N = 8


@pytest.fixture(scope="module", params=sorted(SETS))
def tiny(request, tmp_path_factory):
    name = request.param
    out = tmp_path_factory.mktemp(name)
    generate(name, out / "a", n=N, seed=5)
    generate(name, out / "b", n=N, seed=5)
    return name, out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tiny):
    name, out = tiny
    a, b = _files(out / "a"), _files(out / "b")
    assert len([f for f in a if f.endswith(".mp4")]) == N
    assert a.keys() == b.keys()
    assert [f for f in a if a[f] != b[f]] == []


def test_another_seed_other_videos(tiny, tmp_path):
    name, out = tiny
    generate(name, tmp_path, n=2, seed=6)
    first = sorted((tmp_path / DATA_DIR).rglob("*.mp4"))[0]
    assert first.read_bytes() != (out / "a" / DATA_DIR / first.relative_to(tmp_path / DATA_DIR)).read_bytes()


def test_truth_agrees_with_the_labels(tiny):
    name, out = tiny
    truth = read_truth(out / "a")
    with open(out / "a" / DATA_DIR / LABELS_FILE, newline="") as fh:
        listed = {r["path"]: r for r in csv.DictReader(fh)}
    assert sorted(listed) == sorted(r["path"] for r in truth)
    spec = SETS[name][0]
    for r in truth:
        assert listed[r["path"]]["label"] == r["label"]
        assert r["is_noisy"] == (r["label"] != r["true_label"])
        assert r["is_hard"] == bool(r["hard_kind"]) and (not r["is_hard"] or r["hard_kind"] in spec.hard_kinds)
        assert not r["is_noisy"] or r["split"] == "train"
        assert r["true_label"].lower() in spec.classes
    assert not any(c in r["path"].lower() for r in truth for c in spec.classes)  # no path gives a label away


def test_generic_csv_ingest_reads_the_set(tiny):
    name, out = tiny
    data = out / "a" / DATA_DIR
    truth = {r["path"]: r for r in read_truth(out / "a")}
    classes = sorted({r["label"] for r in truth.values()} | {r["true_label"] for r in truth.values()})
    res = ingest(out / "run", IngestConfig(format="csv", root=str(data), csv=str(data / LABELS_FILE), classes=classes,
                                           workers=1), progress=False)
    df = read_manifest(out / "run").df
    assert len(df) == N and res.problems.empty
    for row in df.itertuples():
        assert row.label == truth[row.path]["label"] and row.split == truth[row.path]["split"]
    video = read_video(data / df["path"].iloc[0])
    assert video.ndim == 4 and video.shape[0] == df["num_frames"].iloc[0] and video.dtype == np.uint8
    assert video.shape[1:3] == ((64, 64) if name == "toons" else (64, 80))


@pytest.mark.parametrize("name", sorted(SETS))
def test_truth_rates(name):
    spec = SETS[name][0]
    rows = sample_truth(spec, 1000, 0, noise_rate=0.2, structured_share=0.5, hard_rate=0.2)
    train = [r for r in rows if r["split"] == "train"]
    noisy = [r for r in train if r["is_noisy"]]
    assert len(noisy) == round(0.2 * len(train))
    paired = {c for p in spec.pairs for c in p}
    can = [r for r in noisy if r["true_label"] in paired]
    assert abs(sum(r["noise_kind"] == "structured" for r in can) / len(can) - 0.5) < 0.1
    for s in ("train", "val", "test"):
        part = [r for r in rows if r["split"] == s]
        assert abs(sum(r["is_hard"] for r in part) - 0.2 * len(part)) <= 1
        assert {r["true_label"] for r in part} == set(spec.classes)
    pairs = {frozenset(p) for p in spec.pairs}
    assert all(frozenset((r["label"], r["true_label"])) in pairs for r in noisy if r["noise_kind"] == "structured")


def test_report_names_the_command_the_verdicts_and_every_method(tmp_path):
    import unseen_sets
    from unseen.report import write_markdown

    ref = unseen_sets.reference("frozen")
    assert 0 < ref["auroc"] <= 1 and 0 < ref["hard_retention"] <= 1 and "REPRESENTATION.md" in ref["source"]
    second = unseen_sets.reference("second_pass")  # its own section of REPRESENTATION.md
    # another section's figures (any of them may coincide with the default's; not all)
    fields = ("auroc", "f1", "hard_retention", "noisy_vs_hard_auroc", "test_uar")
    assert [second[k] for k in fields] != [ref[k] for k in fields] and "second-pass section" in second["source"]
    assert unseen_sets.STAGES["second_pass"][4:] == (("pretrain", "--given-labels", "--exclude-flagged"), ("embed",),
                                                      ("train", "--frozen"), ("score",), ("baselines",))
    pixels = unseen_sets.reference("pixels")
    assert pixels["auroc"] == 0.897 and "MODEL_QUALITY_PIXELS.md" in pixels["source"]  # its committed `full` row
    row = dict(method="ours", n_flagged=10, precision=0.5, recall=0.4, f1=0.44, auroc=ref["auroc"] - 0.01, ap=0.5,
               noisy_vs_hard_auroc=0.7, hard_retention=ref["hard_retention"] - 0.2, relabel_acc=float("nan"))
    res = dict(table=[row, dict(row, method="aum", auroc=0.99)], hard_kinds={"brief": {"n": 4, "retention": 0.5}},
               recall_by_noise={"uniform": 0.4}, noise_counts={"uniform": 10}, test_uar=0.6, test_war=0.6,
               heldout_uar=0.6, epochs=12, verdicts={"clean": 3, "noisy": 10}, n_train=70, n_noisy=14,
               n_hard_clean=12, n=100, times=dict(generate=1, ingest=1, train=2, score=3, baselines=4))
    out = tmp_path / "UNSEEN.md"
    write_markdown(dict(reference=ref, sets={"toons": res}, machine="2 CPUs", threads=1, total_s=60,
                        command="benchmarks/unseen_sets.py --n 100",
                        stages=["pretrain --given-labels", "embed", "train --frozen", "score", "baselines"]), out)
    text = out.read_text()
    assert "dfer-curate pretrain RUN --given-labels\ndfer-curate embed RUN\ndfer-curate train RUN --frozen\n" in text
    assert ref["source"] in text
    assert "benchmarks/unseen_sets.py --n 100" in text and "OMP_NUM_THREADS=1" in text
    assert "| toons | 100 |" in text and "**fail**" in text  # hard retention 0.2 below the reference
    assert "| aum |" in text and "Ours ranks 2 of 2 by AUROC (best: aum 0.990)" in text
    other = dict(sets={"toons": dict(res, epochs=40)}, train_args="--epochs 60", command="unseen_sets.py --train-args x")
    write_markdown(dict(reference=ref, sets={"toons": res}, total_s=60), out, also=(other,))
    text = out.read_text()
    assert "## Diagnosis" in text and "| toons | train --epochs 60 | 40 |" in text and "| toons | (defaults) | 12 |" in text
    mixed = dict(other, pretrain_args="--mixup 1")
    write_markdown(dict(reference=ref, sets={"toons": res}, total_s=60), out, also=(mixed,))
    assert "| toons | pretrain --mixup 1; train --epochs 60 | 40 |" in out.read_text()


def test_reuse_encoder_needs_train_options_on_the_frozen_path(capsys):
    import unseen_sets

    for argv in (["--reuse-encoder"], ["--reuse-encoder", "--train-args=--no-resample", "--pixels"]):
        with pytest.raises(SystemExit):
            unseen_sets.main(argv)
        assert "--reuse-encoder compares train options" in capsys.readouterr().err


def test_reuse_encoder_without_a_default_run_says_to_make_one(tmp_path):
    import unseen_sets

    with pytest.raises(SystemExit, match="run this set once without --reuse-encoder first"):
        unseen_sets.run_set("toons", tmp_path, n=8, seed=0, workers=1, train_args=("--no-resample",), tag="_diag",
                            reuse_encoder=True)
