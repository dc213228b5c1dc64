"""The audit report (reports/audit.py and the modules it builds on, reports/figures.py, `dfer-curate report`): numbers in
the HTML match the run's tables, the file is self-contained, missing artifacts are named."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest

from curation.cli import main
from curation.errors import RunError
from curation.data.manifest import read_manifest, write_manifest
from curation.audit.metrics import detection_metrics
from reports import figures as F
from reports.audit import ReportConfig, build_report
from reports.tables import method_table, overlap_table, split_table, summarize
from tests.fakereport import write_fake_baselines, write_fake_export
from tests.fakerun import FAKE_CLASSES, make_fake_run

TOP_K = 5


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """A fake run with every optional artifact: baselines, an export, decisions."""
    from curation.review.decisions import DecisionLog

    run = make_fake_run(tmp_path_factory.mktemp("report") / "run", n=48, seed=3)
    write_fake_baselines(run, seed=1)
    write_fake_export(run)
    scores = pd.read_parquet(run.scores)
    noisy = scores[scores["verdict"] == "noisy"]["video_id"].tolist()
    log = DecisionLog.for_run(run.path)
    log.record(video_id=noisy[0], action="accept", annotator="ana", note="<script>alert(1)</script>")
    log.record(video_id=noisy[1], action="exclude", annotator="bo")
    out = build_report(run.path, config=ReportConfig(top_k=TOP_K))
    return run, out.read_text(encoding="utf-8")


def section(page: str, sid: str) -> str:
    m = re.search(rf'<section class="card" id="{sid}">(.*?)</section>', page, re.S)
    assert m, f"section {sid} missing"
    return m.group(1)


def kpis(page: str) -> dict[str, tuple[str, str]]:
    return {k: (v, s) for k, v, s in re.findall(
        r'data-key="(\w+)"><span class="l">[^<]*</span><span class="v">([^<]*)</span>'
        r'<span class="s" data-sub="\w+">([^<]*)</span>', page)}


def num(text: str) -> float:
    text = text.strip().replace(",", "")
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def test_summary_numbers_match_scores(full_run):
    run, page = full_run
    scores = pd.read_parquet(run.scores)
    k = kpis(page)
    assert num(k["videos"][0]) == len(scores)
    assert num(k["classes"][0]) == len(FAKE_CLASSES)
    counts = scores["verdict"].value_counts()
    for v in ("clean", "hard", "noisy"):
        assert num(k[v][0]) == counts.get(v, 0)
        assert num(k[v][1]) == pytest.approx(counts.get(v, 0) / len(scores), abs=5.1e-4)
    assert num(k["noise_rate"][0]) == pytest.approx(counts["noisy"] / len(scores), abs=5.1e-4)
    summary = section(page, "summary")
    for c in FAKE_CLASSES:
        row = re.search(rf'<tr data-row="{c}">(.*?)</tr>', summary, re.S).group(1)
        cells = dict(re.findall(r'data-col="(\w+)">(?:<div[^>]*><span>)?([^<]*)<', row))
        part = scores[scores["label"] == c]
        assert num(cells["videos"]) == len(part)
        for v in ("clean", "hard", "noisy"):
            assert num(cells[v]) == (part["verdict"] == v).sum()
        assert num(cells["noise_rate"]) == pytest.approx((part["verdict"] == "noisy").mean(), abs=5.1e-4)


def test_report_is_self_contained(full_run):
    run, page = full_run
    assert page.count("plotly.js v") >= 1 and page.count("<script>/**") == 1  # the bundle, inlined once
    assert not re.search(r'<script[^>]+src=|<link[^>]+href=|<img[^>]+src="(?!data:)', page)
    assert re.search(r'data-figures="(\d+)"', page).group(1) == "6"
    assert len(re.findall(r'<figure class="fig" data-fig=', page)) == 6
    uris = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)
    # top-k noisy + top-k hard videos, one frame per clip (4 clips in the fake run)
    scores = pd.read_parquet(run.scores)
    shown = min(TOP_K, (scores["verdict"] == "noisy").sum()) + min(TOP_K, (scores["verdict"] == "hard").sum())
    assert len(uris) == shown * 4
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(uris[0])))
    assert img.format == "JPEG" and img.height == ReportConfig().frame_height


def test_top_tables_follow_scores(full_run):
    run, page = full_run
    scores = pd.read_parquet(run.scores)
    videos = section(page, "videos")
    noisy_part, hard_part = videos.split("id='top-hard'")
    want_noisy = (scores[scores["verdict"] == "noisy"].sort_values(["noise_score", "video_id"], ascending=[False, True])
                  ["video_id"].head(TOP_K).tolist())
    want_hard = (scores[scores["verdict"] == "hard"].sort_values(["hardness", "video_id"], ascending=[False, True])
                 ["video_id"].head(TOP_K).tolist())
    assert re.findall(r"<tr data-video='(\w+)'>", noisy_part) == want_noisy
    assert re.findall(r"<tr data-video='(\w+)'>", hard_part) == want_hard
    # per-clip captions are the argmax of clip_probs for that video
    probs = np.load(run.clip_probs)
    pos = scores.index[scores["video_id"] == want_noisy[0]][0]
    row = re.search(rf"<tr data-video='{want_noisy[0]}'>(.*?)</tr>", noisy_part, re.S).group(1)
    assert re.findall(r"<figcaption>(\w+)</figcaption>", row) == [FAKE_CLASSES[i] for i in probs[pos].argmax(-1)]


def test_baseline_metrics_and_overlap(full_run):
    run, page = full_run
    scores = pd.read_parquet(run.scores)
    base = pd.read_parquet(run.baselines)
    m = read_manifest(run.path).df.set_index("video_id")
    train = scores[scores["split"] == "train"].merge(base, on="video_id")
    truth = m.loc[train["video_id"]]
    baselines = section(page, "baselines")
    for method, score, flag in [("ours", train["noise_score"], train["verdict"] == "noisy"),
                                ("cl_self_confidence", train["cl_self_confidence_score"],
                                 train["cl_self_confidence_flag"])]:
        want = detection_metrics(truth["is_noisy"], flag, score, is_hard=truth["is_hard"])
        row = re.search(rf'<tr data-row="{method}">(.*?)</tr>', baselines, re.S).group(1)
        cells = dict(re.findall(r'data-col="(\w+)">([^<]*)<', row))
        for key in ("precision", "recall", "f1", "auroc"):
            assert num(cells[key]) == pytest.approx(want[key], abs=5.1e-4), (method, key)
    ours = train["verdict"] == "noisy"
    theirs = train["cl_prune_by_noise_rate_flag"]
    ov = overlap_table(method_table(scores, base)[0]).set_index("method")
    assert ov.loc["cl_prune_by_noise_rate", "both"] == (ours & theirs).sum()
    assert ov.loc["cl_prune_by_noise_rate", "theirs_only"] == (theirs & ~ours).sum()
    assert ov.index[0].startswith("cl_") and ov.index[-1] == "aum"  # cleanlab first


def test_review_and_exports_section(full_run):
    _, page = full_run
    review = section(page, "review")
    assert "2 videos carry a current decision" in review
    assert "accept 1" in review and "exclude 1" in review
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in review
    assert "20261129T010000Z" in review and "3 relabelled" in review


def test_provenance_reads_as_a_table_with_hashes_folded(fake_run):
    from curation.review.export import export

    export(fake_run.path)
    review = section(build_report(fake_run.path).read_text(encoding="utf-8"), "review")
    card = review[review.index("<div class='export'"):]
    assert "<th>policy</th><td>keep-given</td>" in card
    assert re.search(r"<th>videos</th><td>24 videos, 24 kept, 0 changed, 0 excluded</td>", card)
    # every full hash sits inside a <details> (or a tooltip), never in the open table
    open_part = re.sub(r"<details>.*?</details>", "", card, flags=re.S)
    open_part = re.sub(r"title='[^']*'", "", open_part)
    assert re.findall(r"[0-9a-f]{64}", card) and not re.findall(r"[0-9a-f]{64}", open_part)
    assert "<summary>Input files (SHA-256)" in card and "<summary>Exported files (SHA-256)" in card


def test_missing_scores_names_the_command(fake_run, capsys):
    fake_run.scores.unlink()
    with pytest.raises(RunError, match=r"dfer-curate score"):
        build_report(fake_run.path)
    assert main(["report", str(fake_run.path)]) == 2
    assert "dfer-curate score" in capsys.readouterr().err
    assert not fake_run.report.exists()
    fake_run.scores.write_bytes(b"PAR1 truncated")
    with pytest.raises(RunError, match=r"cannot be read .*re-run `dfer-curate score"):
        build_report(fake_run.path)
    pd.DataFrame({"video_id": ["v0000"]}).to_parquet(fake_run.scores)
    with pytest.raises(RunError, match=r"lacks column\(s\) split.*re-run `dfer-curate score"):
        build_report(fake_run.path)
    with pytest.raises(RunError, match=r"not a run directory"):
        build_report(fake_run.path / "nope")


def test_missing_optional_artifacts_say_which_command(fake_run):
    fake_run.dynamics.unlink()
    m = read_manifest(fake_run.path)
    m.df = m.df.drop(columns=["true_label", "is_noisy", "is_hard", "hard_kind"])
    write_manifest(fake_run.path, m)
    page = build_report(fake_run.path).read_text(encoding="utf-8")
    assert f"dfer-curate train {fake_run.path}" in section(page, "dynamics")
    assert f"dfer-curate baselines {fake_run.path}" in section(page, "baselines")
    assert "No ground truth" in section(page, "baselines")
    assert f"dfer-curate review {fake_run.path}" in section(page, "review")
    assert f"dfer-curate export {fake_run.path}" in section(page, "review")
    assert re.search(r'data-figures="(\d+)"', page).group(1) == "4"
    assert "f1" not in kpis(page) and "truth" not in section(page, "videos")


def test_unreadable_video_is_shown_not_dropped(fake_run):
    scores = pd.read_parquet(fake_run.scores)
    vid = scores[scores["verdict"] == "noisy"].sort_values("noise_score", ascending=False)["video_id"].iloc[0]
    m = read_manifest(fake_run.path)
    (m.abspath(m.df.set_index("video_id").loc[vid, "path"])).write_bytes(b"not a video")
    page = build_report(fake_run.path).read_text(encoding="utf-8")
    row = re.search(rf"<tr data-video='{vid}'>(.*?)</tr>", page, re.S).group(1)
    assert "cannot decode video" in row


def test_cli_writes_out_file(fake_run, tmp_path, capsys):
    out = tmp_path / "elsewhere" / "audit.html"
    assert main(["report", str(fake_run.path), "--out", str(out), "--top", "3"]) == 0
    assert out.stat().st_size > 4_000_000  # plotly.js alone is ~4.6 MB
    assert str(out) in capsys.readouterr().out
    assert len(re.findall(r"<tr data-video=", out.read_text(encoding="utf-8"))) <= 6


def test_split_table_counts_each_split_and_source():
    scores = pd.DataFrame({
        "split": ["train", "train", "train", "test", "val", "test"],
        "score_source": ["dynamics", "dynamics", "out-of-fold", "unseen", "unseen", "unseen"],
        "verdict": ["clean", "noisy", "hard-or-noisy", "hard", "clean", "clean"],
    })
    t = split_table(scores)
    assert list(t["split"]) == ["train", "train", "val", "test"]  # split order, then source
    assert list(t.columns) == ["split", "score_source", "videos", "clean", "hard", "hard-or-noisy", "noisy"]
    row = t[(t["split"] == "train") & (t["score_source"] == "dynamics")].iloc[0]
    assert (row["videos"], row["clean"], row["noisy"], row["hard-or-noisy"]) == (2, 1, 1, 0)
    assert t["videos"].sum() == len(scores)
    assert t[t["split"] == "test"][["clean", "hard"]].values.tolist() == [[1, 1]]
    older = split_table(scores.drop(columns=["score_source"]))  # runs scored before the column existed
    assert list(older["score_source"]) == ["–", "–", "–"] and older["videos"].sum() == len(scores)


def test_summarize_and_figures_on_planted_table():
    rng = np.random.default_rng(0)
    n = 3000
    scores = pd.DataFrame({
        "video_id": [f"v{i}" for i in range(n)], "split": "train",
        "label": rng.choice(FAKE_CLASSES, n), "consensus_label": rng.choice(FAKE_CLASSES, n),
        "verdict": rng.choice(["clean", "hard", "noisy"], n, p=[0.7, 0.2, 0.1]),
        "noise_score": rng.uniform(0, 1, n), "hardness": rng.uniform(0, 1, n),
        "agree_label": rng.choice([0, 0.25, 0.5, 0.75, 1.0], n), "label_prob": rng.uniform(0, 1, n),
    })
    scores["suggested_label"] = scores["consensus_label"]
    s = summarize(scores, FAKE_CLASSES)
    assert s["per_class"]["videos"].sum() == n
    assert sum(s["counts"].values()) == n
    hist = F.score_distributions(scores)
    assert sum(int(np.sum(t.y)) for t in hist.data) == 2 * n  # every video in both panels
    sc = F.agreement_scatter(scores, max_points=500, seed=1)
    assert sum(len(t.x) for t in sc.data) == 500
    again = F.agreement_scatter(scores, max_points=500, seed=1)
    assert np.array_equal(sc.data[0].x, again.data[0].x)
    cm = F.confusion_matrix(scores, FAKE_CLASSES)
    z = np.asarray(cm.data[0].text)
    assert z.sum() == n and np.trace(z) == (scores["label"] == scores["consensus_label"]).sum()


def test_dynamics_sampling_is_seeded_and_bounded(fake_run):
    dyn = pd.read_parquet(fake_run.dynamics)
    verdicts = pd.read_parquet(fake_run.scores).set_index("video_id")["verdict"]
    a = F.sample_dynamics_videos(dyn, verdicts, per_verdict=2, seed=5)
    assert a == F.sample_dynamics_videos(dyn, verdicts, per_verdict=2, seed=5)
    for v, ids in a.items():
        assert len(ids) == min(2, (verdicts[verdicts.index.isin(dyn["video_id"])] == v).sum())
        assert all(verdicts[i] == v for i in ids)


@pytest.mark.slow
def test_png_export_of_one_figure(tmp_path):
    from PIL import Image

    from reports.audit import write_pngs

    scores = pd.DataFrame({"label": ["happy", "sad", "sad"], "verdict": ["clean", "noisy", "hard"]})
    paths = write_pngs([("class_verdicts", F.class_verdicts(scores, FAKE_CLASSES))], tmp_path / "png")
    img = Image.open(paths[0])
    assert img.format == "PNG" and img.width == 1100


def test_key_expression_clips_are_tallied_not_drawn(fake_run):
    """With score.uniform_clips = 2 of M = 4 clips, the strip shows 2 frames (the uniform
    clips' positions) and tallies the 2 key-expression clips' votes in text."""
    fake_run.save_config("score", {"uniform_clips": 2, "key_clips": 2})
    page = build_report(fake_run.path).read_text(encoding="utf-8")
    scores = pd.read_parquet(fake_run.scores)
    probs = np.load(fake_run.clip_probs)
    vid = scores[scores["verdict"] == "hard"].sort_values(["hardness", "video_id"], ascending=[False, True])["video_id"].iloc[0]
    row = re.search(rf"<tr data-video='{vid}'>(.*?)</tr>", page, re.S).group(1)
    votes = [FAKE_CLASSES[i] for i in probs[scores.index[scores["video_id"] == vid][0]].argmax(-1)]
    assert re.findall(r"<figcaption>(\w+)</figcaption>", row) == votes[:2]
    tally = pd.Series(votes[2:]).value_counts()
    assert "2 key-expression clips: " + " · ".join(f"{c} {k}" for c, k in tally.items()) in row


def test_collapsed_model_is_called_out(fake_run):
    from reports.sections import collapse_warning

    scores = pd.read_parquet(fake_run.scores)
    assert collapse_warning(scores, FAKE_CLASSES) is None  # planted predictions spread over classes
    collapsed = scores.assign(pred_label="happy")
    collapsed.loc[collapsed.index[:2], "pred_label"] = "sad"  # 22 of 24 = 91.7% happy
    msg = collapse_warning(collapsed, FAKE_CLASSES)
    assert msg is not None and "<b>happy</b> for 91.7%" in msg
    from curation.fileio import write_parquet

    write_parquet(fake_run.scores, collapsed)
    page = build_report(fake_run.path).read_text(encoding="utf-8")
    assert 'data-key="collapse"' in section(page, "summary")


def test_weak_model_is_called_out(tmp_path):
    from curation.fileio import write_json

    run = make_fake_run(tmp_path / "run", n=24, seed=5)
    assert 'data-key="weak-model"' not in section(build_report(run.path).read_text(encoding="utf-8"), "summary")
    write_json(run.checkpoints / "train_log.json", {"heldout": "val", "log": [{"heldout_uar": 0.3}, {"heldout_uar": 0.31}]})
    summary = section(build_report(run.path).read_text(encoding="utf-8"), "summary")
    assert 'data-key="weak-model"' in summary and "best val UAR is 0.31 against chance 0.25" in summary


def test_claim_by_kind_of_hard_video(full_run):
    from curation.audit.metrics import detection_table

    run, page = full_run
    block = section(page, "baselines").split("<h3>By kind of hard video</h3>")[1].split("</table>")[0]
    scores, base = pd.read_parquet(run.scores), pd.read_parquet(run.baselines)
    table = method_table(scores, base)[0]
    det = detection_table(table, read_manifest(run.path).df, names=["ours", "aum"]).set_index("method")
    for method in ("ours", "aum"):  # the fake run's one kind (subtle): its column is the pooled one
        cells = dict(re.findall(r'data-col="(\w+)">([^<]*)<', re.search(rf'<tr data-row="{method}">(.*?)</tr>',
                                                                         block, re.S).group(1)))
        assert num(cells["subtle"]) == num(cells["all"]) == pytest.approx(det.loc[method, "noisy_vs_hard_auroc"],
                                                                         abs=5.1e-4)
    hard = read_manifest(run.path).df.query("is_hard and not is_noisy and split == 'train'")
    assert f"subtle {len(hard)}" in block


def test_no_kind_table_without_kinds():
    from reports.sections import _kinds_table

    truth = pd.DataFrame({"video_id": ["a", "b"], "is_noisy": [True, False], "is_hard": [False, True]})
    table = pd.DataFrame({"video_id": ["a", "b"], "ours_score": [0.9, 0.1]})
    assert _kinds_table(table, truth, ["ours"]) == ""
    assert "<table" in _kinds_table(table, truth.assign(hard_kind=["", "blend"]), ["ours"])
