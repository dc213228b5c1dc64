"""Video page: play the video, see its key frames and per-clip probabilities, decide."""

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import state
from curation.review.decisions import ConflictError
from curation.errors import CurationError
from curation.review.queue import neighbours, next_after

state.init()
run = state.run_dir()
meta = state.manifest(run)
classes = meta["classes"]
ss = st.session_state
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

# -- header and navigation ---------------------------------------------------------------
st.title(f"Video {vid}")
pos = f"{ids.index(vid) + 1} / {len(ids)} in the queue" if vid in ids else "not in the current queue"
st.caption(f"{pos} · annotator **{ss.annotator}**")
state.show_flash()
n1, n2, n3 = st.columns([1, 1, 4])
if n1.button("← Previous", disabled=prev_id is None, key="v_prev"):
    state.open_video(run, prev_id)
    st.rerun()
if n2.button("Next →", disabled=next_id is None, key="v_next"):
    state.open_video(run, next_id)
    st.rerun()
if n3.button("Back to queue", key="v_queue"):
    st.switch_page(state.PAGES["queue"])

if ss.conflict:
    st.error(ss.conflict)
    if st.button("Reload this video's decisions", key="v_reload"):
        state.open_video(run, vid)
        st.rerun()

# -- the video, its key frames, its labels -------------------------------------------------
left, right = st.columns([3, 2])
video_path = Path(meta["root"]) / str(mrow["path"])
with left:
    try:
        st.video(str(state.playable(run, video_path, vid)))
        frames = state.key_frames(str(video_path), video_path.stat().st_mtime_ns)
        st.image([f for _, f in frames], caption=[f"frame {i}" for i, _ in frames], width=96)
    except (CurationError, OSError) as exc:
        st.error(f"Cannot show {video_path}: {exc}")

with right:
    decided = bool(row["reviewed"])
    st.markdown(
        f"**Given label:** {row['label']}  \n**Consensus of clips:** {row['consensus_label']}  \n"
        f"**Suggested:** {row['suggested_label']}  \n**Verdict:** {row['verdict']}"
    )
    if decided:
        shown = row["final_label"] if pd.notna(row["final_label"]) else "excluded"
        st.success(f"Decision: {row['decision']} → {shown} (by {row['annotator']})")
    else:
        st.info("Not reviewed yet.")
    score_cols = ["noise_score", "hardness", "agree_label", "agree_mode", "margin", "label_prob",
                  "pred_label", "pred_conf", "split"]
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    st.dataframe(pd.DataFrame({"value": [fmt(row[c]) for c in score_cols]}, index=score_cols),
                 width="stretch")
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

# -- per-clip probabilities along the timeline --------------------------------------------
probs = state.clip_probs(run)
if probs is not None:
    i = int(table.index[table["video_id"] == vid][0])
    p = np.asarray(probs[i])  # (M, C)
    m = p.shape[0]
    n_frames = int(mrow["num_frames"]) if pd.notna(mrow["num_frames"]) else m
    starts = state.clip_starts(run)
    if starts is not None:
        x = np.asarray(starts[i], dtype=float)
        xtitle = "clip start frame (from clip_starts.npy)"
    else:
        x = (np.arange(m) + 0.5) * n_frames / m
        xtitle = "clip centre frame (uniform segments)"
    given = str(row["label"])
    consensus = str(row["consensus_label"]) if pd.notna(row["consensus_label"]) else None
    fig = go.Figure()
    for c, name in enumerate(classes):
        special = name in (given, consensus)
        tag = " (given)" if name == given else ""
        tag += " (consensus)" if name == consensus else ""
        fig.add_trace(go.Scatter(
            x=x, y=p[:, c], mode="lines+markers", name=name + tag,
            line={"width": 4 if special else 1.5, "dash": "dash" if name == given else "solid"},
            opacity=1.0 if special else 0.45,
        ))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title="Per-clip class probabilities", xaxis_title=xtitle, yaxis_title="probability",
                      yaxis_range=[0, 1])
    st.plotly_chart(fig, width="stretch", key="v_chart")

# -- decisions ------------------------------------------------------------------------------
st.subheader("Decision")
note = st.text_input("Note (optional)", key=f"v_note_{vid}")
a1, a2, a3, a4, a5 = st.columns([2, 3, 2, 2, 2])
suggestion = row["suggested_label"] if pd.notna(row["suggested_label"]) else None
others = [c for c in classes if c != row["label"]]
action = None
if a1.button(f"Accept → {suggestion}", help="accept the suggested label", disabled=suggestion is None, key="v_accept",
             type="primary"):
    action = ("accept", suggestion)
target = a2.selectbox("Relabel to", others, key=f"v_target_{vid}",
                      index=others.index(suggestion) if suggestion in others else 0)
if a2.button(f"Relabel to {target}", key="v_relabel"):
    action = ("relabel", target)
if a3.button("Keep as hard", key="v_keep"):
    action = ("keep", None)
if a4.button("Exclude", key="v_exclude"):
    action = ("exclude", None)
if a5.button("Undo decision", disabled=not decided, key="v_undo"):
    action = ("undo", None)

if action is not None:
    kind, label = action
    score_cols = [c for c in ("noise_score", "hardness", "agree_label", "agree_mode", "margin",
                              "label_prob", "verdict", "suggested_label", "consensus_label")]
    try:
        event = state.decision_log(run).record(
            video_id=vid, action=kind, new_label=label, annotator=ss.annotator, note=note,
            scores={c: row[c] for c in score_cols}, seen_version=state.seen_version(run, vid),
        )
    except ConflictError as exc:
        ss.conflict = str(exc)
        st.rerun()
    except CurationError as exc:
        st.error(str(exc))
    else:
        ss.seen[vid] = event["version"]
        after = state.queue(run)["video_id"].tolist()
        nxt = next_after(ids, after, vid) if kind != "undo" else vid
        what = kind if label is None else f"{kind} → {label}"
        state.flash("success", f"Recorded {what} on {vid} (version {event['version']}).")
        state.open_video(run, nxt if nxt is not None else vid)
        st.rerun()

hist = state.reader(run).events(vid)
if len(hist):
    with st.expander(f"History of {vid} ({len(hist)} events)"):
        st.dataframe(hist[["version", "time", "annotator", "action", "new_label", "note"]], hide_index=True)
