"""The report's HTML: one function per section of the page, each returning its card,
figures collected in page order by :class:`Figures`. :func:`render` builds them all."""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd

from curation.schema import VERDICTS
from curation.audit.metrics import detection_table, noisy_vs_hard_by_kind
from reports.images import collect_strips
from reports.inputs import Inputs, ReportConfig, software_versions
from reports.tables import OURS, baseline_methods, method_table, overlap_table

# the page's figure order (baselines are drawn first, to feed the header)
FIGURE_ORDER = ("distributions", "scatter", "confusion", "class_verdicts", "dynamics", "roc_pr")


def render(inputs: Inputs, s: dict, cfg: ReportConfig, progress: bool) -> tuple[str, list, "Figures"]:
    """(header, [(section id, nav label, html), ...], figures in page order) of the page."""
    figs = Figures()
    baselines_html, det = _baselines_section(inputs, figs)
    sections = [
        ("summary", "Summary", _summary_section(inputs, s)),
        ("scores", "Scores", _scores_section(inputs, figs, cfg)),
        ("classes", "Classes", _classes_section(inputs, figs)),
        ("dynamics", "Training dynamics", _dynamics_section(inputs, figs, cfg)),
        ("baselines", "Baselines", baselines_html),
        ("videos", "Videos to review", _videos_section(inputs, cfg, progress)),
        ("review", "Review & exports", _review_section(inputs)),
        ("config", "Configuration", _config_section(inputs)),
    ]
    order = {k: i for i, k in enumerate(FIGURE_ORDER)}
    figs.items.sort(key=lambda kv: order.get(kv[0], 99))
    return _header(inputs, s, det), sections, figs


# --------------------------------------------------------------------------- HTML helpers

def _e(x) -> str:
    return html.escape(str(x))


def _int(x) -> str:
    return f"{int(x):,}"


def _pct(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.1%}"


def _f(x, digits: int = 3) -> str:
    return "–" if x is None or not np.isfinite(float(x)) else f"{float(x):.{digits}f}"


def _missing(text: str) -> str:
    return f'<p class="missing">{text}</p>'


def _section(sid: str, title: str, body: str) -> str:
    return f'<section class="card" id="{sid}"><h2>{_e(title)}</h2>\n{body}\n</section>'


def _table(df: pd.DataFrame, *, formats: dict | None = None, numeric: set | None = None,
           row_attr: str | None = None, cls: str = "") -> str:
    formats = formats or {}
    numeric = numeric or set()
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{_e(c)}</th>' for c in df.columns)
    body = []
    for _, r in df.iterrows():
        attr = f' data-row="{_e(r[row_attr])}"' if row_attr else ""
        cells = "".join(
            f'<td class="{"num" if c in numeric else ""}" data-col="{_e(c)}">'
            f'{formats[c](r[c]) if c in formats else _e(r[c])}</td>' for c in df.columns)
        body.append(f"<tr{attr}>{cells}</tr>")
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Figures:
    """Collects figures in order; renders each as a div (plotly.js is inlined once, in <head>)."""

    def __init__(self):
        self.items: list[tuple[str, object]] = []

    def add(self, key: str, fig, caption: str) -> str:
        import plotly.io as pio

        self.items.append((key, fig))
        div = pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=f"fig-{key}",
                          config={"displaylogo": False, "responsive": True})
        return f'<figure class="fig" data-fig="{_e(key)}">{div}</figure>' + (
            f'<p class="how">{caption}</p>' if caption else "")


# --------------------------------------------------------------------------- sections

