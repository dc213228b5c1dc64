"""Video page: the video, why it was flagged, and one keystroke per decision.

The verdict decides what is offered first (noisy: relabel to the suggestion; hard: keep the
given label); every decision, next/previous and replay have a key (app.keys). After a
decision the next video opens at the top of the page, playing, and a toast confirms it."""

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app import keys, state
from app.timeline import timeline_figure, training_figure
from curation.errors import CurationError
from curation.review.decisions import ConflictError
from curation.data.video import clip_span
from curation.review.evidence import (
    decision_actions,
    training_series,
    triage_config,
    video_evidence,
)
from curation.review.names import VERDICT_TEXT, field_help, plain_name
from curation.review.queue import format_duration, neighbours, next_after, progress, review_pace, time_left

SCORE_FIELDS = ["noise_score", "hardness", "agree_label", "agree_mode", "margin", "label_prob", "pred_label",
                "pred_conf", "consensus_label", "split"]
LOGGED_FIELDS = ["noise_score", "hardness", "agree_label", "agree_mode", "margin", "label_prob", "verdict",
                 "suggested_label", "consensus_label"]

state.init()
run = state.run_dir()
meta = state.manifest(run)
classes = meta["classes"]
ss = st.session_state
ss.setdefault("last_decision", None)  # video id of this session's latest decision (undo target)
table = state.table(run)
ids = state.queue(run)["video_id"].tolist()

vid = ss.video_id
if vid is None or vid not in set(table["video_id"]):
    vid = ids[0] if ids else (table["video_id"].iloc[0] if len(table) else None)
    if vid is None:
        st.info("This run has no scored videos.")
        st.stop()
    state.open_video(run, vid)

row = table.loc[table["video_id"] == vid].iloc[0]
mrow = meta["df"].loc[meta["df"]["video_id"] == vid].iloc[0]
prev_id, next_id = neighbours(ids, vid)
version = state.seen_version(run, vid)

# a new video (or a new version of it) scrolls the page to the top; V replays the video
st.html(keys.page_script(f"{vid}:{version}"), unsafe_allow_javascript=True)
st.title(f"Video {vid}")
pace = review_pace(state.events(run), annotator=ss.annotator)
left_todo = progress(table)["remaining"]
rate = (f" · {pace['per_hour']:.0f} decisions/h, {left_todo} flagged left ≈ "
        f"{format_duration(time_left(left_todo, pace['per_hour']))}") if pace else ""
pos = f"{ids.index(vid) + 1} / {len(ids)} in the queue" if vid in ids else "not in the current queue"
st.caption(f"{pos} · annotator **{ss.annotator}**{rate}")
toast = ss.pop("toast", None)
if toast:
    st.toast(toast, icon=":material/check_circle:")

if ss.get("decision_error"):
    st.error(ss.pop("decision_error"))
if ss.conflict:
    st.error(ss.conflict)
    if st.button("Reload this video's decisions", key="v_reload"):
        state.open_video(run, vid)
        st.rerun()

# -- evidence: recomputed from the clips the verdict came from ----------------------------
cfg = state.run_config(run)
tcfg, scfg = cfg.get("train", {}), cfg.get("score", {})
num_frames = int(mrow["num_frames"]) if pd.notna(mrow["num_frames"]) else 0
probs = state.clip_probs(run)
ev = None
if probs is not None:
    i = int(table.index[table["video_id"] == vid][0])
    starts = state.clip_starts(run)
    window = state.training_window(run)
    n_uniform = 1 if scfg.get("single_clip") else scfg.get("uniform_clips")
    try:
        ev = video_evidence(
            row, np.asarray(probs[i]), classes, starts=None if starts is None else np.asarray(starts[i]),
            span=clip_span(num_frames, int(tcfg.get("frames", 1)), int(tcfg.get("stride", 1)))[1] if num_frames else 1,
            n_uniform=n_uniform, training=window.get(vid) if window is not None else None,
            triage=triage_config(scfg.get("triage", scfg)))
    except ValueError as exc:
        st.warning(f"Cannot explain this verdict from the run's clip probabilities: {exc}")


def step(direction: int) -> None:
    """Open the next (+1) or previous (-1) video of the queue (a button callback), counted
    from the video current when the key arrives, so a key pressed while the page is still
    rendering moves on from the video being shown, not from the one before it."""
    here = ss.video_id or vid
    before, after = neighbours(ids, here)
    target = after if direction > 0 else before
    if target is not None:
        state.open_video(run, target)


