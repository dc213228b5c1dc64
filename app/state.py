"""Session state and cached loaders of the review dashboard, in one place.

Pages call :func:`init` first; data comes through ``@st.cache_data`` loaders keyed by the
files' modification times and the decision log's stamp, so a rerun after a decision reloads
only what changed. The run directory and annotator come from ``--run``/``--annotator``
after ``--`` on the ``streamlit run`` line, or from DFER_CURATE_RUN / DFER_CURATE_ANNOTATOR.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from curation.review.decisions import DecisionLog
from curation.errors import CurationError
from curation.review.queue import (
    QueueFilter,
    baseline_methods,
    default_baseline,
    filter_queue,
    review_table,
)
from curation.runs import RunDir

ENV_RUN = "DFER_CURATE_RUN"
ENV_ANNOTATOR = "DFER_CURATE_ANNOTATOR"
PAGES = {
    "queue": "pages_queue.py",
    "video": "pages_video.py",
    "overview": "pages_overview.py",
    "export": "pages_export.py",
}


def launch_args() -> tuple[str | None, str | None]:
    """(run dir, annotator) from argv after ``--`` or the environment."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--run")
    parser.add_argument("--annotator")
    ns, _ = parser.parse_known_args(sys.argv[1:]) if "--run" in sys.argv else (argparse.Namespace(run=None, annotator=None), [])
    run = ns.run or os.environ.get(ENV_RUN)
    annotator = ns.annotator or os.environ.get(ENV_ANNOTATOR) or os.environ.get("USER") or "annotator"
    return run, annotator


def init() -> None:
    """Initialise every session-state key the pages use (once per browser session)."""
    ss = st.session_state
    if "run" not in ss:
        run, annotator = launch_args()
        ss.run = run
        ss.annotator = annotator
    ss.setdefault("filter", asdict(QueueFilter()))
    ss.setdefault("baseline_method", None)
    ss.setdefault("video_id", None)
    ss.setdefault("seen", {})  # video_id -> version shown to this annotator
    ss.setdefault("flash", None)  # (kind, message) shown once after a rerun
    ss.setdefault("conflict", None)  # message of the last conflict, until reloaded
    ss.setdefault("last_export", None)


def run_dir() -> RunDir:
    """The run, or an error on the page naming what to do (then the page stops)."""
    path = st.session_state.get("run")
    if not path:
        st.error(f"No run directory given: start the dashboard with `dfer-curate review RUN` "
                 f"(or set {ENV_RUN}).")
        st.stop()
    run = RunDir(path)
    try:  # the validated loaders (cached) check the run once, here, for every page
        scores(run)
        clip_probs(run)
    except CurationError as exc:
        st.error(str(exc))
        st.stop()
    return run


def _mtime(p: Path) -> float:
    return p.stat().st_mtime_ns if p.exists() else 0.0


@st.cache_data(show_spinner=False, max_entries=4)
def _load_scores(run: str, mtime: float, manifest_mtime: float) -> pd.DataFrame:
    return RunDir(run).read_scores()


@st.cache_data(show_spinner=False, max_entries=4)
def _load_manifest(run: str, mtime: float) -> dict:
    m = RunDir(run).read_manifest()
    return {"df": m.df, "classes": m.classes, "root": str(m.root)}


@st.cache_data(show_spinner=False, max_entries=4)
def _load_baselines(path: str, mtime: float) -> pd.DataFrame | None:
    return pd.read_parquet(path) if Path(path).exists() else None


@st.cache_resource(show_spinner=False, max_entries=8)
def _reader(db: str) -> DecisionLog:
    return DecisionLog(db)


@st.cache_resource(show_spinner=False, max_entries=8)
def _writer(run: str, manifest_mtime: float, scores_mtime: float) -> DecisionLog:
    """The log that checks videos and classes against the manifest (built from the cached
    loaders, so the 40k-row manifest is read once per server, not per decision)."""
    r = RunDir(run)
    m = _load_manifest(run, manifest_mtime)
    s = _load_scores(run, scores_mtime, manifest_mtime).dropna(subset=["suggested_label"])
    return DecisionLog(r.review_db, labels=dict(zip(m["df"]["video_id"], m["df"]["label"])),
                       classes=m["classes"],
                       suggestions=dict(zip(s["video_id"], s["suggested_label"])))