def _header(inputs: Inputs, s: dict, det: pd.DataFrame | None) -> str:
    run = inputs.run
    kpis = [
        ("videos", "Videos", _int(s["videos"]), " · ".join(f"{k} {_int(v)}" for k, v in s["splits"].items())),
        ("classes", "Classes", _int(s["classes"]), ""),
    ]
    for v in VERDICTS:
        kpis.append((v, v.capitalize(), _int(s["counts"][v]), _pct(s["rates"][v])))
    kpis.append(("noise_rate", "Est. noise rate", _pct(s["rates"]["noisy"]), "videos flagged noisy"))
    if det is not None and len(det):
        ours = det[det["method"] == OURS].iloc[0]
        kpis.append(("f1", "Noise F1 (truth)", _f(ours["f1"], 2), f"precision {_f(ours['precision'], 2)}, recall {_f(ours['recall'], 2)}"))
        kpis.append(("auroc", "AUROC (truth)", _f(ours["auroc"], 3), "noise_score vs planted noise"))
    cards = "".join(
        f'<div class="kpi {key if key in VERDICTS else ""}" data-key="{key}">'
        f'<span class="l">{_e(label)}</span><span class="v">{value}</span>'
        f'<span class="s" data-sub="{key}">{_e(sub)}</span></div>'
        for key, label, value, sub in kpis)
    root = inputs.manifest.root
    return (f'<header class="top"><h1>Label audit · {_e(run.path.name)}</h1>'
            f'<div class="sub">Run <code>{_e(run.path)}</code> · dataset root <code>{_e(root)}</code> · '
            f'{_int(s["classes"])} classes: {_e(", ".join(inputs.classes))}</div>'
            f'<div class="kpis">{cards}</div></header>')


def _summary_section(inputs: Inputs, s: dict) -> str:
    pc = s["per_class"].copy()
    cols = ["class", "videos", *VERDICTS, "noise_rate"]
    if "true_noise_rate" in pc:
        cols.append("true_noise_rate")
    pc["most common suggestion"] = [
        f"{_e(c)}<span class='arrow'>→</span>{_e(t)} ({_int(k)})" if t else "–"
        for c, t, k in zip(pc["class"], pc["top_suggestion"], pc["top_suggestion_n"])]
    cols.append("most common suggestion")
    bar = lambda x: (f'<div style="display:flex;align-items:center;gap:8px"><span>{_pct(x)}</span>'
                     f'<div class="bar" style="flex:1"><span style="width:{0 if not np.isfinite(x) else min(100, 100 * x):.1f}%"></span></div></div>')
    table = _table(pc[cols], formats={"noise_rate": bar, "true_noise_rate": _pct,
                                      "most common suggestion": lambda x: x,
                                      "videos": _int} | {v: _int for v in VERDICTS},
                   numeric={"videos", *VERDICTS}, row_attr="class")
    text = (f'<p class="how">Over all {_int(s["videos"])} scored videos (every split). A video is <b>clean</b> when '
            'its clips agree with its label, <b>noisy</b> when its clips agree with each other on another class '
            '(its label is probably wrong), <b>hard</b> when its clips disagree among themselves (keep it; it is '
            'difficult, not wrong), <b>hard-or-noisy</b> when it ranks among the likely mislabelled but its '
            'clips split between its label and other classes (an annotator decides). The estimated noise rate '
            'of a class is the share of videos given that label which are flagged noisy; the last column says which label the clips suggest most often for them.'
            + (' <i>true_noise_rate</i> is the planted rate (synthetic ground truth).' if "true_noise_rate" in pc else "")
            + '</p>')
    by_split = s["per_split"]
    table += ('<p class="how">By split and score source: <i>dynamics</i> = scored with the training run\'s own '
              'history, <i>out-of-fold</i> = by a model that never saw the video\'s label, <i>unseen</i> = by the '
              'final model, which never trained on the video, <i>in-sample</i> = by the final model that fitted it. '
              'Sources rank on different scales; compare videos within one source.</p>'
              + _table(by_split, formats={"videos": _int} | {v: _int for v in VERDICTS},
                       numeric={"videos", *VERDICTS}))
    warn = collapse_warning(inputs.scores, inputs.classes)
    warn = f'<p class="warn" data-key="collapse">{warn}</p>' if warn else ""
    weak = inputs.run.model_warning(len(inputs.classes))
    warn += f'<p class="warn" data-key="weak-model">{_e(weak)}</p>' if weak else ""
    return _section("summary", "Summary", warn + text + table)


def _scores_section(inputs: Inputs, figs: Figures, cfg: ReportConfig) -> str:
    from reports import figures as F

    sc = inputs.scores
    n = len(sc)
    shown = min(n, cfg.max_scatter_points)
    body = figs.add("distributions", F.score_distributions(sc),
                    "<b>How to read:</b> left, <code>noise_score</code> (higher = label more likely wrong); "
                    "right, <code>hardness</code> (higher = clips disagree more). Noisy videos should sit to the "
                    "right of the left panel, hard videos to the right of the right panel; a long clean tail "
                    "toward high noise_score suggests the cut is conservative.")
    body += figs.add("scatter", F.agreement_scatter(sc, max_points=cfg.max_scatter_points, seed=cfg.seed),
                     "<b>How to read:</b> each point is a video (jittered vertically). Top right: clips and model "
                     "confidently back the label. Bottom left: neither the clips nor the mean probability support the "
                     "label – suspected noise. The middle band, where some clips agree and others do not, is where "
                     "hard videos live."
                     + (f" Showing a random sample of {_int(shown)} of {_int(n)} videos." if shown < n else ""))
    return _section("scores", "Scores by verdict", body)


