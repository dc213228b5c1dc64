"""The run directory: one folder holds everything an audit produces (DESIGN.md section 1)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

from curation.errors import RunError
from curation.fileio import read_json, write_json


TRAIN_LOG = "train_log.json"  # in checkpoints/ (and in each fold's checkpoint folder)


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

    def model_warning(self, num_classes: int) -> str | None:
        """The weak-model warning (curation.audit.metrics) from train_log.json; None when the log
        is absent or unreadable (then nothing is known to warn about)."""
        from curation.audit.metrics import weak_model_warning

        try:
            return weak_model_warning(read_json(self.train_log), num_classes) if self.train_log.exists() else None
        except (OSError, ValueError):
            return None

    def load_config(self) -> dict:
        return read_json(self.config) if self.config.exists() else {}

    def save_config(self, stage: str, config) -> None:
        """Record one stage's resolved configuration under its name in config.json."""
        data = self.load_config()
        data[stage] = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
        write_json(self.config, data)
