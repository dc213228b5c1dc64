"""Overview page: given labels vs the labels the default decisions leave, verdicts per class,
progress per annotator."""

import plotly.graph_objects as go
import streamlit as st

from app import state
from curation.review.queue import annotator_progress, confusion, progress, verdict_counts

state.init()
run = state.run_dir()
classes = state.classes(run)
table = state.table(run)
current = state.current(run)

st.title("Overview")
state.show_model_warning(run)
p = progress(table)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Videos scored", f"{len(table):,}")
c2.metric("Flagged for review", f"{p['flagged']:,}")
c3.metric("Reviewed", f"{p['reviewed']:,}")
c4.metric("Remaining", f"{p['remaining']:,}")

st.subheader("Given label vs the label the default decisions leave")
st.caption("Noisy videos move to their suggested label; every other video keeps its label until an annotator "
           "decides (on the diagonal).")
only_flagged = st.checkbox("Flagged videos only", value=False, key="o_flagged")
cm = confusion(table, classes, only_flagged=only_flagged, column="proposed_label")
fig = go.Figure(go.Heatmap(z=cm.to_numpy(), x=list(cm.columns), y=list(cm.index), colorscale="Blues",
                           text=cm.to_numpy(), texttemplate="%{text}", hovertemplate=
                           "given %{y}, after the default decision %{x}: %{z}<extra></extra>"))
fig.update_layout(height=120 + 40 * len(classes), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                  xaxis_title="after the default decision", yaxis_title="given", yaxis_autorange="reversed")
st.plotly_chart(fig, width="stretch", key="o_confusion")

st.subheader("Verdicts per given class")
vc = verdict_counts(table, classes)
st.dataframe(vc, width="stretch")

st.subheader("Review progress per annotator")
ap = annotator_progress(current, table)
if ap.empty:
    st.info("No decisions yet.")
else:
    st.dataframe(ap, width="stretch")