def _classes_section(inputs: Inputs, figs: Figures) -> str:
    from reports import figures as F

    body = '<div class="grid2"><div>'
    body += figs.add("confusion", F.confusion_matrix(inputs.scores, inputs.classes),
                     "<b>How to read:</b> rows are given labels, columns what the clips agree on. The diagonal is "
                     "agreement; a strong off-diagonal cell is a systematic confusion (for example fear labelled as "
                     "surprise) worth a guideline fix, not only a relabel.")
    body += "</div><div>"
    body += figs.add("class_verdicts", F.class_verdicts(inputs.scores, inputs.classes),
                     "<b>How to read:</b> verdict counts per given label. A class with a tall red segment has many "
                     "suspected wrong labels; a tall orange segment means a class that is genuinely hard to see.")
    body += "</div></div>"
    return _section("classes", "Classes and confusions", body)


def _dynamics_section(inputs: Inputs, figs: Figures, cfg: ReportConfig) -> str:
    from reports import figures as F

    if inputs.dynamics is None or inputs.dynamics.empty:
        return _section("dynamics", "Agreement during training", _missing(
            f"No training dynamics in this run: <code>dfer-curate train {_e(inputs.run.path)}</code> writes "
            "dynamics.parquet."))
    verdicts = inputs.scores.set_index(inputs.scores["video_id"].astype(str))["verdict"].astype(str)
    fig = F.dynamics_lines(inputs.dynamics, verdicts, per_verdict=cfg.dynamics_per_verdict, seed=cfg.seed)
    epochs = inputs.dynamics["epoch"].nunique()
    return _section("dynamics", "Agreement during training", figs.add(
        "dynamics", fig,
        f"<b>How to read:</b> share of clips predicting the given label at each of {epochs} epochs, for "
        f"{cfg.dynamics_per_verdict} randomly chosen videos per final verdict (thin lines) and the mean of every "
        "video with that verdict (thick lines). Clean videos rise early; noisy ones stay low until the network "
        "memorizes their wrong label (a late rise is memorization, not learning); hard ones wander."))


