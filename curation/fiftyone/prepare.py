"""What a FiftyOne push writes, read, validated and computed before any database is touched.

:func:`prepare` loads the run through RunDir's checked loaders, merges baselines and
review decisions, finds or renders each video's browser-playable file
(curation.data.previews) and computes the frame-level evidence, all as plain
Python/numpy; ``curation.fiftyone.push`` then writes it. No FiftyOne import here.

Clip layout: score-time clips are one per equal segment of the video (TSN), so frame f of
a T-frame video is covered by clip ``floor(f * M / T)``. Saliency: the model's per-frame
saliency from RUN/saliency.parquet (video_id, frame [0-based], saliency) when it exists;
otherwise a proxy, the covering clip's highest class probability (how clearly that part
of the video shows *some* expression), recorded in ``dataset.info["saliency"]``.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from curation.data.previews import FOLDER_FPS, Shown, shown_file
from curation.errors import ConfigError, RunError, VideoError
from curation.runs import RunDir
from curation.schema import GROUND_TRUTH_COLUMNS

log = logging.getLogger(__name__)

PROXY_SALIENCY = "proxy: covering clip's highest class probability"


@dataclass
class PushConfig:
    dataset: str | None = None       # dataset name; None = the run directory's name
    overwrite: bool = False          # replace a dataset of that name that belongs to another run
    decisions: bool = False          # write review decisions from RUN/review.sqlite
    preview_fps: int = 16            # frame rate of previews rendered from frame folders
    workers: int = 0                 # preview/probe threads; 0 = CPU count
    cleanlab_method: str | None = None  # baseline the disagreement views compare with; None = auto
    # videos written per database call: all 40,000 at once held 10.9 GB of frame labels
    # (reports/SCALE.md); a chunk's objects are freed before the next is built
    write_chunk: int = 2000


@dataclass
class PushPlan:
    """Everything a push writes, computed and validated before touching the database."""

    run: RunDir
    name: str
    classes: list[str]
    table: pd.DataFrame              # one row per video, manifest order
    clip_probs: np.ndarray           # (N, M, C) aligned with table rows
    metadata: list[dict]             # per row: width, height, fps, frames, duration, size
    frames: list[dict]               # per row: {"clip": [...], "label": [...], "conf": [...], "saliency": [...]}
    baseline_methods: list[str]
    cleanlab_method: str | None
    saliency_source: str
    has_truth: bool
    has_decisions: bool
    previews_rendered: int = 0
    previews_cached: int = 0


def default_dataset_name(run_dir) -> str:
    return Path(run_dir).resolve().name


def dataset_name_for(run_dir) -> str:
    """The dataset a run was last pushed to (recorded in config.json), else the default name."""
    run = RunDir(run_dir)
    name = run.load_config().get("push", {}).get("dataset")
    return name or default_dataset_name(run_dir)


def prepare(run_dir, config: PushConfig | None = None, *, progress: bool = True) -> PushPlan:
    """Read, validate and compute everything; render missing previews. No database."""
    cfg = config or PushConfig()
    run = RunDir(run_dir)
    manifest = run.read_manifest()
    scores = run.read_scores(manifest)
    classes = manifest.classes
    clip_probs = run.read_clip_probs(len(scores), len(classes))

    # scores and clip_probs in manifest order (RunDir checked they hold the same videos)
    m = manifest.df
    ids = m["video_id"].astype(str)
    sids = scores["video_id"].astype(str)
    order = pd.Series(np.arange(len(sids)), index=sids.values).loc[ids.values].to_numpy()
    clip_probs = clip_probs[order]
    sc = scores.drop(columns=["split"]).set_index("video_id").loc[ids.values].reset_index()

    table = m[["video_id", "path", "split"]].copy()
    table["video_id"] = ids.values
    table = pd.concat([table.reset_index(drop=True), sc.drop(columns=["video_id"])], axis=1)
    has_truth = manifest.has_ground_truth
    if has_truth:
        for col in GROUND_TRUTH_COLUMNS:
            table[col] = m[col].values

    methods, cleanlab = [], None
    if run.baselines.exists():
        table, methods = _merge_baselines(table, run.baselines)
        cleanlab = _pick_cleanlab(methods, cfg.cleanlab_method)
    elif cfg.cleanlab_method:
        raise ConfigError(f"cleanlab_method={cfg.cleanlab_method!r} but {run.baselines} does not exist; "
                          f"run `dfer-curate baselines {run.path}` first")

    has_decisions = False
    if cfg.decisions:
        table = _merge_decisions(table, run)
        has_decisions = True

    # video files: all must be where the manifest says (nothing silently dropped)
    sources = [manifest.abspath(p) for p in table["path"]]
    gone = [(v, s) for v, s in zip(table["video_id"], sources) if not s.exists()]
    if gone:
        examples = ", ".join(f"{v}: {s}" for v, s in gone[:3])
        raise VideoError(f"{len(gone)} of {len(sources)} video(s) are not where the manifest says "
                         f"(dataset root {manifest.root}; e.g. {examples}); move them back, or re-run "
                         "`dfer-curate ingest` with the new --root")
    table["source_path"] = [str(s.resolve()) for s in sources]

    files, metadata, rendered, cached = render_previews(run, table["video_id"].tolist(), sources, cfg, progress=progress)
    table["filepath"] = [str(f) for f in files]

    frames, saliency_source = frame_evidence(run, table["video_id"].tolist(), clip_probs, metadata, classes)
    name = cfg.dataset or default_dataset_name(run.path)
    if not name.strip():
        raise ConfigError("the dataset name is empty; pass --dataset NAME")
    return PushPlan(run=run, name=name, classes=classes, table=table, clip_probs=clip_probs,
                    metadata=metadata, frames=frames, baseline_methods=methods, cleanlab_method=cleanlab,
                    saliency_source=saliency_source, has_truth=has_truth, has_decisions=has_decisions,
                    previews_rendered=rendered, previews_cached=cached)


def _merge_baselines(table: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    b = pd.read_parquet(path)
    if "video_id" not in b.columns:
        raise RunError(f"{path} has no video_id column; re-run `dfer-curate baselines {path.parent}`")
    b["video_id"] = b["video_id"].astype(str)
    if b["video_id"].duplicated().any():
        raise RunError(f"{path} has duplicated video_id(s); re-run `dfer-curate baselines {path.parent}`")
    methods = [c[: -len("_score")] for c in b.columns if c.endswith("_score")]
    methods = [mm for mm in methods if f"{mm}_flag" in b.columns]
    unpaired = [c for c in b.columns if c.endswith(("_score", "_flag"))
                and c.rsplit("_", 1)[0] not in methods]
    if unpaired:
        log.warning("%s: columns %s have no _score/_flag partner; not pushed", path, unpaired)
    clash = [c for mm in methods for c in (f"{mm}_score", f"{mm}_flag") if c in table.columns]
    if clash:
        raise RunError(f"{path}: baseline column(s) {clash} clash with score columns; rename the method")
    cols = ["video_id"] + [c for mm in methods for c in (f"{mm}_score", f"{mm}_flag")]
    merged = table.merge(b[cols], on="video_id", how="left", validate="one_to_one")
    if methods:
        missing = merged[cols[1]].isna()
        if (missing & (merged["split"] == "train")).any():
            log.warning("%s lacks %d train video(s); their baseline fields stay empty", path,
                        int((missing & (merged["split"] == "train")).sum()))
        elif missing.any():  # the baselines score the train split only
            log.info("baseline fields are empty for %d val/test video(s)", int(missing.sum()))
    return merged, methods


def _pick_cleanlab(methods: list[str], wanted: str | None) -> str | None:
    """The baseline the disagreement views compare with: ``wanted``, else cleanlab's
    find_label_issues with its default filter (``cl_prune_by_noise_rate``), else another
    cleanlab filter, else any cleanlab method, else None."""
    if wanted:
        if wanted not in methods:
            raise ConfigError(f"cleanlab_method={wanted!r} is not in baselines.parquet (methods: {methods})")
        return wanted
    cl = [mm for mm in methods if mm.startswith("cl_") or "cleanlab" in mm.lower()]
    for key in ("prune_by_noise_rate", "find_label_issues", "both", "prune", "confident_learning"):
        for mm in cl:
            if key in mm:
                return mm
    return cl[0] if cl else None


def _merge_decisions(table: pd.DataFrame, run: RunDir) -> pd.DataFrame:
    from curation.review.decisions import DecisionLog

    run.require("review_db", "review")
    cur = DecisionLog(run.review_db).current()
    cur = cur.assign(video_id=cur["video_id"].astype(str))
    unknown = sorted(set(cur["video_id"]) - set(table["video_id"]))
    if unknown:
        raise RunError(f"{run.review_db} has decisions for {len(unknown)} video(s) not in the manifest "
                       f"(e.g. {unknown[:3]}); was the run re-ingested? Push without --decisions or "
                       "review again")
    cur = cur.set_index("video_id")
    d = cur.reindex(table["video_id"])
    given = table["label"].astype(str).values
    new = d["new_label"].to_numpy(dtype=object)
    action = d["action"].to_numpy(dtype=object)
    current = [n if isinstance(n, str) and n else g for n, g in zip(new, given)]
    table = table.copy()
    table["review_action"] = [a if isinstance(a, str) else None for a in action]
    table["current_label"] = current
    table["reviewer"] = [a if isinstance(a, str) else None for a in d["annotator"].to_numpy(dtype=object)]
    table["review_time"] = [_parse_time(t) for t in d["time"].to_numpy(dtype=object)]
    table["review_note"] = [n if isinstance(n, str) and n else None for n in d["note"].to_numpy(dtype=object)]
    return table


def _parse_time(t):
    if not isinstance(t, str) or not t:
        return None
    ts = pd.Timestamp(t)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def render_previews(run: RunDir, video_ids, sources, cfg: PushConfig, *, progress: bool):
    """The file each sample shows (curation.data.previews: the source when browsers play it,
    else its H.264 preview), with its metadata and the counts rendered and cached."""
    from tqdm.auto import tqdm

    workers = cfg.workers or os.cpu_count() or 1

    def one(args):
        vid, src = args
        return shown_file(run, vid, src, folder_fps=cfg.preview_fps)

    with ThreadPoolExecutor(workers) as pool:
        results = list(tqdm(pool.map(one, zip(video_ids, sources)), total=len(sources),
                            desc="previews", unit="video", disable=not progress))
    files = [r.path.resolve() for r in results]
    meta = [_metadata(r) for r in results]
    rendered = sum(r.how == "rendered" for r in results)
    cached = sum(r.how == "cached" for r in results)
    if rendered:
        log.info("rendered %d H.264 preview(s) in %s", rendered, run.previews)
    return files, meta, rendered, cached


def _metadata(shown: Shown) -> dict:
    """Width, height, fps, frame count, duration and size of the file a sample shows."""
    info = shown.info
    fps = info.fps or float(FOLDER_FPS)
    return {"width": info.width, "height": info.height, "fps": fps, "frames": info.num_frames,
            "duration": info.duration or info.num_frames / fps, "size": shown.path.stat().st_size}


def frame_clip_index(num_frames: int, num_clips: int) -> np.ndarray:
    """(num_frames,) index of the clip covering each frame: one clip per equal segment."""
    f = np.arange(num_frames)
    return np.minimum((f * num_clips) // max(num_frames, 1), num_clips - 1)


def frame_clip_index_from_starts(num_frames: int, starts) -> np.ndarray:
    """(num_frames,) index of the clip covering each frame when the model recorded where its
    clips start: the clip that started most recently (earlier frames: the first clip)."""
    starts = np.asarray(starts, dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    pos = np.searchsorted(starts[order], np.arange(num_frames), side="right") - 1
    return order[np.clip(pos, 0, len(order) - 1)]


def frame_evidence(run: RunDir, video_ids, clip_probs, metadata, classes):
    sal_path = run.saliency
    sal = None
    if sal_path.exists():
        s = pd.read_parquet(sal_path)
        need = {"video_id", "frame", "saliency"}
        if not need <= set(s.columns):
            raise RunError(f"{sal_path} lacks column(s) {sorted(need - set(s.columns))}; expected "
                           "video_id, frame (0-based), saliency")
        sal = {str(k): g.set_index("frame")["saliency"] for k, g in s.groupby("video_id")}
        source = f"model saliency ({sal_path.name})"
    else:
        source = PROXY_SALIENCY
    starts = run.read_clip_starts(*clip_probs.shape[:2])
    out = []
    M = clip_probs.shape[1]
    for i, vid in enumerate(video_ids):
        T = int(metadata[i]["frames"])
        k = frame_clip_index(T, M) if starts is None else frame_clip_index_from_starts(T, starts[i])
        p = clip_probs[i]                     # (M, C)
        lab = p.argmax(1)[k]
        conf = p.max(1)[k]
        if sal is not None and vid in sal:
            s = sal[vid].reindex(np.arange(T)).to_numpy(dtype=float)
            s = np.where(np.isnan(s), conf, s)
        else:
            s = conf
        out.append({"clip": k.tolist(), "label": [classes[j] for j in lab], "conf": conf.tolist(),
                    "saliency": np.asarray(s, dtype=float).tolist()})
    return out, source