@st.cache_data(show_spinner=False, max_entries=8)
def _load_current(db: str, stamp: tuple[int, int]) -> pd.DataFrame:
    return DecisionLog(db).current()


@st.cache_data(show_spinner=False, max_entries=8)
def _load_table(run: str, scores_mtime: float, manifest_mtime: float, baselines_mtime: float,
                stamp: tuple[int, int], method: str | None) -> pd.DataFrame:
    r = RunDir(run)
    scores = _load_scores(run, scores_mtime, manifest_mtime)
    base = _load_baselines(str(r.baselines), baselines_mtime)
    current = _load_current(str(r.review_db), stamp)
    return review_table(scores, current, base, baseline=method)


def manifest(run: RunDir) -> dict:
    return _load_manifest(str(run.path), _mtime(run.manifest))


def scores(run: RunDir) -> pd.DataFrame:
    """scores.parquet as RunDir.read_scores checks it against the manifest."""
    return _load_scores(str(run.path), _mtime(run.scores), _mtime(run.manifest))


def baselines(run: RunDir) -> pd.DataFrame | None:
    return _load_baselines(str(run.baselines), _mtime(run.baselines))


def classes(run: RunDir) -> list[str]:
    return manifest(run)["classes"]


def reader(run: RunDir) -> DecisionLog:
    """The decision log for reading (versions, events, current); no manifest needed."""
    return _reader(str(run.review_db))


def decision_log(run: RunDir) -> DecisionLog:
    """The decision log for writing: refuses unknown videos and classes."""
    return _writer(str(run.path), _mtime(run.manifest), _mtime(run.scores))


def current(run: RunDir) -> pd.DataFrame:
    return _load_current(str(run.review_db), reader(run).stamp())


def methods(run: RunDir) -> list[str]:
    return baseline_methods(baselines(run))


def table(run: RunDir) -> pd.DataFrame:
    """Scores + standing decisions + the chosen baseline's flags (review_table)."""
    method = st.session_state.get("baseline_method") or default_baseline(methods(run))
    return _load_table(str(run.path), _mtime(run.scores), _mtime(run.manifest), _mtime(run.baselines),
                       reader(run).stamp(), method)


def queue_filter() -> QueueFilter:
    f = dict(st.session_state["filter"])
    for k in ("verdicts", "given", "suggested", "score_range", "splits"):
        f[k] = tuple(f[k])
    return QueueFilter(**f)


def queue(run: RunDir) -> pd.DataFrame:
    """The filtered, sorted queue under the session's stored filter (shared by all pages)."""
    return filter_queue(table(run), queue_filter())


def open_video(run: RunDir, video_id: str | None) -> None:
    """Make ``video_id`` the current video and remember the version shown."""
    st.session_state.video_id = video_id
    st.session_state.conflict = None
    if video_id is not None:
        st.session_state.seen[video_id] = reader(run).version(video_id)


def seen_version(run: RunDir, video_id: str) -> int:
    seen = st.session_state.seen
    if video_id not in seen:
        seen[video_id] = reader(run).version(video_id)
    return seen[video_id]


def show_model_warning(run: RunDir) -> None:
    """Warn annotators when the audit model barely learned: its verdicts are then near random."""
    msg = run.model_warning(len(classes(run)))
    if msg:
        st.warning(msg[0].upper() + msg[1:], icon="⚠️")


def flash(kind: str, message: str) -> None:
    st.session_state.flash = (kind, message)


def show_flash() -> None:
    msg = st.session_state.get("flash")
    if msg:
        kind, text = msg
        getattr(st, kind)(text)
        st.session_state.flash = None