def decide(kind: str, label: str | None, target_id: str | None = None) -> None:
    """Record a decision (a button callback, so the page then renders once, on the next video).

    ``target_id`` defaults to the video on screen; undo passes the video it revokes. A key
    pressed twice before the next video has rendered reaches this run's buttons again: once
    another video is current, such a click is ignored, never recorded twice."""
    if ss.video_id != vid:
        return
    target_id = target_id or vid
    target_row = table.loc[table["video_id"] == target_id].iloc[0]
    if kind == "relabel" and label is None:
        label = ss.get(f"v_target_{vid}")
    try:
        event = state.decision_log(run).record(
            video_id=target_id, action=kind, new_label=label, annotator=ss.annotator,
            note=ss.get(f"v_note_{vid}", ""), scores={c: target_row[c] for c in LOGGED_FIELDS},
            seen_version=state.seen_version(run, target_id))
    except ConflictError as exc:
        ss.conflict = str(exc)
        return
    except CurationError as exc:
        ss.decision_error = str(exc)
        return
    ss.seen[target_id] = event["version"]
    if kind == "undo":
        ss.last_decision = None
        ss.toast = f"Undid the decision on {target_id}; decide it again."
        nxt = target_id
    else:
        ss.last_decision = vid
        what = kind if event["new_label"] is None or kind == "keep" else f"{kind} → {event['new_label']}"
        ss.toast = f"Recorded {what} on {vid} (version {event['version']}) · {keys.KEYS['undo']} to undo"
        nxt = next_after(ids, state.queue(run)["video_id"].tolist(), vid)
    state.open_video(run, nxt if nxt is not None else vid)


# -- the video and the decisions, side by side in the first screen ----------------------------
left, right = st.columns([2, 3])
video_path = Path(meta["root"]) / str(mrow["path"])
with left:
    try:
        st.video(str(state.playable(run, video_path, vid)), autoplay=True, muted=True, loop=True)
    except (CurationError, OSError) as exc:
        st.error(f"Cannot show {video_path}: {exc}")

verdict = str(row["verdict"])
given = str(row["label"])
with right:
    st.markdown(f"**Verdict: {verdict}** — {VERDICT_TEXT.get(verdict, '')}")
    if ev is not None:
        st.markdown(f"<div data-testid='verdict-sentence' style='font-size:1.15rem'>{ev.sentence}</div>",
                    unsafe_allow_html=True)
        for note in ev.notes:
            st.caption(f"⚠️ {note}")
        if ev.opinions:
            st.caption(ev.opinions)
    suggestion = None if pd.isna(row["suggested_label"]) else str(row["suggested_label"])
    if verdict == "hard" and suggestion and suggestion != given:
        st.markdown(f"Given **{given}** · runner-up class {suggestion} (information only)")
    else:
        st.markdown(f"Given **{given}** · suggested **{suggestion}**")
    decided = bool(row["reviewed"])
    if decided:
        shown = row["final_label"] if pd.notna(row["final_label"]) else "excluded"
        st.success(f"Decided: {row['decision']} → {shown} (by {row['annotator']})")

    offered = ev.actions if ev is not None else decision_actions(verdict, given, suggestion)
    for col, act in zip(st.columns(len(offered)), offered):
        col.button(act.text, key=f"v_{act.kind}", shortcut=keys.KEYS[act.kind], width="stretch",
                   type="primary" if act.primary else "secondary", on_click=decide,
                   args=(act.kind, act.label if act.kind == "accept" else None))

    st.caption("Relabel to")
    per_row = 4
    shown_classes = classes[: keys.MAX_CLASS_KEYS]
    for r0 in range(0, len(shown_classes), per_row):
        for k, col in zip(range(r0, r0 + per_row), st.columns(per_row)):
            if k < len(shown_classes):
                col.button(shown_classes[k], key=f"v_to_{k}", shortcut=keys.class_key(k), width="stretch",
                           disabled=shown_classes[k] == given, on_click=decide, args=("relabel", shown_classes[k]))

    undo_id = vid if decided else ss.last_decision
    undo_ok = undo_id is not None and (undo_id == vid or bool(
        table.loc[table["video_id"] == undo_id, "reviewed"].any()))
    n0, n1, n2, n3, n4 = st.columns(5)
    n0.button("Exclude", key="v_exclude", shortcut=keys.KEYS["exclude"], width="stretch",
              help="leave the video out of the curated export", on_click=decide, args=("exclude", None))
    n1.button("Undo", key="v_undo", disabled=not undo_ok, shortcut=keys.KEYS["undo"], width="stretch",
              help="undo this video's decision, else your last one" + (
                  f" (on {undo_id})" if undo_ok and undo_id != vid else ""),
              on_click=decide, args=("undo", None, undo_id))
    n2.button("Prev", disabled=prev_id is None, key="v_prev", shortcut=keys.KEYS["previous"], width="stretch",
              help="previous video in the queue", on_click=step, args=(-1,))
    n3.button("Next", disabled=next_id is None, key="v_next", shortcut=keys.KEYS["next"], width="stretch",
              help="next video in the queue, without deciding", on_click=step, args=(1,))
    if n4.button("Queue", key="v_queue", shortcut=keys.KEYS["queue"], width="stretch"):
        st.switch_page(state.PAGES["queue"])
    note_col, target_col, go_col = st.columns([3, 2, 2], vertical_alignment="bottom")
    note_col.text_input("Note (optional)", key=f"v_note_{vid}")
    if len(classes) > keys.MAX_CLASS_KEYS:  # classes past the ninth have no digit: pick them here
        others = [c for c in classes if c != given]
        target = target_col.selectbox("Relabel to", others, key=f"v_target_{vid}",
                                      index=others.index(suggestion) if verdict == "noisy" and suggestion in others
                                      else 0)
        go_col.button(f"Relabel to {target}", key="v_relabel", width="stretch", on_click=decide,
                      args=("relabel", None))  # the box's value at click time
    st.caption(keys.legend(classes))

