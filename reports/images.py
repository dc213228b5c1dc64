"""Key frames of the videos the report lists, inlined as base64 JPEG data URIs, with the
class each uniformly placed clip predicts."""

from __future__ import annotations

import base64
import io
import logging

import numpy as np
import pandas as pd

from curation.errors import CurationError
from reports.inputs import Inputs, ReportConfig, uniform_clip_count

log = logging.getLogger(__name__)


def key_frame_strip(path, *, n: int, height: int = 72, quality: int = 80) -> list[str]:
    """``n`` frames at the centres of ``n`` equal segments (the clips' test positions),
    each as a base64 JPEG data URI of the given pixel height."""
    from PIL import Image

    from curation.data.video import read_video

    frames = read_video(path)
    t = len(frames)
    idx = [min(t - 1, int((k + 0.5) * t / n)) for k in range(n)]
    out = []
    for i in idx:
        img = Image.fromarray(frames[i])
        w = max(1, round(img.width * height / img.height))
        img = img.resize((w, height), Image.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality)
        out.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))
    return out


def collect_strips(inputs: Inputs, wanted: pd.DataFrame, cfg: ReportConfig, progress: bool) -> dict:
    """video_id -> [(data_uri, clip_label|None), ...] or an error message string."""
    out: dict = {}
    paths = inputs.manifest.df.set_index("video_id")["path"]
    probs = inputs.clip_probs
    n_uniform = uniform_clip_count(inputs)
    if cfg.frames_per_video:
        n_frames = cfg.frames_per_video
    else:
        n_frames = n_uniform if n_uniform and n_uniform > 1 else 6
    captions = probs is not None and n_frames == n_uniform
    items = list(wanted.iterrows())
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc="key frames", unit="video")
    for pos, r in items:
        vid = str(r["video_id"])
        if vid in out:
            continue
        if vid not in paths.index:
            out[vid] = f"{vid} is not in the manifest"
            continue
        try:
            uris = key_frame_strip(inputs.manifest.abspath(paths[vid]), n=n_frames,
                                   height=cfg.frame_height, quality=cfg.jpeg_quality)
        except CurationError as exc:
            log.warning("key frames of %s: %s", vid, exc)
            out[vid] = str(exc)
            continue
        labels: list = [None] * len(uris)
        extra = ""
        if probs is not None:
            votes = [inputs.classes[int(k)] for k in np.asarray(probs[pos]).argmax(-1)]
            if captions:
                labels = votes[:n_uniform]
            rest = votes[n_uniform:] if captions else votes
            if rest:
                tally = pd.Series(rest).value_counts()
                what = "key-expression clips" if captions else "clips"
                extra = f"{len(rest)} {what}: " + " · ".join(f"{c} {k}" for c, k in tally.items())
        out[vid] = {"frames": list(zip(uris, labels)), "extra": extra}
    return out
