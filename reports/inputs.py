"""What the audit report reads from a run, loaded once: scores, manifest and clip
probabilities through RunDir's validated loaders; dynamics, baselines, decisions and
exports when present. Also the report's knobs (:class:`ReportConfig`)."""

from __future__ import annotations

import html
import importlib.metadata
import logging
import platform
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from curation.data.manifest import Manifest
from curation.errors import RunError
from curation.fileio import read_json
from curation.runs import RunDir
from curation.schema import DYNAMICS_COLUMNS, conform

log = logging.getLogger(__name__)

VERSION_PACKAGES = ("torch", "numpy", "pandas", "cleanlab", "fiftyone", "plotly", "dfer-curate")


@dataclass
class ReportConfig:
    """Knobs of the report; saved under "report" in config.json."""

    top_k: int = 30                 # videos listed per table (suspected noisy, hard)
    max_scatter_points: int = 5000  # points drawn in the agreement scatter (seeded sample)
    dynamics_per_verdict: int = 6   # sampled training curves per verdict
    frames_per_video: int = 0       # frames per strip; 0 = one per uniform clip of clip_probs (else 6)
    frame_height: int = 60          # pixel height of an inlined key frame
    jpeg_quality: int = 80
    seed: int = 0                   # every random choice (samples, jitter)


@dataclass
class Inputs:
    """Everything the report reads from a run, loaded once."""

    run: RunDir
    scores: pd.DataFrame
    classes: list[str]
    manifest: Manifest
    truth: pd.DataFrame | None = None       # video_id, true_label, is_noisy, is_hard[, hard_kind] (aligned to scores)
    clip_probs: np.ndarray | None = None    # (N, M, C) aligned to scores rows
    dynamics: pd.DataFrame | None = None
    baselines: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None
    decisions_note: str = ""
    exports: list[dict] = field(default_factory=list)
    config: dict = field(default_factory=dict)


def load_inputs(run_dir) -> Inputs:
    """Read a run's artifacts; RunError (naming the command) when the manifest or scores are
    absent or do not fit each other (RunDir's loaders check them)."""
    run = RunDir(run_dir)
    manifest = run.read_manifest()
    scores = run.read_scores(manifest)
    classes = list(manifest.classes)
    inputs = Inputs(run=run, scores=scores, classes=classes, manifest=manifest, config=run.load_config())
    if manifest.has_ground_truth:
        kind = ["hard_kind"] if "hard_kind" in manifest.df.columns else []  # the generator's kind of hard video
        gt = manifest.df.set_index("video_id")[["true_label", "is_noisy", "is_hard", *kind]]
        inputs.truth = gt.reindex(scores["video_id"].astype(str)).reset_index()
    if run.clip_probs.exists():
        inputs.clip_probs = run.read_clip_probs(len(scores), len(classes), mmap=True)
    if run.dynamics.exists():
        inputs.dynamics = conform(pd.read_parquet(run.dynamics), DYNAMICS_COLUMNS, table=str(run.dynamics))
    if run.baselines.exists():
        b = pd.read_parquet(run.baselines)
        if "video_id" not in b.columns:
            raise RunError(f"{run.baselines} lacks column video_id; re-run `dfer-curate baselines {run.path}`")
        inputs.baselines = b.assign(video_id=b["video_id"].astype(str))
    inputs.decisions, inputs.decisions_note = load_decisions(run)
    inputs.exports = load_exports(run)
    return inputs


def load_decisions(run: RunDir) -> tuple[pd.DataFrame | None, str]:
    """The current decision per video, or None and a sentence saying why there is none."""
    if not run.review_db.exists():
        return None, (f"No review decisions yet: annotators record them with "
                      f"<code>dfer-curate review {html.escape(str(run.path))}</code>.")
    try:
        from curation.review.decisions import DecisionLog
    except ImportError as exc:
        return None, (f"{html.escape(str(run.review_db))} exists but this installation cannot read it "
                      f"(curation.review.decisions: {html.escape(str(exc))}).")
    try:
        current = DecisionLog(run.review_db).current()
    except Exception as exc:  # a locked or foreign database must not stop the report
        log.warning("cannot read %s: %s", run.review_db, exc)
        return None, f"{html.escape(str(run.review_db))} cannot be read: {html.escape(str(exc))}."
    return pd.DataFrame(current), ""


def load_exports(run: RunDir) -> list[dict]:
    """provenance.json of each export, oldest first (an unreadable one is listed with its error)."""
    out = []
    if not run.exports.is_dir():
        return out
    for prov in sorted(run.exports.glob("*/provenance.json")):
        try:
            data = read_json(prov)
            if not isinstance(data, dict):
                data = {"value": data}
        except (OSError, ValueError) as exc:
            data = {"error": f"cannot read {prov}: {exc}"}
        out.append({"stamp": prov.parent.name, **data})
    return out


def uniform_clip_count(inputs: Inputs) -> int | None:
    """How many of clip_probs' M clips sit at uniform segment centres (the first ones):
    ``score.uniform_clips`` of config.json when recorded, else all M. Key-expression clips
    follow them at positions the run does not record, so they get no frame of their own."""
    probs = inputs.clip_probs
    if probs is None:
        return None
    m = probs.shape[1]
    score_cfg = inputs.config.get("score") if isinstance(inputs.config.get("score"), dict) else {}
    if score_cfg.get("single_clip"):
        return 1
    u = score_cfg.get("uniform_clips")
    return int(u) if isinstance(u, int) and 0 < u <= m else m


def software_versions() -> dict[str, str]:
    """Versions of Python and the packages that make a run (from metadata: no heavy imports)."""
    out = {"python": platform.python_version()}
    for pkg in VERSION_PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