# -- the timeline under the player: what the verdict was computed from ------------------------
with left:
    if ev is None:
        st.caption(f"No clip probabilities: run `dfer-curate score {run.path}`.")
    elif ev.segments["start"].isna().any():
        st.caption("Clip positions are unknown (clip_starts.npy is missing): re-run `dfer-curate score`.")
    else:
        sal = state.video_rows(run, "saliency", vid)
        sal = None if sal is None or sal.empty else sal.sort_values("frame")["saliency"].to_numpy()
        st.plotly_chart(timeline_figure(ev.segments, classes, given, num_frames=num_frames or
                                        int(ev.segments["end"].max()) + 1, saliency=sal),
                        width="stretch", key="v_timeline", config={"displayModeBar": False})
    if ev is not None and ev.n_training_clips:
        dyn = state.video_rows(run, "dynamics", vid)
        if dyn is not None and len(dyn):
            lo, hi = ev.training_epochs or (0, -1)
            st.caption(f"{ev.n_training_clips} of the {ev.n_clips} clips counted come from training"
                       + (f" epochs {lo}–{hi} (shaded)" if ev.training_epochs else ""))
            st.plotly_chart(training_figure(training_series(dyn, vid, ev.training_epochs), given),
                            width="stretch", key="v_training", config={"displayModeBar": False})

# -- details, below the first screen ------------------------------------------------------------
st.divider()
try:
    frames = state.key_frames(str(video_path), video_path.stat().st_mtime_ns)
    st.image([f for _, f in frames], caption=[f"frame {i}" for i, _ in frames], width=96)
except (CurationError, OSError) as exc:
    st.caption(f"No key frames: {exc}")
metric_cols = st.columns(4)
for k, name in enumerate([f for f in [*SCORE_FIELDS, "suggested_lead", "score_source"] if f in row.index]):
    value = row[name]
    shown = f"{value:.2f}" if isinstance(value, (float, np.floating)) else str(value)
    metric_cols[k % 4].metric(plain_name(name), shown, help=field_help(name))
base = state.baselines(run)
if base is not None:
    b = base.loc[base["video_id"] == vid]
    if len(b):
        b = b.iloc[0]
        methods = state.methods(run)
        view = pd.DataFrame({
            "flag": [bool(b[f"{m}_flag"]) for m in methods],
            "score": [float(b[f"{m}_score"]) if f"{m}_score" in b.index else np.nan for m in methods],
        }, index=methods)
        st.caption("Baselines' view (flag = likely mislabelled)")
        st.dataframe(view, width="stretch")
else:
    st.caption(f"No baselines: run `dfer-curate baselines {run.path}`.")

hist = state.reader(run).events(vid)
if len(hist):
    with st.expander(f"History of {vid} ({len(hist)} events)"):
        st.dataframe(hist[["version", "time", "annotator", "action", "new_label", "note"]], hide_index=True)