@st.cache_resource(show_spinner=False, max_entries=4)
def _clip_probs(run: str, mtime: float, num_videos: int, num_classes: int):
    r = RunDir(run)
    return r.read_clip_probs(num_videos, num_classes, mmap=True) if r.clip_probs.exists() else None


def clip_probs(run: RunDir):
    """(N, M, C) memory-mapped, rows aligned to scores.parquet (RunDir.read_clip_probs);
    None when absent."""
    return _clip_probs(str(run.path), _mtime(run.clip_probs), len(scores(run)), len(classes(run)))


@st.cache_resource(show_spinner=False, max_entries=4)
def _clip_starts(run: str, mtime: float, num_videos: int, num_clips: int):
    return RunDir(run).read_clip_starts(num_videos, num_clips, mmap=True)


def clip_starts(run: RunDir):
    """(N, M) start frame of each clip if the model wrote RUN/clip_starts.npy (and it fits
    clip_probs), else None."""
    probs = clip_probs(run)
    if probs is None:
        return None
    return _clip_starts(str(run.path), _mtime(run.clip_starts), *probs.shape[:2])


@st.cache_data(show_spinner=False, max_entries=64)
def key_frames(path: str, mtime: float, count: int = 8, height: int = 96) -> list[np.ndarray]:
    """``count`` evenly spaced frames of a video (for the strip under the player)."""
    from curation.data.video import read_video

    frames = read_video(path)
    idx = np.linspace(0, len(frames) - 1, num=min(count, len(frames))).round().astype(int)
    return [(int(i), frames[i]) for i in idx]


def playable(run: RunDir, video_path: Path, video_id: str) -> Path:
    """The file the browser plays (curation.data.previews: the video itself when browsers
    play it, else its H.264 preview in RUN/previews/, rendered once)."""
    from curation.data.previews import shown_file

    return shown_file(run, video_id, video_path).path


# -- the evidence behind a verdict (curation.review.evidence) ------------------------------

@st.cache_data(show_spinner=False, max_entries=4)
def _run_config(path: str, mtime: float) -> dict:
    return RunDir(path).load_config()


def run_config(run: RunDir) -> dict:
    """config.json: the resolved configuration of every stage that ran."""
    return _run_config(str(run.path), _mtime(run.config))


@st.cache_resource(show_spinner=False, max_entries=2)
def _training_window(path: str, mtime: float, window: int | None):
    from curation.review.evidence import TrainingWindow

    return TrainingWindow.read(RunDir(path), window=window)


def training_window(run: RunDir):
    """The training clips the score stage blended into train videos' verdicts (None without)."""
    window = run_config(run).get("train", {}).get("window")
    return _training_window(str(run.path), _mtime(run.dynamics_probs), window)


@st.cache_resource(show_spinner=False, max_entries=2)
def _by_video(path: str, mtime: float, columns: tuple[str, ...]):
    """A parquet table with a video_id column, indexed for one video's rows at a time."""
    if not Path(path).exists():
        return None
    df = pd.read_parquet(path, columns=["video_id", *columns])
    df["video_id"] = df["video_id"].astype(str)
    return df.set_index("video_id").sort_index()


def video_rows(run: RunDir, name: str, video_id: str) -> pd.DataFrame | None:
    """The rows of ``dynamics`` or ``saliency`` for one video (None when the file is absent)."""
    cols = {"dynamics": ("epoch", "agree_label", "label_prob"), "saliency": ("frame", "saliency")}[name]
    path = getattr(run, name)
    table = _by_video(str(path), _mtime(path), cols)
    if table is None:
        return None
    rows = table.loc[[video_id]] if video_id in table.index else table.iloc[0:0]
    return rows.reset_index()


@st.cache_data(show_spinner=False, max_entries=4)
def _load_events(db: str, stamp: tuple[int, int]) -> pd.DataFrame:
    return DecisionLog(db).events(columns=["video_id", "action", "annotator", "time"])


def events(run: RunDir) -> pd.DataFrame:
    """Every decision event (video, action, annotator, time), reloaded when the log changes."""
    return _load_events(str(run.review_db), reader(run).stamp())
