"""The audit report: one self-contained HTML file showing a run's label health at a glance.

``build_report(run_dir)`` reads the run's artifacts (``reports.inputs``: scores required;
dynamics, baselines, decisions, exports optional), computes the summary with pure pandas
functions (``reports.tables``), draws the figures of ``reports.figures`` into the sections
of ``reports.sections`` and writes ``report.html``: plotly.js inlined once, every figure a
``<div>`` after it, key frames inlined as base64 JPEG (``reports.images``), so the file
opens offline. A missing optional artifact leaves its section with the command that would
add it.
"""

from __future__ import annotations

import html
import logging
import string
import time
from datetime import datetime, timezone
from pathlib import Path

from curation.errors import CurationError
from curation.fileio import write_text
from reports.inputs import ReportConfig, load_inputs, software_versions
from reports.tables import summarize
from reports.sections import render

__all__ = ["ReportConfig", "build_report", "write_pngs"]

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
MAX_BYTES = 15 * 1024 * 1024
PNG_TITLES = {
    "distributions": "noise_score and hardness by verdict",
    "scatter": "Clip agreement with the given label vs its mean probability",
    "confusion": "Given label vs the clips' consensus",
    "class_verdicts": "Verdicts per given label",
    "dynamics": "Agreement with the given label over training epochs",
    "roc_pr": "Noise detection against ground truth: ROC and precision-recall",
}


def build_report(run_dir, *, out=None, png_dir=None, config: ReportConfig | None = None,
                 progress: bool = False) -> Path:
    """Write the audit report of ``run_dir`` (default ``RUN/report.html``) and return its path.

    ``png_dir``: also write each figure as a PNG there (kaleido + Chromium, ~3 s a figure)."""
    import plotly.offline

    cfg = config or ReportConfig()
    t0 = time.perf_counter()
    inputs = load_inputs(run_dir)
    run = inputs.run
    run.save_config("report", cfg)
    inputs.config = run.load_config()
    s = summarize(inputs.scores, inputs.classes, inputs.truth)
    header, sections, figs = render(inputs, s, cfg, progress)
    versions = software_versions()
    template = string.Template((HERE / "template.html").read_text(encoding="utf-8"))
    page = template.substitute(
        title=html.escape(f"Label audit · {run.path.name}"),
        version=html.escape(versions.get("dfer-curate", "")),
        css=(HERE / "report.css").read_text(encoding="utf-8"),
        plotlyjs=plotly.offline.get_plotlyjs(),
        n_figures=len(figs.items),
        header=header,
        nav=" ".join(f'<a href="#{sid}">{html.escape(label)}</a>' for sid, label, _ in sections),
        body="\n".join(h for _, _, h in sections),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        run_path=html.escape(str(run.path)),
        build_s=f"{time.perf_counter() - t0:.1f}",
    )
    out = Path(out) if out is not None else run.report
    write_text(out, page)
    size = out.stat().st_size
    log.info("wrote %s (%.1f MB, %d figures) in %.1f s", out, size / 2**20, len(figs.items), time.perf_counter() - t0)
    if size > MAX_BYTES:
        log.warning("%s is %.1f MB, above the 15 MB target; lower ReportConfig.max_scatter_points or top_k",
                    out, size / 2**20)
    if png_dir is not None:
        write_pngs(figs.items, png_dir)
    return out


def write_pngs(items, png_dir) -> list[Path]:
    """Each (name, figure) as ``png_dir/<name>.png`` via kaleido (one browser for all)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    png_dir = Path(png_dir)
    png_dir.mkdir(parents=True, exist_ok=True)
    for noisy in ("choreographer", "kaleido", "logistro"):  # browser plumbing chatter at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
    paths = [png_dir / f"{name}.png" for name, _ in items]
    if not items:
        return paths
    titled = []
    for name, fig in items:  # a PNG travels without the page's captions: give it a title
        fig = go.Figure(fig)
        fig.update_layout(title=dict(text=PNG_TITLES.get(name, name), x=0.01, y=0.98, yanchor="top"),
                          margin=dict(t=max(fig.layout.margin.t or 0, 40) + 40))
        titled.append(fig)
    try:
        pio.write_images(titled, paths, format="png", width=1100, scale=1)
    except Exception as exc:  # kaleido raises its own types when Chromium is missing or crashes
        raise CurationError(
            f"cannot write PNGs to {png_dir} ({type(exc).__name__}: {exc}); kaleido needs Chromium "
            "(`apt-get install chromium`); the HTML report was written") from exc
    log.info("wrote %d PNG figure(s) to %s", len(paths), png_dir)
    return paths
