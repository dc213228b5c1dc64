"""Queue page: flagged videos in review order (most likely wrong labels first, hard videos
last), with filters, review progress, the annotator's pace and the time left."""

import streamlit as st

from app import state
from curation.review.names import field_help, plain_name
from curation.review.queue import (
    BASELINE_STATES,
    KNOWN_VERDICTS,
    REVIEW_STATES,
    SORT_KEYS,
    default_baseline,
    format_duration,
    progress,
    review_pace,
    time_left,
)

PAGE_SIZE = 50
SHOW_COLUMNS = ["video_id", "split", "label", "suggested_label", "verdict", "noise_score", "hardness",
                "agree_mode", "score_source", "baseline_flag", "decision", "final_label", "annotator"]

state.init()
run = state.run_dir()
classes = state.classes(run)
ss = st.session_state

st.title("Review queue")
st.caption(f"Run `{run.path}` · annotator **{ss.annotator}**")
state.show_flash()
state.show_model_warning(run)

table = state.table(run)
p = progress(table)
st.progress(p["share"], text=f"Reviewed {p['reviewed']} / {p['flagged']} flagged")
pace = review_pace(state.events(run), annotator=ss.annotator)
if pace:
    st.caption(f"You are deciding **{pace['per_hour']:.0f} videos an hour** ({pace['decisions']} in the last "
               f"{pace['minutes']:.0f} min); the {p['remaining']} flagged videos left take about "
               f"**{format_duration(time_left(p['remaining'], pace['per_hour']))}** at that pace.")

# Filters: widgets are seeded from the stored filter (it outlives page switches; widget
# state does not), and their values are written back to it.
f = ss["filter"]
present = set(table["verdict"].astype(str))
verdict_options = [v for v in KNOWN_VERDICTS if v in present or v in ("noisy", "hard", "clean")]
seed = {"q_sort": f["sort_by"], "q_verdicts": [v for v in f["verdicts"] if v in verdict_options], "q_given": list(f["given"]),
        "q_suggested": list(f["suggested"]), "q_range": tuple(f["score_range"]),
        "q_reviewed": f["reviewed"], "q_baseline": f["baseline"], "q_splits": list(f["splits"])}
for key, value in seed.items():
    ss.setdefault(key, value)

c1, c2, c3, c4 = st.columns(4)
SORT_NAMES = {"review_value": "Wrong labels first", "noise_score": plain_name("noise_score"),
              "hardness": plain_name("hardness")}
sort_by = c1.radio("Order", SORT_KEYS, key="q_sort", horizontal=True, format_func=SORT_NAMES.get,
                   help="Wrong labels first: noisy verdicts, then undecided flags, then hard videos (whose "
                        "label is probably right), each by the wrong-label score")
verdicts = c1.multiselect("Verdict", verdict_options, key="q_verdicts")
given = c2.multiselect("Given class", classes, key="q_given", placeholder="all classes")
suggested = c2.multiselect("Suggested class", classes, key="q_suggested", placeholder="all classes")
range_field = "hardness" if sort_by == "hardness" else "noise_score"
score_range = c3.slider(f"{plain_name(range_field)} range", 0.0, 1.0, key="q_range", step=0.01,
                        help=field_help(range_field))
reviewed = c3.radio("Reviewed", REVIEW_STATES, key="q_reviewed", horizontal=True)
# Train videos are scored with their training dynamics, val/test ones by the final model
# alone, so their scores rank differently; the split filter lets a reviewer take one at a time.
splits = c3.multiselect("Split", sorted(state.scores(run)["split"].unique()), key="q_splits",
                        placeholder="all splits")
methods = state.methods(run)
if methods:
    if ss.get("q_method") not in methods:
        ss.q_method = ss.baseline_method if ss.baseline_method in methods else default_baseline(methods)
    method = c4.selectbox("Baseline", methods, key="q_method")
    ss.baseline_method = method
    baseline = c4.radio("Our noisy verdict vs baseline flag", BASELINE_STATES, key="q_baseline")
else:
    baseline = "any"
    c4.caption(f"No baselines: run `dfer-curate baselines {run.path}` to compare with cleanlab.")

ss["filter"] = {**f, "sort_by": sort_by, "verdicts": tuple(verdicts), "given": tuple(given),
                "suggested": tuple(suggested), "score_range": tuple(score_range),
                "reviewed": reviewed, "baseline": baseline, "splits": tuple(splits)}
if ss["filter"] != f:
    ss.q_pagenum = 1

table = state.table(run)  # the baseline method may have changed
queue = state.queue(run)
ids = queue["video_id"].tolist()
st.markdown(f"**{len(queue)}** videos match (of {len(table)} scored).")

pages = max(1, -(-len(queue) // PAGE_SIZE))
ss.q_pagenum = min(max(1, int(ss.get("q_pagenum", 1))), pages)
if pages > 1:
    st.number_input(f"Page (of {pages}, {PAGE_SIZE} a page)", 1, pages, key="q_pagenum")
start = (ss.q_pagenum - 1) * PAGE_SIZE
shown = queue.iloc[start:start + PAGE_SIZE]
cols = [c for c in SHOW_COLUMNS if c in shown.columns]
st.dataframe(shown[cols], hide_index=True, width="stretch",
             column_config={c: st.column_config.Column(plain_name(c), help=field_help(c)) for c in cols})

c1, c2, c3 = st.columns([3, 1, 1])
if len(shown):
    labels = {v: f"{v} · {g} → {s} · {vd}" for v, g, s, vd in
              zip(shown["video_id"], shown["label"], shown["suggested_label"], shown["verdict"])}
    chosen = c1.selectbox("Video", list(labels), format_func=labels.get, key="q_open_choice")
    if c2.button("Open video", key="q_open"):
        state.open_video(run, chosen)
        st.switch_page(state.PAGES["video"])
unreviewed = queue.loc[~queue["reviewed"], "video_id"]
if c3.button("Review next unreviewed", type="primary", disabled=unreviewed.empty, key="q_next"):
    state.open_video(run, unreviewed.iloc[0])
    st.switch_page(state.PAGES["video"])
if queue.empty:
    st.info("No video matches these filters.")
