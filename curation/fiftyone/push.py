"""Push an audit run into a persistent FiftyOne video dataset (one sample per video).

Two phases so that a failed push loses nothing in an existing dataset:

1. :func:`curation.fiftyone.prepare.prepare` reads and validates everything (manifest,
   scores, clip probabilities, baselines, decisions, video files), renders the missing
   H.264 previews and computes every field value as plain Python/numpy. No database.
2. :func:`push` writes: a new dataset (or one replacing another run's under ``overwrite``)
   is built under a temporary non-persistent name and renamed into place only when
   complete; the run's own dataset is updated in place by ``video_id`` (no duplicates;
   tags and fields users added in the App survive). Every field is one bulk
   ``set_values`` call.

Fields (sample level): ``video_id``, ``split``, ``source_path``, ``ground_truth`` (given
label), ``prediction`` (mean over clips, with confidence and logits = log mean clip
probabilities), ``consensus`` (most common clip prediction, confidence = agree_mode),
``clip_labels``/``clip_confidences`` (what each clip said), the score columns, ``verdict``,
``suggested_label``, ``suggested_lead`` and ``score_source`` (which model scored the video,
one of curation.schema.SCORE_SOURCES; each only when scores.parquet has the column, which
older runs lack), each baseline's ``<method>_score``/``<method>_flag``, FiftyOne Brain
``mistakenness``, synthetic truth (``true_label``, ``is_noisy``, ``is_hard``,
``hard_kind``) when present, and the review fields with decisions (``current_label``,
``review_action``, ``reviewer``, ``review_time``, ``review_note``). Frame level:
``clip_prediction`` (the covering clip's class and probability, its index in the
attribute ``clip``), ``saliency`` and ``expression`` (a label on the frames near the video's
peak saliency; clip layout and saliency source: see curation.fiftyone.prepare). The App
config saves the sidebar order (labels, audit, review first; baselines folded), the fields
shown by default (the verdict, the labels) and a colour per label field and verdict tag.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from tqdm import tqdm

from curation.errors import ConfigError
from curation.fiftyone.prepare import PROXY_SALIENCY, PushConfig, PushPlan, prepare
from curation.schema import VERDICTS

__all__ = ["PushConfig", "PushResult", "push"]

log = logging.getLogger(__name__)

SCORE_FIELDS = ("label_prob", "agree_label", "agree_mode", "margin", "noise_score", "hardness", "pred_conf")
REVIEW_TAGS = ("reviewed", "relabelled", "excluded")
REVIEW_VIEWS = ("reviewed", "relabelled")


@dataclass
class PushResult:
    dataset: str
    num_samples: int
    created: bool                    # False: an existing dataset of this run was updated
    previews_rendered: int
    previews_cached: int
    views: list[str]
    seconds: dict[str, float] = field(default_factory=dict)


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
            views = _write(fo, tmp, plan, progress=progress, chunk=cfg.write_chunk)
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
        views = _write(fo, ds, plan, progress=progress, chunk=cfg.write_chunk)
    t2 = time.perf_counter()
    plan.run.save_config("push", {**dataclasses.asdict(cfg), "dataset": plan.name})
    result = PushResult(dataset=plan.name, num_samples=len(ds), created=created,
                        previews_rendered=plan.previews_rendered, previews_cached=plan.previews_cached,
                        views=views, seconds={"prepare": t1 - t0, "write": t2 - t1, "total": t2 - t0})
    log.info("pushed %d videos to FiftyOne dataset %r in %.1f s", result.num_samples, plan.name, t2 - t0)
    return result


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
    for col in ("verdict", "suggested_label", "score_source"):
        if col in t.columns:
            v[col] = [_str(x) for x in t[col]]
    if "suggested_lead" in t.columns:
        v["suggested_lead"] = [_num(x) for x in t["suggested_lead"]]
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


EXPRESSION_CUT = 0.5  # frames at or above this share of the video's peak saliency carry "expression"


def _frame_values(fo, fr: dict, *, model_saliency: bool) -> dict[str, list]:
    """Frame-level field -> one value per frame (frame n+1 is index n). ``expression`` is a
    label on the frames where the expression is (the model's saliency near the video's peak),
    so the App draws it over the video while those frames play; without the model's saliency
    (a proxy) no frame gets one."""
    sal = np.asarray(fr["saliency"], dtype=float)
    peak = float(sal.max()) if model_saliency and len(sal) and np.isfinite(sal).all() else 0.0
    return {
        "saliency": [float(s) for s in sal],
        "clip_prediction": [fo.Classification(label=lab, confidence=float(c), clip=int(k))
                            for lab, c, k in zip(fr["label"], fr["conf"], fr["clip"])],
        "expression": [fo.Classification(label="expression", confidence=float(s))
                       if peak > 0 and s >= EXPRESSION_CUT * peak else None for s in sal],
    }


def _write(fo, ds, plan: PushPlan, *, progress: bool, chunk: int) -> list[str]:
    """Write every field of ``plan`` into ``ds`` (new or this run's own), keyed by video_id:
    new videos in bulk inserts of ``chunk`` videos, existing ones by one ``set_values`` per
    field, frames by one ``set_values`` per frame field and chunk of videos."""
    from fiftyone import ViewField as F

    ids = plan.table["video_id"].tolist()
    values = _sample_values(fo, plan)
    for optional in ("score_source", "suggested_lead"):
        if optional not in values and ds.has_sample_field(optional):
            ds.delete_sample_field(optional)  # re-scored by a version that does not say: drop stale values
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
    step = max(1, int(chunk))
    # in chunks: the Sample objects and frame labels of 40,000 videos at once took 10.9 GiB
    for lo in tqdm(range(0, len(new), step), desc="samples", unit="chunk", disable=not progress, leave=False):
        ds.add_samples([fo.Sample(video_id=ids[i], **{k: vals[i] for k, vals in values.items()})
                        for i in new[lo: lo + step]], progress=False)
    if new:
        have = dict(zip(*ds.values(["video_id", "id"])))
    if old:
        for k, vals in values.items():
            ds.set_values(k, {have[ids[i]]: vals[i] for i in old}, key_field="id")
    # frames of every sample, one set_values per frame field and chunk ({sample id: {frame number: value}})
    sid = [have[v] for v in ids]
    real = plan.saliency_source != PROXY_SALIENCY
    if not ds.has_frame_field("expression"):  # declared: a video with no salient frame must not fix its type
        ds.add_frame_field("expression", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classification)
    for lo in tqdm(range(0, len(sid), step), desc="frames", unit="chunk", disable=not progress, leave=False):
        per_frame = [_frame_values(fo, fr, model_saliency=real) for fr in plan.frames[lo: lo + step]]
        for k in ("clip_prediction", "saliency", "expression"):
            ds.set_values(f"frames.{k}", {s: dict(enumerate(fv[k], start=1))
                                          for s, fv in zip(sid[lo: lo + step], per_frame)}, key_field="id")
    if "video_id" not in ds.list_indexes():
        ds.create_index("video_id", unique=True)
    ds.add_dynamic_frame_fields()  # declares clip_prediction.clip so the App can filter on it

    from curation.fiftyone.brain import compute_on_dataset

    compute_on_dataset(ds, "prediction", "ground_truth")

    # tags: ours are replaced, users' own tags stay
    ds.untag_samples(list(VERDICTS))
    for tag in VERDICTS:
        ds.match(F("verdict") == tag).tag_samples(tag)
    if plan.has_decisions:  # without --decisions the last synced review state stays as it was
        ds.untag_samples(list(REVIEW_TAGS))
        ds.exists("review_action").tag_samples("reviewed")
        ds.match(F("current_label") != F("ground_truth.label")).tag_samples("relabelled")
        ds.match(F("review_action") == "exclude").tag_samples("excluded")

    views = _save_views(ds, plan, F)
    _sidebar(fo, ds, plan)
    _colors(fo, ds, plan)
    ds.default_classes = list(plan.classes)
    ds.info = {**(ds.info or {}), "run_dir": str(plan.run.path.resolve()), "tool": "dfer-curate",
               "pushed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "classes": list(plan.classes), "saliency": plan.saliency_source,
               "clip_layout": "one clip per equal segment; frame f of T is covered by clip floor(f*M/T)",
               "baselines": plan.baseline_methods, "cleanlab_method": plan.cleanlab_method,
               "saved_views": views}
    ds.save()
    return views


# One colour per label field, the same in every tile, the modal and the sidebar (where each
# field's checkbox takes its colour: the legend). Okabe-Ito, readable by colour-blind readers.
LABEL_COLORS = {"ground_truth": "#0072B2", "prediction": "#E69F00", "consensus": "#009E73",
                "true_label": "#CC79A7", "frames.expression": "#D55E00", "frames.clip_prediction": "#56B4E9"}
TAG_COLORS = {"noisy": "#D55E00", "hard-or-noisy": "#CC79A7", "hard": "#E69F00", "clean": "#009E73",
              "reviewed": "#0072B2", "relabelled": "#CC79A7", "excluded": "#999999"}


def _sidebar(fo, ds, plan: PushPlan) -> None:
    """App sidebar: the given label and the model's opinions first, then the audit's scores,
    review and clips; the baselines (empty for videos they did not score) grouped and folded
    below; FiftyOne's own groups after. The verdict and the label fields are shown by default."""
    ours = {
        "labels": ["ground_truth", "consensus", "prediction", "true_label", "current_label"],
        "audit": ["verdict", "suggested_label", "suggested_lead", "score_source", "noise_score", "hardness",
                  "agree_label", "agree_mode", "margin", "label_prob", "pred_conf", "mistakenness"],
        "review": ["review_action", "reviewer", "review_time", "review_note"],
        "clips": ["clip_labels", "clip_confidences"],
        "baselines": [f"{m}_{k}" for m in plan.baseline_methods for k in ("flag", "score")],
        "synthetic truth": ["is_noisy", "is_hard", "hard_kind"],
    }
    expanded = {"labels", "audit", "review"}
    groups = []
    for name, paths in ours.items():
        paths = [p for p in paths if ds.has_sample_field(p)]
        if paths:
            groups.append(fo.SidebarGroupDocument(name=name, paths=paths, expanded=name in expanded))
    taken = {p for g in groups for p in g.paths}
    for g in fo.DatasetAppConfig.default_sidebar_groups(ds):
        g.paths = [p for p in g.paths if p not in taken]
        if g.name == "tags":
            g.expanded = True
            groups.insert(0, g)
        elif g.paths:
            groups.append(g)
    ds.app_config.sidebar_groups = groups
    # the verdict is a chip on every tile (the App does not take sample tags from this list)
    active = ["verdict", "ground_truth", "consensus", "prediction", "true_label", "frames.expression"]
    ds.app_config.active_fields = fo.ActiveFields(paths=[p for p in active if ds.has_field(p)])


def _colors(fo, ds, plan: PushPlan) -> None:
    """The saved colour scheme: colour by field (given, prediction, consensus, truth each keep
    one colour) and one colour per verdict tag."""
    fields = [{"path": p, "fieldColor": c} for p, c in LABEL_COLORS.items() if ds.has_field(p)]
    by_value = [{"value": t, "color": c} for t, c in TAG_COLORS.items()]
    fields.append({"path": "tags", "fieldColor": "#999999", "valueColors": by_value})
    fields.append({"path": "verdict", "fieldColor": "#D55E00"})
    ds.app_config.color_scheme = fo.ColorScheme(color_by="field", fields=fields)


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
