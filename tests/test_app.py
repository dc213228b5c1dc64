"""The dashboard through Streamlit's AppTest: every page renders from a run, every action
writes the decision log on disk, conflicts are shown, bad runs get a clear message."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from curation.review.decisions import DecisionLog
from curation.review.queue import filter_queue, review_table
from curation.data.manifest import read_manifest, write_manifest
from tests.fakerun import FAKE_CLASSES

MAIN = Path(__file__).resolve().parents[1] / "app" / "main.py"


def _app(monkeypatch, run, annotator="alice") -> AppTest:
    monkeypatch.setenv("DFER_CURATE_RUN", str(run.path))
    monkeypatch.setenv("DFER_CURATE_ANNOTATOR", annotator)
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _queue_ids(run):
    return filter_queue(review_table(pd.read_parquet(run.scores)))["video_id"].tolist()


def _open(at, video_id):
    at.selectbox(key="q_open_choice").set_value(video_id)
    at.button(key="q_open").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == f"Video {video_id}"


def test_queue_page_lists_flagged_videos_and_filters(monkeypatch, fake_run):
    at = _app(monkeypatch, fake_run)
    ids = _queue_ids(fake_run)
    assert at.title[0].value == "Review queue"
    assert f"**{len(ids)}** videos match" in at.markdown[0].value
    shown = at.dataframe[0].value
    assert shown["video_id"].tolist() == ids[: len(shown)]
    assert at.get("progress")[0].proto.text == f"Reviewed 0 / {len(ids)} flagged"
    at.multiselect(key="q_verdicts").set_value(["noisy"]).run()
    noisy = pd.read_parquet(fake_run.scores).query("verdict == 'noisy'")
    assert f"**{len(noisy)}** videos match" in at.markdown[0].value
    at.multiselect(key="q_splits").set_value(["test"]).run()
    test_noisy = noisy.query("split == 'test'")
    assert len(test_noisy) < len(noisy)
    assert f"**{len(test_noisy)}** videos match" in at.markdown[0].value
    at.multiselect(key="q_splits").set_value([]).run()
    at.radio(key="q_sort").set_value("hardness").run()
    assert at.slider(key="q_range").label == "Ambiguity range"
    assert "No baselines: run `dfer-curate baselines" in at.caption[1].value
    # the filter outlives a page switch
    at.switch_page("pages_overview.py").run()
    at.switch_page("pages_queue.py").run()
    assert at.multiselect(key="q_verdicts").value == ["noisy"]


@pytest.mark.parametrize("action", ["accept", "relabel", "keep", "exclude"])
def test_each_action_is_recorded_and_the_queue_advances(monkeypatch, fake_run, action):
    at = _app(monkeypatch, fake_run)
    ids = _queue_ids(fake_run)
    _open(at, ids[0])
    at.text_input(key=f"v_note_{ids[0]}").input("checked twice")
    given = pd.read_parquet(fake_run.scores).set_index("video_id").loc[ids[0], "label"]
    target = next(c for c in FAKE_CLASSES if c != given)
    # relabel to any class: its digit button (the fake run has 4 classes)
    key = f"v_to_{FAKE_CLASSES.index(target)}" if action == "relabel" else f"v_{action}"
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    ev = DecisionLog(fake_run.review_db).events()
    assert ev[["video_id", "action", "annotator", "note"]].values.tolist() == [[ids[0], action, "alice", "checked twice"]]
    assert '"noise_score"' in ev.iloc[0]["scores"]
    scores = pd.read_parquet(fake_run.scores).set_index("video_id")
    want = {"accept": scores.loc[ids[0], "suggested_label"], "relabel": target,
            "keep": scores.loc[ids[0], "label"], "exclude": None}[action]
    assert (ev.iloc[0]["new_label"] if want is not None else None) == want
    assert at.title[0].value == f"Video {ids[1]}"  # advanced to the next video
    assert at.toast[0].value.startswith(f"Recorded {action}")


def test_undo_prev_next_and_a_decision_survives_a_new_session(monkeypatch, fake_run):
    at = _app(monkeypatch, fake_run)
    ids = _queue_ids(fake_run)
    _open(at, ids[1])
    at.button(key="v_prev").click().run()
    assert at.title[0].value == f"Video {ids[0]}"
    at.button(key="v_next").click().run()
    assert at.title[0].value == f"Video {ids[1]}"
    assert at.button(key="v_undo").disabled
    at.button(key="v_exclude").click().run()
    at.button(key="v_prev").click().run()
    assert at.title[0].value == f"Video {ids[1]}"
    at.button(key="v_undo").click().run()
    assert not at.exception
    ev = DecisionLog(fake_run.review_db).events()
    assert ev["action"].tolist() == ["exclude", "undo"]
    assert DecisionLog(fake_run.review_db).current().empty
    at.button(key="v_keep").click().run()
    fresh = _app(monkeypatch, fake_run, annotator="bob")  # a new browser session
    assert fresh.get("progress")[0].proto.text == f"Reviewed 1 / {len(ids)} flagged"


def test_a_concurrent_decision_is_shown_as_a_conflict_not_overwritten(monkeypatch, fake_run):
    at = _app(monkeypatch, fake_run)
    vid = _queue_ids(fake_run)[0]
    _open(at, vid)
    DecisionLog.for_run(fake_run.path).record(video_id=vid, action="relabel", new_label="angry",
                                              annotator="bob", seen_version=0)
    at.button(key="v_exclude").click().run()
    assert not at.exception
    assert "conflict on video" in at.error[0].value and "bob chose 'relabel -> angry'" in at.error[0].value
    assert DecisionLog(fake_run.review_db).events()["annotator"].tolist() == ["bob"]
    assert at.title[0].value == f"Video {vid}"
    at.button(key="v_reload").click().run()
    assert not at.error
    at.button(key="v_exclude").click().run()
    cur = DecisionLog(fake_run.review_db).current().set_index("video_id")
    assert cur.loc[vid, "action"] == "exclude" and cur.loc[vid, "annotator"] == "alice"


def test_video_page_shows_player_frames_chart_and_baselines(monkeypatch, fake_run):
    from tests.fakerun import add_clip_layout

    add_clip_layout(fake_run)
    scores = pd.read_parquet(fake_run.scores)
    pd.DataFrame({"video_id": scores["video_id"], "cl_confident_learning_score": np.linspace(0, 1, len(scores)),
                  "cl_confident_learning_flag": scores["verdict"].eq("clean").to_numpy()}).to_parquet(fake_run.baselines)
    at = _app(monkeypatch, fake_run)
    assert at.selectbox(key="q_method").value == "cl_confident_learning"
    at.radio(key="q_baseline").set_value("disagree").run()
    t = review_table(scores, None, pd.read_parquet(fake_run.baselines))
    from curation.review.queue import QueueFilter
    assert f"**{len(filter_queue(t, QueueFilter(baseline='disagree')))}** videos match" in at.markdown[0].value
    at.button(key="q_next").click().run()
    assert not at.exception, at.exception
    strip = at.get("image")[0].proto.imgs
    assert [i.caption for i in strip] == [f"frame {i}" for i in (0, 2, 4, 6, 9, 11, 13, 15)]
    assert at.get("video"), "no video player"
    # the timeline: one bar per scored clip, lanes in start order, from clip_starts.npy
    vid = at.title[0].value.removeprefix("Video ")
    i = scores.index[scores["video_id"] == vid][0]
    starts = np.load(fake_run.clip_starts)[i]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    bars = [t for t in spec["data"] if t["type"] == "bar"]
    lanes = sorted((int(y.rstrip("★")), b) for t in bars for y, b in zip(t["y"], t["base"]))
    assert [b for _, b in lanes] == sorted(starts.tolist())
    given = scores.loc[i, "label"]
    assert any(t["name"] == f"P({given}) per clip" for t in spec["data"])
    assert any(t["name"] == "expression (saliency)" for t in spec["data"])
    # the sentence says why, from the same clips
    from curation.review.evidence import video_evidence
    from tests.fakerun import FAKE_CLASSES
    ev = video_evidence(scores.loc[i], np.load(fake_run.clip_probs)[i], FAKE_CLASSES)
    assert any(ev.sentence in md.value for md in at.markdown)
    assert any(m.label == "Clips agreeing with the label" and "agree_label" in m.proto.help for m in at.metric)
    assert any("Baselines' view" in c.value for c in at.caption)


def test_frame_folder_video_gets_an_h264_preview(monkeypatch, fake_run):
    m = read_manifest(fake_run.path)
    vid = _queue_ids(fake_run)[0]
    folder = m.root / "frames_of_first"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(np.full((24, 24, 3), 40 * i, np.uint8)).save(folder / f"{i:03d}.jpg")
    df = m.df.copy()
    df.loc[df["video_id"] == vid, "path"] = "frames_of_first"
    write_manifest(fake_run.path, type(m)(df, m.classes, m.root))
    at = _app(monkeypatch, fake_run)
    _open(at, vid)
    from curation.data.video import video_codec
    preview = fake_run.previews / f"{vid}.mp4"
    assert preview.exists() and video_codec(preview) == "h264"


def test_overview_page(monkeypatch, fake_run):
    vid = _queue_ids(fake_run)[0]
    DecisionLog.for_run(fake_run.path).record(video_id=vid, action="exclude", annotator="carol")
    at = _app(monkeypatch, fake_run)
    at.switch_page("pages_overview.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview"
    spec = at.get("plotly_chart")[0].proto.spec
    assert '"type":"heatmap"' in spec.replace(" ", "")
    verdicts = at.dataframe[0].value
    scores = pd.read_parquet(fake_run.scores)
    assert int(verdicts["total"].sum()) == len(scores)
    assert int(verdicts["noisy"].sum()) == int((scores["verdict"] == "noisy").sum())
    per_annotator = at.dataframe[1].value
    assert per_annotator.loc["carol", "exclude"] == 1
    at.checkbox(key="o_flagged").check().run()
    assert not at.exception


def test_export_page_writes_an_export(monkeypatch, fake_run):
    at = _app(monkeypatch, fake_run)
    at.switch_page("pages_export.py").run()
    assert "No exports yet." in at.info[0].value
    at.selectbox(key="e_policy").set_value("exclude-unreviewed")
    at.multiselect(key="e_formats").set_value(["parquet", "dfer-clip"])
    at.button(key="e_export").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("Exported to")
    (out,) = [p for p in fake_run.exports.iterdir()]
    assert (out / "dfer-clip" / "train.txt").exists() and not (out / "mae-dfer").exists()
    n_flagged = int(pd.read_parquet(fake_run.scores)["verdict"].isin(["noisy", "hard"]).sum())
    assert f"{n_flagged} excluded" in at.success[0].value
    assert any("exclude-unreviewed" in md.value for md in at.markdown)


def test_a_run_without_scores_says_which_command_to_run(monkeypatch, fake_run):
    fake_run.scores.unlink()
    monkeypatch.setenv("DFER_CURATE_RUN", str(fake_run.path))
    for page in ("pages_queue.py", "pages_video.py", "pages_overview.py", "pages_export.py"):
        at = AppTest.from_file(str(MAIN), default_timeout=60).run()
        at.switch_page(page).run()
        assert not at.exception
        assert f"dfer-curate score {fake_run.path}" in at.error[0].value


def test_a_weak_model_is_called_out_on_queue_and_overview(monkeypatch, fake_run):
    from curation.fileio import write_json

    at = _app(monkeypatch, fake_run)
    assert not at.warning  # no train_log.json: nothing to say
    write_json(fake_run.checkpoints / "train_log.json", {"heldout": "val", "log": [{"heldout_uar": 0.28}]})
    at = _app(monkeypatch, fake_run)
    assert any("best val UAR is 0.28 against chance 0.25" in w.value for w in at.warning)
    at.switch_page("pages_overview.py").run()
    assert not at.exception and any("barely learned" in w.value for w in at.warning)


def test_queue_page_shows_review_order_pace_and_time_left(monkeypatch, fake_run):
    import time

    ids = _queue_ids(fake_run)
    log = DecisionLog.for_run(fake_run.path)
    for vid in ids[:3]:
        log.record(video_id=vid, action="keep", annotator="alice")
        time.sleep(0.02)
    at = _app(monkeypatch, fake_run)
    pace = next(c.value for c in at.caption if "videos an hour" in c.value)
    assert f"the {len(ids) - 3} flagged videos left take about" in pace
    verdicts = at.dataframe[0].value["verdict"].tolist()
    # wrong labels first, hard videos last
    assert verdicts == sorted(verdicts, key={"noisy": 0, "hard-or-noisy": 1, "hard": 3}.get)
    assert at.radio(key="q_sort").value == "review_value"


def test_every_key_is_in_the_readme_and_on_the_page_legend():
    from app.keys import KEYS, class_key, legend

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("| key | action |"):]
    table = table[: table.index("\n\n")]
    line = legend(["a", "b", "c"])
    for key in KEYS.values():
        assert f"`{key}`" in table and f"· {key} " in line, key
    assert "1–3 relabel" in line and class_key(8) == "9" and class_key(9) is None
    assert not {"C", "R"} & set(KEYS.values())  # reserved by Streamlit


def test_classes_past_the_digit_keys_are_relabelled_through_the_box(monkeypatch, fake_run):
    from app import keys

    monkeypatch.setattr(keys, "MAX_CLASS_KEYS", 2)  # as if the run had more classes than digits
    at = _app(monkeypatch, fake_run)
    vid = _queue_ids(fake_run)[0]
    _open(at, vid)
    digit_buttons = [b.key for b in at.button if b.key and b.key.startswith("v_to_")]
    assert digit_buttons == ["v_to_0", "v_to_1"]
    given = pd.read_parquet(fake_run.scores).set_index("video_id").loc[vid, "label"]
    target = [c for c in FAKE_CLASSES if c != given][-1]
    at.selectbox(key=f"v_target_{vid}").set_value(target).run()
    at.button(key="v_relabel").click().run()
    assert not at.exception, at.exception
    cur = DecisionLog(fake_run.review_db).current().set_index("video_id")
    assert cur.loc[vid, "action"] == "relabel" and cur.loc[vid, "new_label"] == target


def test_timeline_and_training_figures_draw_what_they_are_given():
    from app.timeline import class_colours, timeline_figure, training_figure
    from curation.review.evidence import clip_segments

    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.2, 0.6, 0.1, 0.1]])
    seg = clip_segments(probs, FAKE_CLASSES, "sad", starts=[8, 0, 4], span=4, n_uniform=2)
    fig = timeline_figure(seg, FAKE_CLASSES, "sad", num_frames=12, saliency=np.linspace(0, 2, 12))
    bars = {t.name: t for t in fig.data if t.type == "bar"}
    assert set(bars) == {"happy", "sad (given)"}  # coloured by predicted class, the given marked
    assert bars["sad (given)"].marker.color == class_colours(FAKE_CLASSES)["sad"]
    assert list(fig.layout.yaxis.categoryarray) == ["1", "2★", "3"]  # lanes in start order, ★ = key clip
    line = next(t for t in fig.data if t.name == "P(sad) per clip")
    assert list(line.x) == [1.5, 5.5, 9.5] and list(line.y) == [0.7, 0.6, 0.1]
    sal = next(t for t in fig.data if t.name == "expression (saliency)")
    assert max(sal.y) == 1.0
    series = pd.DataFrame({"epoch": [1, 2, 3, 4], "agree_label": [0.2, 0.4, 0.6, 0.8],
                           "label_prob": [0.1] * 4, "in_window": [False, False, True, True]})
    spark = training_figure(series, "sad")
    (shade,) = spark.layout.shapes
    assert (shade.x0, shade.x1) == (2.5, 4.5)