def _baselines_section(inputs: Inputs, figs: Figures) -> tuple[str, pd.DataFrame | None]:
    from reports import figures as F

    table, split = method_table(inputs.scores, inputs.baselines)
    names = [OURS] + baseline_methods(table.drop(columns=[f"{OURS}_score"]))
    det = detection_table(table, inputs.truth, names=names) if inputs.truth is not None else None
    parts = []
    if inputs.baselines is None:
        parts.append(_missing(
            f"No baselines in this run: <code>dfer-curate baselines {_e(inputs.run.path)}</code> scores the same "
            "videos with cleanlab and other methods for comparison."))
    else:
        ov = overlap_table(table)
        methods = baseline_methods(inputs.baselines)
        parts.append(f'<p class="how">{len(methods)} baseline method(s) on {_int(len(table))} '
                     f'{"training " if split == "train" else ""}videos. <b>both</b> = flagged by us and by the method; '
                     '<b>ours only</b> / <b>theirs only</b> = flagged by one side. Videos in <i>theirs only</i> that '
                     'we call hard are where cross-clip agreement keeps a difficult video that a single-prediction '
                     'method would discard.</p>')
        if len(ov):
            parts.append("<h3>Overlap of flagged sets</h3>" + _table(
                ov, formats={"jaccard": _f}, numeric={"flagged", "both", "ours_only", "theirs_only", "jaccard"}))
        else:
            parts.append(_missing("baselines.parquet holds scores but no <code>&lt;method&gt;_flag</code> columns: "
                                  "no flagged sets to compare."))
    if det is None:
        parts.append(_missing("No ground truth in the manifest (a real dataset): precision, recall and ROC curves "
                              "need the <code>true_label</code>/<code>is_noisy</code> columns that "
                              "<code>dfer-curate synth</code> writes."))
    else:
        parts.append(f"<h3>Against ground truth</h3><p class=\"how\">Detection of the planted label noise on "
                     f"{_int(det['n_noisy'].iloc[0])} truly noisy of {_int(len(table))} "
                     f"{'training ' if split == 'train' else ''}videos (curation.audit.metrics). "
                     "<b>hard_retention</b> = share of hard but correctly labelled videos <i>not</i> flagged: "
                     "the higher, the fewer good difficult videos are thrown away. AUROC and AP rank by the "
                     "continuous score, independent of the cut. <b>noisy_vs_hard_auroc</b> ranks only truly "
                     "mislabelled against hard but correctly labelled videos: does the score tell a wrong label "
                     "from a difficult video? It is the number this tool exists for.</p>")
        rated = ("precision", "recall", "f1", "auroc", "noisy_vs_hard_auroc", "ap", "hard_retention")
        shown = det[["method", *rated, "n_flagged"]]
        parts.append(_table(shown, formats={c: _f for c in rated}
                            | {"n_flagged": lambda x: "–" if not np.isfinite(x) else _int(x)},
                            numeric={*rated, "n_flagged"},
                            row_attr="method"))
        parts.append(_kinds_table(table, inputs.truth, list(det["method"])))
        t = inputs.truth.set_index("video_id").reindex(table["video_id"])
        ok = t["is_noisy"].notna().to_numpy()
        if 0 < t["is_noisy"][ok].astype(bool).sum() < ok.sum():
            method_scores = {m: table[f"{m}_score"].to_numpy(dtype=float)[ok] for m in det["method"]}
            parts.append(figs.add("roc_pr", F.roc_pr_curves(t["is_noisy"][ok].astype(bool).to_numpy(), method_scores),
                                  "<b>How to read:</b> the higher and further left the ROC curve, and the higher "
                                  "the precision-recall curve, the better a method ranks mislabelled videos first. "
                                  "Our method is the thick line."))
    return _section("baselines", "Baselines", "".join(parts)), det


def _kinds_table(table: pd.DataFrame, truth: pd.DataFrame, methods: list[str]) -> str:
    """noisy_vs_hard_auroc against each kind of hard video apart, when the truth names kinds:
    where the claim holds and where a single-prediction method does as well."""
    if "hard_kind" not in truth.columns:
        return ""
    kinds = noisy_vs_hard_by_kind(table, truth, methods)
    names = [c for c in kinds.columns if c not in ("method", "all") and not c.startswith("n_")]
    if not names:
        return ""
    counts = ", ".join(f"{k} {_int(kinds[f'n_{k}'].iloc[0])}" for k in names)
    return ("<h3>By kind of hard video</h3><p class=\"how\"><b>noisy_vs_hard_auroc</b> against each kind of "
            f"hard, correctly labelled video apart ({counts}); <b>all</b> is the column above. A kind where a "
            "baseline matches our score is a kind of difficulty the clips do not tell from a wrong label.</p>"
            + _table(kinds[["method", "all", *names]], formats={c: _f for c in ["all", *names]},
                     numeric={"all", *names}, row_attr="method"))


