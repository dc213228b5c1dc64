"""The video page's evidence figures: the clip timeline under the player and the training
sparkline. Pure plotly over curation.review.evidence tables, so tests can read the traces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.colors as pc
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TIMELINE_HEIGHT = 330


def class_colours(classes: Sequence[str]) -> dict[str, str]:
    """One stable colour per class, in class order (the same on every video)."""
    palette = pc.qualitative.Plotly if len(classes) <= 10 else pc.qualitative.Alphabet
    return {c: palette[i % len(palette)] for i, c in enumerate(classes)}


def timeline_figure(segments: pd.DataFrame, classes: Sequence[str], given: str, *, num_frames: int,
                    saliency: np.ndarray | None = None) -> go.Figure:
    """Top: every scored clip as a bar over the frames it covers, one lane per clip in start
    order, coloured by its predicted class. Bottom: the given label's probability per clip
    (at the clip's centre) and the per-frame saliency (where the expression is).

    ``segments`` is curation.review.evidence.clip_segments with known starts."""
    colours = class_colours(classes)
    seg = segments.reset_index(drop=True)
    lane = [f"{i + 1}{'★' if k == 'key' else ''}" for i, k in enumerate(seg["kind"])]
    start = seg["start"].to_numpy(dtype=float)
    end = seg["end"].to_numpy(dtype=float)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.58, 0.42], vertical_spacing=0.07)
    for cls in classes:
        on = (seg["predicted"] == cls).to_numpy()
        if not on.any():
            continue
        fig.add_trace(go.Bar(
            orientation="h", base=start[on], x=end[on] - start[on] + 1, y=np.array(lane)[on],
            marker={"color": colours[cls], "line": {"width": 2 if cls == given else 0, "color": "#222"}},
            name=f"{cls} (given)" if cls == given else cls, legendgroup="clips",
            customdata=np.stack([seg.loc[on, "clip"], seg.loc[on, "predicted_prob"], seg.loc[on, "given_prob"],
                                 start[on], end[on]], axis=1),
            hovertemplate=("clip %{customdata[0]}: frames %{customdata[3]:.0f}–%{customdata[4]:.0f}<br>"
                           f"{cls} %{{customdata[1]:.0%}}, given {given} %{{customdata[2]:.0%}}<extra></extra>"),
        ), row=1, col=1)
    centre = (start + end) / 2.0
    fig.add_trace(go.Scatter(
        x=centre, y=seg["given_prob"], mode="lines+markers", name=f"P({given}) per clip",
        line={"color": colours.get(given, "#333"), "width": 3}, marker={"size": 7},
        hovertemplate=f"frame %{{x:.0f}}: {given} %{{y:.0%}}<extra></extra>",
    ), row=2, col=1)
    if saliency is not None and len(saliency):
        s = np.asarray(saliency, dtype=float)
        top = s.max() if np.isfinite(s).all() and s.max() > 0 else 1.0
        fig.add_trace(go.Scatter(
            x=np.arange(len(s)), y=s / top, mode="lines", fill="tozeroy", name="expression (saliency)",
            line={"color": "rgba(120,120,120,0.8)", "width": 1}, fillcolor="rgba(160,160,160,0.3)",
            hovertemplate="frame %{x}: saliency %{y:.2f}<extra></extra>",
        ), row=2, col=1)
    fig.update_yaxes(autorange="reversed", title_text="clip (★ key)", type="category", categoryorder="array",
                     categoryarray=lane, row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], title_text=f"P({given})", tickformat=".0%", row=2, col=1)
    fig.update_xaxes(range=[-0.5, max(num_frames, 1) - 0.5], row=1, col=1)
    fig.update_xaxes(title_text="frame", row=2, col=1)
    fig.update_layout(height=TIMELINE_HEIGHT, barmode="overlay", bargap=0.25,
                      margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                      hovermode="closest")
    return fig


def training_figure(series: pd.DataFrame, given: str) -> go.Figure:
    """Share of the training-pass clips agreeing with the given label at every epoch, the
    epochs whose clips entered the verdict shaded."""
    fig = go.Figure(go.Scatter(
        x=series["epoch"], y=series["agree_label"], mode="lines+markers", name="clips agreeing with the label",
        line={"width": 2}, hovertemplate="epoch %{x}: %{y:.0%} of the clips on " + given + "<extra></extra>",
    ))
    win = series.loc[series["in_window"], "epoch"]
    if len(win):
        fig.add_vrect(x0=win.min() - 0.5, x1=win.max() + 0.5, fillcolor="rgba(99,110,250,0.12)", line_width=0,
                      annotation_text="counted in the verdict", annotation_position="top left")
    fig.update_layout(height=170, margin={"l": 10, "r": 10, "t": 24, "b": 10}, showlegend=False,
                      xaxis_title="training epoch", yaxis={"range": [0, 1.05], "tickformat": ".0%"})
    return fig
