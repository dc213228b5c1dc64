"""The run directory: one folder holds everything an audit produces (docs/ARCHITECTURE.md,
"Run directory"). :class:`RunDir` names every artifact and loads the shared ones, checked
once, so the report, the FiftyOne push and the dashboard read the same validated data."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from curation.data.manifest import Manifest, read_manifest, write_manifest
from curation.errors import ConfigError, CurationError, RunError
from curation.fileio import read_json, write_json
from curation.schema import SCORES_COLUMNS, SCORES_OPTIONAL, VERDICTS, conform

log = logging.getLogger(__name__)

TRAIN_LOG = "train_log.json"  # in checkpoints/ (and in each fold's checkpoint folder)
# what `train --frozen` reads besides the manifest: the encoder and the embeddings it made;
# runs over the same videos share them by linking these files
FROZEN_INPUTS = ("encoder.pt", "encoder.json", "embeddings.npy", "embeddings.npz")



def share_cache(src: Path, dst: Path) -> None:
    """Hard-link the decoded-frame cache of ``src`` into ``dst`` so later trainings on the same
    videos skip decoding. The model checks each cache against its manifest (paths, size) and
    decodes again when it does not match, so a subset manifest stays correct."""
    cache = Path(src) / "cache"
    if cache.is_dir():
        (Path(dst) / "cache").mkdir(parents=True, exist_ok=True)
        for f in cache.iterdir():
            if f.is_file() and not (Path(dst) / "cache" / f.name).exists():
                _link(f, Path(dst) / "cache" / f.name)


def share_frozen_inputs(src: Path, dst: Path) -> None:
    """Hard-link the encoder and its cached embeddings of ``src`` into ``dst`` (same videos),
    replacing older links, so a run on the same videos trains on exactly what ``src`` read."""
    for name in FROZEN_INPUTS:
        if (Path(src) / name).exists():
            (Path(dst) / name).unlink(missing_ok=True)
            _link(Path(src) / name, Path(dst) / name)


def fresh_sibling_run(base: Path, run: Path) -> Path:
    """Make ``run`` anew (an older one is removed) with ``base``'s manifest, decoded frames,
    encoder and embeddings, so a retraining with other options differs from ``base`` in those
    options alone."""
    run = Path(run)
    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    write_manifest(run, read_manifest(base))
    share_cache(base, run)
    share_frozen_inputs(base, run)
    return run


def _link(f: Path, target: Path) -> None:
    try:
        os.link(f, target)
    except OSError:  # another file system
        shutil.copy2(f, target)


class RunDir:
    """Paths of one run's artifacts; stages read and write only through these names."""

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"RunDir({str(self.path)!r})"

    manifest = property(lambda self: self.path / "manifest.parquet")
    classes = property(lambda self: self.path / "classes.json")
    config = property(lambda self: self.path / "config.json")
    checkpoints = property(lambda self: self.path / "checkpoints")
    dynamics = property(lambda self: self.path / "dynamics.parquet")
    scores = property(lambda self: self.path / "scores.parquet")
    clip_probs = property(lambda self: self.path / "clip_probs.npy")
    clip_starts = property(lambda self: self.path / "clip_starts.npy")
    video_logits = property(lambda self: self.path / "video_logits.npy")
    saliency = property(lambda self: self.path / "saliency.parquet")
    dynamics_probs = property(lambda self: self.path / "dynamics_probs.npz")
    baselines = property(lambda self: self.path / "baselines.parquet")
    review_db = property(lambda self: self.path / "review.sqlite")
    exports = property(lambda self: self.path / "exports")
    report = property(lambda self: self.path / "report.html")
    previews = property(lambda self: self.path / "previews")
    quarantine = property(lambda self: self.path / "quarantine.csv")
    embeddings = property(lambda self: self.path / "embeddings.npy")  # float16 (frames, dim), from `embed`
    embeddings_index = property(lambda self: self.path / "embeddings.npz")  # ids, offsets, lengths, saliency, hash
    train_log = property(lambda self: self.checkpoints / TRAIN_LOG)

    def preview(self, video_id: str) -> Path:
        """Where the H.264 preview of a video is cached; the FiftyOne push and the dashboard
        share it, so each video is rendered once. Ids with characters unsafe in file names
        (FERV39K's `Action/Happy/0267`) get a sanitised name plus a short hash."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", video_id)
        if safe != video_id or safe.startswith("."):
            safe = f"{safe}-{hashlib.sha1(video_id.encode()).hexdigest()[:8]}"
        return self.previews / f"{safe}.mp4"

    def require(self, name: str, command: str) -> Path:
        """The artifact's path, or a RunError naming the command that makes it."""
        p = getattr(self, name)
        if not p.exists():
            raise RunError(
                f"{p} does not exist: run `dfer-curate {command} {self.path}` first"
            )
        return p

    # ------------------------------------------------------------------ validated loaders

    def read_manifest(self) -> Manifest:
        """The manifest with its class list (ManifestError naming synth/ingest when absent)."""
        if not self.path.is_dir():
            raise RunError(f"{self.path} is not a run directory; create one with `dfer-curate synth "
                           f"--out {self.path}` or `dfer-curate ingest ... --out {self.path}`")
        return read_manifest(self.path)

    def read_scores(self, manifest: Manifest | None = None) -> pd.DataFrame:
        """scores.parquet conformed to ``schema.SCORES_COLUMNS``, in file order (index 0..N-1),
        checked against the manifest: the same video ids, once each, the same given labels,
        every label one of the classes and every verdict one of ``schema.VERDICTS``.
        RunError naming the file and `dfer-curate score` otherwise."""
        manifest = manifest if manifest is not None else self.read_manifest()
        self.require("scores", "score")
        again = f"re-run `dfer-curate score {self.path}`"
        try:
            raw = pd.read_parquet(self.scores)
        except Exception as exc:  # a truncated or foreign parquet file
            raise RunError(f"{self.scores} cannot be read ({exc}); {again}") from exc
        try:
            scores = conform(raw, SCORES_COLUMNS, table=str(self.scores), optional=SCORES_OPTIONAL).reset_index(drop=True)
        except CurationError as exc:  # a column missing or of the wrong type
            raise RunError(f"{exc}; {again}") from exc
        if scores.empty:
            raise RunError(f"{self.scores} holds no videos; {again}")
        bad = sorted(set(scores["verdict"].dropna()) - set(VERDICTS))
        if bad:
            raise RunError(f"{self.scores}: column 'verdict' holds {bad}; expected one of {VERDICTS}")
        sids = scores["video_id"].astype(str)
        if sids.duplicated().any():
            raise RunError(f"{self.scores} has duplicated video_id(s) {sids[sids.duplicated()].tolist()[:3]}; {again}")
        ids = manifest.df["video_id"].astype(str)
        missing, extra = sorted(set(ids) - set(sids)), sorted(set(sids) - set(ids))
        if missing or extra:
            what = []
            if missing:
                what.append(f"{len(missing)} manifest video(s) have no score (e.g. {missing[:3]})")
            if extra:
                what.append(f"{len(extra)} scored video(s) are not in the manifest (e.g. {extra[:3]})")
            raise RunError(f"{self.scores} does not match {self.manifest.name}: {'; '.join(what)}; {again}")
        classes = list(manifest.classes)
        for col in ("label", "pred_label", "consensus_label", "suggested_label"):
            wrong = scores.loc[scores[col].notna() & ~scores[col].isin(classes), col]
            if len(wrong):
                raise RunError(f"{self.scores}: column {col} holds {wrong.iloc[0]!r}, not one of the classes "
                               f"{classes}; {again}")
        given = pd.Series(manifest.df["label"].astype(str).to_numpy(), index=ids.to_numpy())
        given = given.reindex(sids.to_numpy()).to_numpy()
        stale = np.flatnonzero(scores["label"].astype(str).to_numpy() != given)
        if len(stale):
            k = int(stale[0])
            raise RunError(f"{self.scores}: video {sids.iloc[k]} has label {scores['label'].iloc[k]!r} but the "
                           f"manifest says {given[k]!r}; the scores are stale: {again}")
        return scores

    def read_clip_probs(self, num_videos: int, num_classes: int, *, mmap: bool = False) -> np.ndarray:
        """clip_probs.npy, (N, M, C) rows aligned to scores.parquet; RunError when absent, of
        another shape than (num_videos, M, num_classes), or not finite."""
        self.require("clip_probs", "score")
        probs = read_array(self.clip_probs, f"re-run `dfer-curate score {self.path}`", mmap=mmap)
        if probs.ndim != 3 or probs.shape[0] != num_videos or probs.shape[2] != num_classes:
            raise RunError(f"{self.clip_probs} has shape {probs.shape} but {self.scores.name} has {num_videos} "
                           f"videos and {self.classes.name} {num_classes} classes; re-run "
                           f"`dfer-curate score {self.path}`")
        if not np.isfinite(probs).all():
            raise RunError(f"{self.clip_probs} contains NaN/inf; re-run `dfer-curate score {self.path}`")
        return probs

    def read_clip_starts(self, num_videos: int, num_clips: int, *, mmap: bool = False) -> np.ndarray | None:
        """clip_starts.npy, (N, M) start frame of each clip, or None when the model wrote none
        or its shape does not fit clip_probs (then clips are taken as uniform, with a warning)."""
        if not self.clip_starts.exists():
            return None
        starts = read_array(self.clip_starts, f"re-run `dfer-curate score {self.path}`", mmap=mmap)
        if starts.shape != (num_videos, num_clips):
            log.warning("%s has shape %s but clip_probs.npy has %s clips per video; assuming uniform clips",
                        self.clip_starts, starts.shape, (num_videos, num_clips))
            return None
        return starts

    def read_embeddings(self) -> tuple[np.ndarray, dict]:
        """The frame-embedding cache: (F, D) float16 rows, memory-mapped, and its index
        (``video_ids`` list, ``offsets``, ``lengths``, ``saliency``, ``encoder_sha256``).
        RunError naming `dfer-curate embed` when absent, ConfigError when unreadable or
        incomplete. Which encoder made it is the caller's check."""
        path, index = self.embeddings, self.embeddings_index
        if not path.exists() or not index.exists():
            raise RunError(f"{path} does not exist: run `dfer-curate embed {self.path}` first")
        try:
            with np.load(index, allow_pickle=False) as z:
                meta = {"video_ids": [str(v) for v in z["video_ids"]], "offsets": z["offsets"],
                        "lengths": z["lengths"], "saliency": z["saliency"], "encoder_sha256": str(z["encoder_sha256"])}
            frames = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"embedding cache in {self.path} is unreadable ({exc}); run "
                              f"`dfer-curate embed {self.path}` again") from exc
        if frames.ndim != 2 or len(frames) != int(meta["lengths"].sum()):
            raise ConfigError(f"embedding cache in {self.path} is incomplete; run "
                              f"`dfer-curate embed {self.path}` again")
        return frames, meta

    def model_warning(self, num_classes: int) -> str | None:
        """The weak-model warning (curation.audit.metrics) from train_log.json; None when the log
        is absent or unreadable (then nothing is known to warn about)."""
        from curation.audit.metrics import weak_model_warning

        try:
            return weak_model_warning(read_json(self.train_log), num_classes) if self.train_log.exists() else None
        except (OSError, ValueError):
            return None

    def load_config(self) -> dict:
        if not self.config.exists():
            return {}
        try:
            data = read_json(self.config)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RunError(f"{self.config} is not valid JSON ({exc}); restore it, or delete it "
                           "(it only records how the stages ran; the next stage writes a new one)") from exc
        if not isinstance(data, dict):
            raise RunError(f"{self.config} holds a {type(data).__name__}, not a mapping of stage "
                           "to settings; restore it or delete it")
        return data

    def writable(self) -> bool:
        """Whether files can be written into the run (a shared run may be read-only)."""
        folder = self.path
        while not folder.exists() and folder != folder.parent:  # not made yet: can it be?
            folder = folder.parent
        return os.access(folder, os.W_OK) and (not self.config.exists() or os.access(self.config, os.W_OK))

    def save_config(self, stage: str, config) -> None:
        """Record one stage's resolved configuration under its name in config.json; in a
        read-only run (read, reported or exported elsewhere) it is skipped with a warning."""
        if not self.writable():
            log.warning("%s is read-only: the %s settings are not recorded in %s", self.path, stage, self.config)
            return
        data = self.load_config()
        data[stage] = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
        write_json(self.config, data)

    # What the stages write after the manifest: stale, and misleading, once the dataset changes.
    DERIVED = ("checkpoints", "dynamics", "scores", "clip_probs", "clip_starts", "video_logits",
               "saliency", "dynamics_probs", "baselines", "report", "previews", "embeddings", "embeddings_index")
    # Annotators' work (decision log, exports): no tool deletes it.
    HUMAN_WORK = ("review_db", "exports")

    def derived_artifacts(self) -> list[Path]:
        """The derived artifacts (``DERIVED``) that exist."""
        return [p for p in (getattr(self, name) for name in self.DERIVED) if p.exists()]

    def human_work(self) -> list[Path]:
        """The annotators' artifacts (``HUMAN_WORK``) that exist."""
        return [p for p in (getattr(self, name) for name in self.HUMAN_WORK) if p.exists()]

    def remove_derived(self) -> list[Path]:
        """Delete every derived artifact; return the paths deleted. Never touches human work."""
        removed = self.derived_artifacts()
        for p in removed:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        return removed


def read_array(path: Path, fix: str, *, mmap: bool = False) -> np.ndarray:
    """An .npy array of numbers (never pickled objects); RunError naming the file otherwise."""
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise RunError(f"{path} is not a .npy array file; {fix}")
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise RunError(f"{path} cannot be read as an array of numbers ({exc}); {fix}") from exc
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise RunError(f"{path} does not hold an array of numbers; {fix}")
    return arr