def _video_rows(inputs: Inputs, rows: pd.DataFrame, cfg: ReportConfig, strips: dict) -> str:
    has_truth = inputs.truth is not None
    dec = None
    if inputs.decisions is not None and len(inputs.decisions):
        dec = inputs.decisions.assign(video_id=inputs.decisions["video_id"].astype(str)).set_index("video_id")
    head = ["#", "key frames (clip predictions)", "video", "label", "scores"] + (["decision"] if dec is not None else [])
    out = ["<div class='scroll'><table class='videos'><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head)
           + "</tr></thead><tbody>"]
    truth = inputs.truth.set_index("video_id") if has_truth else None
    for rank, (pos, r) in enumerate(rows.iterrows(), start=1):
        vid = str(r["video_id"])
        strip = strips.get(vid)
        if isinstance(strip, str):
            frames_html = f'<span class="err">{_e(strip)}</span>'
        else:
            figs_html = []
            for uri, clip_label in strip["frames"]:
                cls = "" if clip_label is None else ("agree" if clip_label == r["label"] else "disagree")
                cap = f"<figcaption>{_e(clip_label)}</figcaption>" if clip_label is not None else ""
                figs_html.append(f'<figure><img class="{cls}" src="{uri}" alt="{_e(vid)} frame">{cap}</figure>')
            frames_html = f'<div class="strip">{"".join(figs_html)}</div>'
            if strip["extra"]:
                frames_html += f'<div class="small">{_e(strip["extra"])}</div>'
        changed = r["suggested_label"] != r["label"]
        label = (f"<div>{_e(r['label'])}<span class='arrow'>→</span><span class='{'changed' if changed else ''}'>"
                 f"{_e(r['suggested_label'])}</span></div><div class='small'>given → suggested</div>")
        if has_truth:
            t = truth.loc[vid] if vid in truth.index else None
            if t is not None and not pd.isna(t["is_noisy"]):
                tags = (["<span class='pill noisy'>wrong label</span>"] if bool(t["is_noisy"]) else []) + \
                       (["<span class='pill hard'>hard</span>"] if bool(t["is_hard"]) else [])
                label += f"<div class='truth'>truth: {_e(t['true_label'])} {' '.join(tags)}</div>"
        stats = "".join(f"<span>{k}</span><b>{v}</b>" for k, v in (
            ("noise", _f(r["noise_score"])), ("hardness", _f(r["hardness"])),
            ("agree_label", _f(r["agree_label"], 2)), ("margin", _f(r["margin"]))))
        cells = [
            f"<td class='num'>{rank}</td>", f"<td>{frames_html}</td>",
            f"<td><span class='vid'>{_e(vid)}</span><br><span class='small'>{_e(r['split'])}</span></td>",
            f"<td>{label}</td>", f"<td><div class='stats'>{stats}</div></td>",
        ]
        if dec is not None:
            if vid in dec.index:
                d = dec.loc[vid]
                d = d.iloc[-1] if isinstance(d, pd.DataFrame) else d
                lab = f" → {_e(d['new_label'])}" if pd.notna(d.get("new_label")) and d.get("new_label") else ""
                cells.append(f"<td>{_e(d['action'])}{lab}<br><span class='small'>{_e(d.get('annotator', ''))}</span></td>")
            else:
                cells.append("<td class='small'>not reviewed</td>")
        out.append(f"<tr data-video='{_e(vid)}'>{''.join(cells)}</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _videos_section(inputs: Inputs, cfg: ReportConfig, progress: bool) -> str:
    sc = inputs.scores
    noisy = sc[sc["verdict"] == "noisy"].sort_values(["noise_score", "video_id"], ascending=[False, True]).head(cfg.top_k)
    hard = sc[sc["verdict"] == "hard"].sort_values(["hardness", "video_id"], ascending=[False, True]).head(cfg.top_k)
    strips = collect_strips(inputs, pd.concat([noisy, hard]), cfg, progress)
    frames_note = ("Frames are taken at the centre of each uniformly placed clip; under each, the class that clip "
                   "predicts (green border = the given label, red = another class)." if inputs.clip_probs is not None
                   else "Frames are taken at equal intervals (no clip_probs.npy to show per-clip predictions).")
    score_cfg = inputs.config.get("score") if isinstance(inputs.config.get("score"), dict) else {}
    if score_cfg.get("use_dynamics") and inputs.run.dynamics_probs.exists():
        frames_note += (" Training videos were also scored on clip predictions saved during training (a temporal "
                        "ensemble against memorization); those votes count in their scores but are not drawn here.")
    body = [f'<p class="how">Where to start reviewing. {frames_note}</p>']
    body.append(f"<h3 id='top-noisy'>Top {len(noisy)} suspected-noisy videos</h3>"
                f"<p class='how'>Flagged noisy, highest <code>noise_score</code> first "
                f"({_int((sc['verdict'] == 'noisy').sum())} flagged in all). Their clips agree on the suggested label "
                "instead of the given one: confirm the relabel.</p>")
    body.append(_video_rows(inputs, noisy, cfg, strips) if len(noisy) else _missing("No video was flagged noisy."))
    body.append(f"<h3 id='top-hard'>Top {len(hard)} hard videos</h3>"
                f"<p class='how'>Flagged hard, highest <code>hardness</code> first "
                f"({_int((sc['verdict'] == 'hard').sum())} in all). Their clips disagree among themselves: keep them, "
                "and check that the label fits the expression's apex.</p>")
    body.append(_video_rows(inputs, hard, cfg, strips) if len(hard) else _missing("No video was flagged hard."))
    return _section("videos", "Videos to review first", "".join(body))


def _review_section(inputs: Inputs) -> str:
    parts = []
    dec = inputs.decisions
    if dec is None:
        parts.append(_missing(inputs.decisions_note))
    elif dec.empty:
        parts.append(_missing("The decision log exists but holds no decisions yet."))
    else:
        sc = inputs.scores.assign(video_id=inputs.scores["video_id"].astype(str))
        decided = set(dec["video_id"].astype(str))
        flagged = sc[sc["verdict"] != "clean"]
        done = flagged["video_id"].isin(decided)
        counts = dec["action"].value_counts()
        per = ", ".join(f"{_e(a)} {_int(c)}" for a, c in counts.items())
        parts.append(f'<p class="how" data-key="review">{_int(len(dec))} videos carry a current decision ({per}). '
                     f"{_int(done.sum())} of {_int(len(flagged))} flagged (noisy or hard) videos are reviewed "
                     f"({_pct(done.mean() if len(flagged) else float('nan'))}). Latest decisions:</p>")
        cols = [c for c in ("time", "video_id", "action", "old_label", "new_label", "annotator", "note", "version")
                if c in dec.columns]
        latest = dec.sort_values("time", ascending=False).head(20) if "time" in dec else dec.head(20)
        parts.append(_table(latest[cols].fillna("")))
    if inputs.exports:
        from reports.provenance import export_card

        parts.append(f"<h3>Exports</h3><p class='how'>Each export under <code>{_e(inputs.run.exports)}</code>, oldest "
                     "first, with its provenance; thresholds and file hashes are folded under each.</p>"
                     + "".join(export_card(e) for e in inputs.exports))
    else:
        parts.append(_missing(f"No exports yet: <code>dfer-curate export {_e(inputs.run.path)}</code> writes a curated "
                              "manifest with its provenance."))
    return _section("review", "Review status and exports", "".join(parts))


def _cfg_value(v) -> str:
    """One config value as HTML: lists comma-joined, dicts one ``key: value`` per line."""
    if isinstance(v, dict):
        return "<br>".join(f"<span class='small'>{_e(k)}:</span> {_cfg_value(x)}" for k, x in v.items()) or "{}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_cfg_value(x) for x in v) or "[]"
    return _e(v)


def collapse_warning(scores: pd.DataFrame, classes: list[str], *, share: float = 0.8) -> str | None:
    """A sentence when one class takes at least ``share`` of the model's predictions (with 3+
    classes): the clips then say little about the labels, and the audit should not be trusted."""
    if len(classes) < 3 or scores.empty:
        return None
    top = scores["pred_label"].astype(str).value_counts(normalize=True)
    if top.iloc[0] < share:
        return None
    return (f"The model predicts <b>{_e(top.index[0])}</b> for {_pct(top.iloc[0])} of the videos: it has not "
            "learned to tell the classes apart, so these verdicts mostly measure that one class, not label "
            "quality. Train longer or on more data (see the train configuration below) before acting on them.")


def _config_section(inputs: Inputs) -> str:
    cfg = inputs.config
    parts = ['<p class="how">The resolved configuration of every stage that ran (from config.json), and the '
             "software versions of the environment that built this report.</p>"]
    vers = software_versions()
    cards = ["<div><h3>Versions</h3>" + _table(pd.DataFrame({"package": list(vers), "version": list(vers.values())}),
                                               row_attr="package", cls="kv") + "</div>"]
    if cfg:
        for stage, values in cfg.items():
            if isinstance(values, dict):
                df = pd.DataFrame({"setting": list(values), "value": [_cfg_value(v) for v in values.values()]})
                cards.append(f"<div><h3>{_e(stage)}</h3>" + _table(df, cls="kv", formats={"value": lambda x: x})
                             + "</div>")
            else:
                cards.append(f"<div><h3>{_e(stage)}</h3><pre>{_e(json.dumps(values, indent=2, default=str))}</pre></div>")
    parts.append(f'<div class="grid3">{"".join(cards)}</div>')
    if set(cfg) <= {"report"}:
        parts.append(_missing(f"{_e(inputs.run.config)} records no stage before the report: the configuration "
                              "that produced these scores is unknown."))
    return _section("config", "Configuration and versions", "".join(parts))
