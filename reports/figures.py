"""Plotly figure builders for the audit report: pure functions from DataFrames to figures.

Every builder pre-aggregates (histogram bins, sampled points, thinned curves) so the HTML
stays small however many videos a run holds. Colours are fixed per verdict (Okabe-Ito,
readable by colour-blind readers) so every figure speaks the same language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curation.schema import VERDICTS

# Okabe-Ito colours in the order of schema.VERDICTS (clean, hard, hard-or-noisy, noisy)
VERDICT_COLORS = dict(zip(VERDICTS, ("#009E73", "#E69F00", "#CC79A7", "#D55E00"), strict=True))
METHOD_PALETTE = (
    "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999",
    "#F0E442", "#8C564B",
)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Liberation Sans', sans-serif"


def _style(fig: go.Figure, *, height: int = 380, title: str | None = None) -> go.Figure:
    fig.update_layout(
        template="plotly_white", height=height, font=dict(family=FONT, size=12),
        margin=dict(l=60, r=20, t=40 if title else 20, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
        title=dict(text=title, x=0.01, font=dict(size=14)) if title else None,
    )
    return fig


def _verdicts_present(scores: pd.DataFrame) -> list[str]:
    order = list(VERDICTS)
    seen = set(scores["verdict"].astype(str))
    return [v for v in order if v in seen] + sorted(seen - set(order))


def score_distributions(scores: pd.DataFrame, *, bins: int = 40) -> go.Figure:
    """Histograms of ``noise_score`` and ``hardness`` per verdict, binned here (not in JS)
    so the figure's size does not grow with the number of videos."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("noise_score", "hardness"),
                        horizontal_spacing=0.08)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    for verdict in _verdicts_present(scores):
        part = scores[scores["verdict"] == verdict]
        for col, column in enumerate(("noise_score", "hardness"), start=1):
            values = np.clip(part[column].to_numpy(dtype=float), 0.0, 1.0)
            counts, _ = np.histogram(values[np.isfinite(values)], bins=edges)
            fig.add_trace(go.Bar(
                x=centres, y=counts, width=1.0 / bins, name=verdict, legendgroup=verdict,
                showlegend=col == 1, marker_color=VERDICT_COLORS.get(verdict, "#777"),
                hovertemplate=f"{verdict}<br>{column} %{{x:.3f}}<br>%{{y}} videos<extra></extra>",
            ), row=1, col=col)
    fig.update_layout(barmode="stack", bargap=0.05)
    fig.update_xaxes(range=[-0.02, 1.02])
    fig.update_yaxes(title_text="videos", row=1, col=1)
    fig = _style(fig, height=400)
    # legend above the subplot titles, not on top of them
    fig.update_layout(legend=dict(y=1.12), margin=dict(t=70))
    return fig


def agreement_scatter(scores: pd.DataFrame, *, max_points: int = 5000, seed: int = 0) -> go.Figure:
    """``agree_label`` (share of clips predicting the given label) against ``label_prob``,
    one point per video coloured by verdict; at most ``max_points`` drawn at random (seeded)."""
    data = scores
    if len(data) > max_points:
        data = data.sample(n=max_points, random_state=seed)
    rng = np.random.default_rng(seed)
    fig = go.Figure()
    for verdict in _verdicts_present(data):
        part = data[data["verdict"] == verdict]
        # agree_label takes few distinct values (k/M): jitter so stacked points show as a cloud
        jitter = rng.uniform(-0.012, 0.012, len(part))
        fig.add_trace(go.Scatter(  # SVG, not WebGL: renders without a GPU and in kaleido
            x=part["label_prob"].to_numpy(dtype=float),
            y=part["agree_label"].to_numpy(dtype=float) + jitter,
            mode="markers", name=verdict,
            marker=dict(color=VERDICT_COLORS.get(verdict, "#777"), size=6, opacity=0.6),
            customdata=np.stack([part["video_id"].astype(str), part["label"].astype(str),
                                 part["consensus_label"].astype(str)], axis=-1),
            hovertemplate=("%{customdata[0]}<br>given %{customdata[1]}, clips say %{customdata[2]}"
                           "<br>label_prob %{x:.3f}<extra>" + verdict + "</extra>"),
        ))
    fig.update_xaxes(title_text="label_prob (mean probability of the given label)", range=[-0.02, 1.02])
    fig.update_yaxes(title_text="agree_label (share of clips on the given label)", range=[-0.05, 1.05])
    return _style(fig, height=420)


def confusion_matrix(scores: pd.DataFrame, classes: list[str]) -> go.Figure:
    """Given label (rows) against the clips' consensus label (columns); colour = share of
    the row, text = count. Off-diagonal mass is where the labels and the clips disagree."""
    classes = list(classes)
    counts = pd.crosstab(
        pd.Categorical(scores["label"].astype(str), categories=classes),
        pd.Categorical(scores["consensus_label"].astype(str), categories=classes),
        dropna=False,
    ).reindex(index=classes, columns=classes, fill_value=0).to_numpy()
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(
        z=share, x=classes, y=classes, text=counts, texttemplate="%{text}",
        colorscale="Blues", zmin=0, zmax=1, colorbar=dict(title="row share"),
        hovertemplate="given %{y}, clips say %{x}<br>%{text} videos (%{z:.1%} of row)<extra></extra>",
    ))
    fig.update_xaxes(title_text="consensus of the clips", side="bottom")
    fig.update_yaxes(title_text="given label", autorange="reversed")
    side = max(360, 60 + 42 * len(classes))
    return _style(fig, height=side)


