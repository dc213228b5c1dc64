"""Push an audit run into a persistent FiftyOne video dataset (one sample per video).

Two phases so that a failed push loses nothing in an existing dataset:

1. :func:`prepare` reads and validates everything (manifest, scores, clip probabilities,
   baselines, decisions, video files), renders the missing H.264 previews and computes
   every field value as plain Python/numpy. No FiftyOne, no database.
2. :func:`push` writes: a new dataset (or one replacing another run's under ``overwrite``)
   is built under a temporary non-persistent name and renamed into place only when
   complete; the run's own dataset is updated in place by ``video_id`` (no duplicates;
   tags and fields users added in the App survive). Every field is one bulk
   ``set_values`` call.

Fields (sample level): ``video_id``, ``split``, ``source_path``, ``ground_truth`` (given
label), ``prediction`` (mean over clips, with confidence and logits = log mean clip
probabilities), ``consensus`` (most common clip prediction, confidence = agree_mode),
``clip_labels``/``clip_confidences`` (what each clip said), the score columns, ``verdict``,
``suggested_label``, each baseline's ``<method>_score``/``<method>_flag``, FiftyOne Brain
``mistakenness``, synthetic truth (``true_label``, ``is_noisy``, ``is_hard``,
``hard_kind``) when present, and the review fields with decisions (``current_label``,
``review_action``, ``reviewer``, ``review_time``, ``review_note``). Frame level:
``clip_prediction`` (the covering clip's class and probability, its index in the
attribute ``clip``) and ``saliency``.

Clip layout: score-time clips are one per equal segment of the video (TSN), so frame f of
a T-frame video is covered by clip ``floor(f * M / T)``. Saliency: the model's per-frame
saliency from RUN/saliency.parquet (video_id, frame [0-based], saliency) when it exists;
otherwise a proxy, the covering clip's highest class probability (how clearly that part
of the video shows *some* expression), recorded in ``dataset.info["saliency"]``.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import av
import numpy as np
import pandas as pd

from curation.errors import ConfigError, RunError, VideoError
from curation.data.manifest import read_manifest
from curation.runs import RunDir
from curation.schema import GROUND_TRUTH_COLUMNS, SCORES_COLUMNS, conform
from curation.data.video import read_video, video_codec, write_mp4

log = logging.getLogger(__name__)

SCORE_FIELDS = ("label_prob", "agree_label", "agree_mode", "margin", "noise_score", "hardness", "pred_conf")
VERDICT_TAGS = ("noisy", "hard", "clean")
REVIEW_TAGS = ("reviewed", "relabelled", "excluded")
REVIEW_VIEWS = ("reviewed", "relabelled")
PLAYABLE_CODECS = ("h264",)
PLAYABLE_CONTAINERS = (".mp4", ".m4v", ".mov")
PLAYABLE_PIX_FMTS = ("yuv420p", "yuvj420p")
PROXY_SALIENCY = "proxy: covering clip's highest class probability"


@dataclass
class PushConfig:
    dataset: str | None = None       # dataset name; None = the run directory's name
    overwrite: bool = False          # replace a dataset of that name that belongs to another run
    decisions: bool = False          # write review decisions from RUN/review.sqlite
    preview_fps: int = 16            # frame rate of previews rendered from frame folders
    workers: int = 0                 # preview/probe threads; 0 = CPU count
    cleanlab_method: str | None = None  # baseline the disagreement views compare with; None = auto


@dataclass
class PushResult:
    dataset: str
    num_samples: int
    created: bool                    # False: an existing dataset of this run was updated
    previews_rendered: int
    previews_cached: int
    views: list[str]
    seconds: dict[str, float] = field(default_factory=dict)


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


# --------------------------------------------------------------------------- prepare
def prepare(run_dir, config: PushConfig | None = None, *, progress: bool = True) -> PushPlan:
    """Read, validate and compute everything; render missing previews. No database."""
    cfg = config or PushConfig()
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise RunError(f"{run.path} is not a run directory; create one with `dfer-curate synth` "
                       "or `dfer-curate ingest`")
    manifest = read_manifest(run.path)
    run.require("scores", "score")
    run.require("clip_probs", "score")
    classes = manifest.classes
    scores = conform(pd.read_parquet(run.scores), SCORES_COLUMNS, table=str(run.scores))
    clip_probs = np.load(run.clip_probs)
    if clip_probs.ndim != 3 or clip_probs.shape[0] != len(scores) or clip_probs.shape[2] != len(classes):
        raise RunError(f"{run.clip_probs} has shape {clip_probs.shape} but scores.parquet has "
                       f"{len(scores)} videos and classes.json {len(classes)} classes; re-run "
                       f"`dfer-curate score {run.path}`")
    if not np.isfinite(clip_probs).all():
        raise RunError(f"{run.clip_probs} contains NaN/inf; re-run `dfer-curate score {run.path}`")

    m = manifest.df
    ids = m["video_id"].astype(str)
    sids = scores["video_id"].astype(str)
    missing, extra = sorted(set(ids) - set(sids)), sorted(set(sids) - set(ids))
    if missing or extra:
        what = []
        if missing:
            what.append(f"{len(missing)} manifest video(s) have no score (e.g. {missing[:3]})")
        if extra:
            what.append(f"{len(extra)} scored video(s) are not in the manifest (e.g. {extra[:3]})")
        raise RunError(f"{run.scores} does not match manifest.parquet: {'; '.join(what)}; "
                       f"re-run `dfer-curate score {run.path}`")
    if sids.duplicated().any():
        raise RunError(f"{run.scores} has duplicated video_id(s) {sids[sids.duplicated()].tolist()[:3]}; "
                       f"re-run `dfer-curate score {run.path}`")
    order = pd.Series(np.arange(len(sids)), index=sids.values).loc[ids.values].to_numpy()
    clip_probs = clip_probs[order]
    sc = scores.drop(columns=["split"]).set_index("video_id").loc[ids.values].reset_index()
    for col in ("label", "pred_label", "consensus_label", "suggested_label"):
        bad = sc.loc[sc[col].notna() & ~sc[col].isin(classes), col]
        if len(bad):
            raise RunError(f"{run.scores}: column {col} holds {bad.iloc[0]!r}, not one of the classes "
                           f"{classes}; re-run `dfer-curate score {run.path}`")
    if (sc["label"].astype(str).values != m["label"].astype(str).values).any():
        k = int(np.flatnonzero(sc["label"].astype(str).values != m["label"].astype(str).values)[0])
        raise RunError(f"{run.scores}: video {ids.iloc[k]} has label {sc['label'].iloc[k]!r} but the "
                       f"manifest says {m['label'].iloc[k]!r}; the scores are stale: re-run "
                       f"`dfer-curate score {run.path}`")

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

    files, metadata, rendered, cached = _previews(run, table["video_id"].tolist(), sources, cfg, progress=progress)
    table["filepath"] = [str(f) for f in files]

    frames, saliency_source = _frame_evidence(run, table["video_id"].tolist(), clip_probs, metadata, classes)
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


def _probe(path: Path) -> dict:
    """Width, height, fps, frame count, duration of a video file (PyAV; no ffprobe)."""
    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            fps = float(s.average_rate or s.guessed_rate or 0) or 16.0
            frames = int(s.frames or 0)
            if not frames:
                frames = sum(1 for _ in c.demux(s) if _.size)
            duration = float(s.duration * s.time_base) if s.duration and s.time_base else frames / fps
            return {"width": s.codec_context.width, "height": s.codec_context.height, "fps": fps,
                    "frames": frames, "duration": duration, "size": path.stat().st_size,
                    "pix_fmt": s.codec_context.pix_fmt}
    except (av.error.FFmpegError, IndexError, OSError) as exc:
        raise VideoError(f"{path}: cannot open video ({exc}); re-encode it or remove it from the manifest") from exc


def _playable(path: Path, probe: dict) -> bool:
    return (path.is_file() and path.suffix.lower() in PLAYABLE_CONTAINERS
            and video_codec(path) in PLAYABLE_CODECS and probe["pix_fmt"] in PLAYABLE_PIX_FMTS)


def _previews(run: RunDir, video_ids, sources, cfg: PushConfig, *, progress: bool):
    """The file each sample shows: the source when browsers play it, else an H.264 preview
    in RUN/previews/ (rendered once; re-rendered when the source is newer)."""
    from tqdm.auto import tqdm

    workers = cfg.workers or os.cpu_count() or 1
    run.previews.mkdir(parents=True, exist_ok=True)

    def one(args):
        vid, src = args
        if src.is_file():
            info = _probe(src)
            if _playable(src, info):
                return src, info, "source"
            fps = info["fps"]
        else:
            fps = cfg.preview_fps
        out = run.preview(vid)
        if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
            return out, _probe(out), "cached"
        write_mp4(out, read_video(src), fps=max(1, int(round(fps))))
        return out, _probe(out), "rendered"

    with ThreadPoolExecutor(workers) as pool:
        results = list(tqdm(pool.map(one, zip(video_ids, sources)), total=len(sources),
                            desc="previews", unit="video", disable=not progress))
    files = [r[0].resolve() for r in results]
    meta = [r[1] for r in results]
    rendered = sum(r[2] == "rendered" for r in results)
    cached = sum(r[2] == "cached" for r in results)
    if rendered:
        log.info("rendered %d H.264 preview(s) in %s", rendered, run.previews)
    return files, meta, rendered, cached


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


def _frame_evidence(run: RunDir, video_ids, clip_probs, metadata, classes):
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
    starts_path = run.clip_starts
    starts = np.load(starts_path) if starts_path.exists() else None
    if starts is not None and starts.shape != clip_probs.shape[:2]:
        log.warning("%s has shape %s but clip_probs.npy has %s clips per video; assuming uniform clips",
                    starts_path, starts.shape, clip_probs.shape[:2])
        starts = None
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


# --------------------------------------------------------------------------- push
def push(run_dir, config: PushConfig | None = None, *, progress: bool = True) -> PushResult:
    """Create or update the run's FiftyOne dataset; returns what was written.

    Raises RunError/VideoError/ConfigError for bad runs (nothing written) and
    DatabaseError when no database can be reached."""
    cfg = config or PushConfig()
    t0 = time.perf_counter()
    plan = prepare(run_dir, cfg, progress=progress)
    t1 = time.perf_counter()

    from curation.fiftyone.db import import_fiftyone

    fo = import_fiftyone()
    run_key = str(plan.run.path.resolve())
    created = True
    if fo.dataset_exists(plan.name):
        existing = fo.load_dataset(plan.name)
        owner = (existing.info or {}).get("run_dir")
        if owner == run_key:
            created = False
        elif not cfg.overwrite:
            raise ConfigError(
                f"FiftyOne dataset {plan.name!r} belongs to "
                f"{owner or 'something that is not a dfer-curate run'}, not {run_key}; pass "
                f"--dataset ANOTHER_NAME, or --overwrite to replace it"
            )
    if created:
        tmp = fo.Dataset(f"{plan.name}.tmp-{uuid.uuid4().hex[:8]}")  # non-persistent until complete
        try:
            views = _write(fo, tmp, plan, progress=progress)
            if fo.dataset_exists(plan.name):
                fo.delete_dataset(plan.name)
            tmp.name = plan.name
            tmp.persistent = True
        except BaseException:
            if not tmp.deleted:
                tmp.delete()
            raise
        ds = tmp
    else:
        ds = existing
        views = _write(fo, ds, plan, progress=progress)
    t2 = time.perf_counter()
    plan.run.save_config("push", {**_asdict(cfg), "dataset": plan.name})
    result = PushResult(dataset=plan.name, num_samples=len(ds), created=created,
                        previews_rendered=plan.previews_rendered, previews_cached=plan.previews_cached,
                        views=views, seconds={"prepare": t1 - t0, "write": t2 - t1, "total": t2 - t0})
    log.info("pushed %d videos to FiftyOne dataset %r in %.1f s", result.num_samples, plan.name, t2 - t0)
    return result


def _asdict(cfg: PushConfig) -> dict:
    import dataclasses

    return dataclasses.asdict(cfg)


def _sample_values(fo, plan: PushPlan) -> dict[str, list]:
    """Sample-level field -> one value per table row."""
    t = plan.table
    probs = plan.clip_probs                                   # (N, M, C)
    logits = np.log(np.clip(probs.mean(1), 1e-8, 1.0))         # (N, C)
    classes = plan.classes
    v: dict[str, list] = {
        "filepath": t["filepath"].tolist(),
        "source_path": t["source_path"].tolist(),
        "split": t["split"].astype(str).tolist(),
        "metadata": [fo.VideoMetadata(frame_width=int(m["width"]), frame_height=int(m["height"]),
                                      frame_rate=float(m["fps"]), total_frame_count=int(m["frames"]),
                                      duration=float(m["duration"]), size_bytes=int(m["size"]),
                                      mime_type="video/mp4") for m in plan.metadata],
        "ground_truth": [fo.Classification(label=str(y)) for y in t["label"]],
        "prediction": [fo.Classification(label=str(p), confidence=float(c), logits=lg.tolist())
                       for p, c, lg in zip(t["pred_label"], t["pred_conf"], logits)],
        "consensus": [fo.Classification(label=str(c), confidence=float(a))
                      for c, a in zip(t["consensus_label"], t["agree_mode"])],
        "clip_labels": [[classes[j] for j in row] for row in probs.argmax(2)],
        "clip_confidences": [row.round(4).tolist() for row in probs.max(2)],
    }
    for col in SCORE_FIELDS:
        v[col] = [_num(x) for x in t[col]]
    for col in ("verdict", "suggested_label"):
        v[col] = [_str(x) for x in t[col]]
    for mm in plan.baseline_methods:
        v[f"{mm}_score"] = [_num(x) for x in t[f"{mm}_score"]]
        v[f"{mm}_flag"] = [None if pd.isna(x) else bool(x) for x in t[f"{mm}_flag"]]
    if plan.has_truth:
        v["true_label"] = [fo.Classification(label=str(y)) for y in t["true_label"]]
        v["is_noisy"] = [bool(x) for x in t["is_noisy"]]
        v["is_hard"] = [bool(x) for x in t["is_hard"]]
        v["hard_kind"] = [_str(x) for x in t["hard_kind"]]
    if plan.has_decisions:
        for col in ("review_action", "current_label", "reviewer", "review_note"):
            v[col] = [_str(x) for x in t[col]]
        v["review_time"] = [None if x is None or pd.isna(x) else pd.Timestamp(x).to_pydatetime()
                            for x in t["review_time"]]
    return v


def _frame_values(fo, fr: dict) -> dict[str, list]:
    """Frame-level field -> one value per frame (frame n+1 is index n)."""
    return {
        "saliency": [float(s) for s in fr["saliency"]],
        "clip_prediction": [fo.Classification(label=lab, confidence=float(c), clip=int(k))
                            for lab, c, k in zip(fr["label"], fr["conf"], fr["clip"])],
    }


def _write(fo, ds, plan: PushPlan, *, progress: bool) -> list[str]:
    """Write every field of ``plan`` into ``ds`` (new or this run's own), keyed by video_id:
    new videos in one bulk insert, existing ones by one ``set_values`` per field, frames by
    one ``set_values`` per frame field."""
    from fiftyone import ViewField as F

    ids = plan.table["video_id"].tolist()
    values = _sample_values(fo, plan)
    if plan.has_decisions:  # declared up front: a column of Nones must not fix a wrong type
        for name in ("review_action", "current_label", "reviewer", "review_note"):
            if not ds.has_sample_field(name):
                ds.add_sample_field(name, fo.StringField)
        if not ds.has_sample_field("review_time"):
            ds.add_sample_field("review_time", fo.DateTimeField)
    have = dict(zip(*ds.values(["video_id", "id"]))) if len(ds) and ds.has_field("video_id") else {}
    stale = set(have) - set(ids)
    if stale:
        log.info("removing %d sample(s) whose videos left the run", len(stale))
        ds.delete_samples([have[v] for v in sorted(stale)])
    new = [i for i, v in enumerate(ids) if v not in have]
    old = [i for i, v in enumerate(ids) if v in have]
    if new:
        ds.add_samples([fo.Sample(video_id=ids[i], **{k: vals[i] for k, vals in values.items()}) for i in new],
                       progress=progress)
        have = dict(zip(*ds.values(["video_id", "id"])))
    if old:
        for k, vals in values.items():
            ds.set_values(k, {have[ids[i]]: vals[i] for i in old}, key_field="id")
    # frames of every sample, one set_values per frame field ({sample id: {frame number: value}})
    sid = [have[v] for v in ids]
    per_frame = [_frame_values(fo, fr) for fr in plan.frames]
    for k in ("clip_prediction", "saliency"):
        ds.set_values(f"frames.{k}", {s: dict(enumerate(fv[k], start=1)) for s, fv in zip(sid, per_frame)},
                      key_field="id")
    if "video_id" not in ds.list_indexes():
        ds.create_index("video_id", unique=True)
    ds.add_dynamic_frame_fields()  # declares clip_prediction.clip so the App can filter on it

    from curation.fiftyone.brain import compute_on_dataset

    compute_on_dataset(ds, "prediction", "ground_truth")

    # tags: ours are replaced, users' own tags stay
    ds.untag_samples(list(VERDICT_TAGS))
    for tag in VERDICT_TAGS:
        ds.match(F("verdict") == tag).tag_samples(tag)
    if plan.has_decisions:  # without --decisions the last synced review state stays as it was
        ds.untag_samples(list(REVIEW_TAGS))
        ds.exists("review_action").tag_samples("reviewed")
        ds.match(F("current_label") != F("ground_truth.label")).tag_samples("relabelled")
        ds.match(F("review_action") == "exclude").tag_samples("excluded")

    views = _save_views(ds, plan, F)
    _sidebar(fo, ds, plan)
    ds.default_classes = list(plan.classes)
    ds.info = {**(ds.info or {}), "run_dir": str(plan.run.path.resolve()), "tool": "dfer-curate",
               "pushed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "classes": list(plan.classes), "saliency": plan.saliency_source,
               "clip_layout": "one clip per equal segment; frame f of T is covered by clip floor(f*M/T)",
               "baselines": plan.baseline_methods, "cleanlab_method": plan.cleanlab_method,
               "saved_views": views}
    ds.save()
    return views


def _sidebar(fo, ds, plan: PushPlan) -> None:
    """App sidebar: our audit fields first (where users meet the scores), FiftyOne's groups after."""
    ours = {
        "audit": ["verdict", "noise_score", "hardness", "suggested_label", "agree_label", "agree_mode",
                  "margin", "label_prob", "pred_conf", "mistakenness"]
                 + [f"{m}_{k}" for m in plan.baseline_methods for k in ("flag", "score")],
        "clips": ["clip_labels", "clip_confidences"],
        "review": ["current_label", "review_action", "reviewer", "review_time", "review_note"],
        "synthetic truth": ["is_noisy", "is_hard", "hard_kind"],
    }
    groups = []
    for name, paths in ours.items():
        paths = [p for p in paths if ds.has_sample_field(p)]
        if paths:
            groups.append(fo.SidebarGroupDocument(name=name, paths=paths, expanded=name == "audit"))
    taken = {p for g in groups for p in g.paths}
    for g in fo.DatasetAppConfig.default_sidebar_groups(ds):
        g.paths = [p for p in g.paths if p not in taken]
        if g.name == "tags":
            groups.insert(0, g)
        else:
            groups.append(g)
    ds.app_config.sidebar_groups = groups


def _save_views(ds, plan: PushPlan, F) -> list[str]:
    """Saved views of this push; views an earlier push made and this one does not are removed."""
    views = {
        "suspected-noisy": ds.match(F("verdict") == "noisy").sort_by("noise_score", reverse=True),
        "hard": ds.match(F("verdict") == "hard").sort_by("hardness", reverse=True),
    }
    cl = plan.cleanlab_method
    if cl:
        flag = f"{cl}_flag"
        # only videos cleanlab scored (the baselines cover the train split)
        views["ours-noisy-cleanlab-not"] = ds.match(
            (F("verdict") == "noisy") & (F(flag) == False)).sort_by("noise_score", reverse=True)  # noqa: E712
        views["cleanlab-noisy-ours-not"] = ds.match(
            (F(flag) == True) & (F("verdict") != "noisy")).sort_by(f"{cl}_score", reverse=True)  # noqa: E712
    if plan.has_decisions:
        views["reviewed"] = ds.exists("review_action").sort_by("review_time", reverse=True)
        views["relabelled"] = ds.match_tags("relabelled").sort_by("review_time", reverse=True)
    old = (ds.info or {}).get("saved_views", [])
    if not plan.has_decisions:  # keep the review views of an earlier --decisions push
        old = [v for v in old if v not in REVIEW_VIEWS]
        views_kept = [v for v in REVIEW_VIEWS if ds.has_saved_view(v)]
    else:
        views_kept = []
    for name in old:
        if name not in views and ds.has_saved_view(name):
            ds.delete_saved_view(name)
    for name, view in views.items():
        ds.save_view(name, view, overwrite=True)
    return list(views) + views_kept


def _num(x):
    return None if x is None or pd.isna(x) else float(x)


def _str(x):
    return None if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x)