def class_verdicts(scores: pd.DataFrame, classes: list[str]) -> go.Figure:
    """Stacked bars of verdict counts per given label."""
    fig = go.Figure()
    table = pd.crosstab(scores["label"].astype(str), scores["verdict"].astype(str))
    table = table.reindex(index=list(classes), fill_value=0)
    for verdict in _verdicts_present(scores):
        fig.add_trace(go.Bar(
            x=list(table.index), y=table[verdict].to_numpy() if verdict in table else np.zeros(len(table)),
            name=verdict, marker_color=VERDICT_COLORS.get(verdict, "#777"),
            hovertemplate="%{x}: %{y} " + verdict + "<extra></extra>",
        ))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="given label")
    fig.update_yaxes(title_text="videos")
    return _style(fig)


def sample_dynamics_videos(dynamics: pd.DataFrame, verdicts: pd.Series, *, per_verdict: int = 6,
                           seed: int = 0) -> dict[str, list[str]]:
    """Up to ``per_verdict`` video ids per verdict (seeded), among those with dynamics rows.
    ``verdicts`` maps video_id -> final verdict."""
    have = pd.Index(dynamics["video_id"].astype(str).unique())
    verdicts = verdicts[verdicts.index.isin(have)]
    rng = np.random.default_rng(seed)
    out = {}
    for verdict in [v for v in VERDICTS if v in set(verdicts)]:
        ids = np.sort(verdicts.index[verdicts == verdict].to_numpy().astype(str))
        take = min(per_verdict, len(ids))
        out[verdict] = sorted(rng.choice(ids, size=take, replace=False).tolist()) if take else []
    return out


def dynamics_lines(dynamics: pd.DataFrame, verdicts: pd.Series, *, column: str = "agree_label",
                   per_verdict: int = 6, seed: int = 0) -> go.Figure:
    """``column`` over training epochs: thin lines for sampled videos per final verdict,
    a thick line for the mean of all videos with that verdict."""
    dyn = dynamics.assign(video_id=dynamics["video_id"].astype(str))
    dyn = dyn.assign(final=dyn["video_id"].map(verdicts))
    picks = sample_dynamics_videos(dyn, verdicts, per_verdict=per_verdict, seed=seed)
    fig = go.Figure()
    for verdict, ids in picks.items():
        color = VERDICT_COLORS.get(verdict, "#777")
        for j, vid in enumerate(ids):
            one = dyn[dyn["video_id"] == vid].sort_values("epoch")
            fig.add_trace(go.Scatter(
                x=one["epoch"], y=one[column], mode="lines", line=dict(color=color, width=1),
                opacity=0.45, name=verdict, legendgroup=verdict, showlegend=False,
                hovertemplate=f"{vid} ({verdict})<br>epoch %{{x}}: %{{y:.2f}}<extra></extra>",
            ))
        mean = dyn[dyn["final"] == verdict].groupby("epoch")[column].mean()
        fig.add_trace(go.Scatter(
            x=mean.index, y=mean.to_numpy(), mode="lines+markers", line=dict(color=color, width=4),
            name=f"{verdict} (mean)", legendgroup=verdict,
            hovertemplate=f"mean of {verdict}<br>epoch %{{x}}: %{{y:.2f}}<extra></extra>",
        ))
    fig.update_xaxes(title_text="epoch", dtick=1 if dyn["epoch"].nunique() <= 20 else None)
    fig.update_yaxes(title_text=column, range=[-0.05, 1.05] if column in ("agree_label", "agree_mode", "label_prob") else None)
    return _style(fig)


def _thin(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most ``max_points`` of a curve (first and last always kept)."""
    if len(x) <= max_points:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
    return x[idx], y[idx]


def roc_pr_curves(is_noisy: np.ndarray, method_scores: dict[str, np.ndarray], *,
                  max_points: int = 400) -> go.Figure:
    """ROC (left) and precision-recall (right) of each method's score against ground truth
    (score higher = label more likely wrong)."""
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    is_noisy = np.asarray(is_noisy, dtype=bool)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("ROC", "precision-recall"),
                        horizontal_spacing=0.1)
    for i, (name, score) in enumerate(method_scores.items()):
        score = np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf)
        color = METHOD_PALETTE[i % len(METHOD_PALETTE)]
        dash = ("solid", "dash", "dot")[(i // len(METHOD_PALETTE)) % 3]  # more methods than colours
        width = 3.5 if i == 0 else 1.8
        fpr, tpr, _ = roc_curve(is_noisy, score)
        prec, rec, _ = precision_recall_curve(is_noisy, score)
        fx, fy = _thin(fpr, tpr, max_points)
        rx, ry = _thin(rec[::-1], prec[::-1], max_points)
        fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines", name=f"{name} (AUC {auc(fpr, tpr):.3f})",
                                 legendgroup=name, line=dict(color=color, width=width, dash=dash)), row=1, col=1)
        fig.add_trace(go.Scatter(x=rx, y=ry, mode="lines", name=name, legendgroup=name,
                                 showlegend=False, line=dict(color=color, width=width, dash=dash)), row=1, col=2)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#bbb", dash="dot"),
                             showlegend=False, hoverinfo="skip"), row=1, col=1)
    fig.update_xaxes(title_text="false positive rate", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="true positive rate", range=[0, 1.02], row=1, col=1)
    fig.update_xaxes(title_text="recall", range=[0, 1], row=1, col=2)
    fig.update_yaxes(title_text="precision", range=[0, 1.02], row=1, col=2)
    # one legend entry per method, to the right; the figure grows with the methods so the
    # legend always fits beside the plots (never behind a scrollbar)
    fig = _style(fig, height=max(430, 110 + 24 * len(method_scores)))
    fig.update_layout(legend=dict(orientation="v", yanchor="top", y=1, x=1.02, xanchor="left",
                                  font=dict(size=11), tracegroupgap=2), margin=dict(r=10))
    return fig
