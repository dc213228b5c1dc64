"""Render specs to frames and write a synthetic dataset into a run directory.

``render_video`` draws the face feature by feature (``face``), then lights it and adds
sensor noise; ``generate`` renders every video of the truth table (in any number of
processes: each video has its own generator) and writes the manifest.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from curation.data.manifest import Manifest, write_manifest
from curation.data.synth import face
from curation.data.synth.config import SynthConfig, validate_config
from curation.data.synth.spec import VideoSpec, sample_video_spec, video_rng
from curation.data.synth.truth import sample_truth
from curation.data.video import write_mp4
from curation.errors import RunError
from curation.runs import RunDir

log = logging.getLogger(__name__)

_OUR_NAME = re.compile(r"^syn\d{5}(\.mp4)?$")


def render_video(spec: VideoSpec, *, neutral: bool = False, occluder: bool = True,
                 noise: bool = True) -> np.ndarray:
    """Render a spec to (T, H, W, 3) uint8 frames in one vectorized pass.

    ``neutral=True`` renders the same video with the expression removed (same identity,
    motion, blinks, talking, lighting, noise) — the reference tests compare against."""
    ident = spec.identity
    act = spec.idle + (0.0 if neutral else spec.actions)
    act = np.clip(act, 0.0, 1.3)
    cv = face.Canvas(spec)
    hair_tex = face.hair_texture(cv)
    jaw = face.jaw_drop(act, spec)
    face.draw_hair(cv, ident, hair_tex)
    face.draw_face(cv, ident, jaw, hair_tex)
    face.draw_cheeks(cv, ident, act)
    face.draw_eyes(cv, spec, act)
    face.draw_brows(cv, ident, act)
    face.draw_nose(cv, ident, act)
    face.draw_mouth(cv, ident, act, jaw)
    if occluder and spec.occluder is not None:
        face.draw_occluder(cv, ident, spec.occluder)
    return _light_and_expose(cv, spec, noise=noise)


def _light_and_expose(cv: face.Canvas, spec: VideoSpec, *, noise: bool) -> np.ndarray:
    """Global gain (flicker) times a spatial gradient, then sensor noise; rounded to uint8."""
    img = cv.img
    g = np.arange(cv.H, dtype=np.float32) / cv.H - 0.5
    ld = spec.light_dir[:, None, None]
    grad = 1 + spec.light_strength * (np.cos(ld) * g[None, None, :] + np.sin(ld) * g[None, :, None])
    img *= (spec.gain[:, None, None] * grad)[None]
    if noise:
        nrng = np.random.default_rng(spec.noise_seed)
        img += nrng.standard_normal(img.shape, dtype=np.float32) * spec.noise_sigma
    np.clip(img, 0, 255, out=img)
    img += 0.5  # round half up on the cast below
    out = np.empty((cv.T, cv.H, cv.H, 3), np.uint8)
    out[...] = np.moveaxis(img, 0, -1)  # one pass: transpose and truncate
    return out


def _write_frames(folder: Path, frames: np.ndarray) -> None:
    """Write a jpg frame folder atomically (a temp folder renamed into place)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for k, img in enumerate(frames):
            Image.fromarray(img).save(tmp / f"{k + 1:05d}.jpg", quality=95)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _render_write(job) -> tuple[int, int]:
    """Sample, render and write one video; return its apex frames. Runs in any process."""
    cfg, index, true_label, hard_kind, path = job
    spec = sample_video_spec(true_label, hard_kind, cfg.classes, cfg, video_rng(cfg.seed, index))
    frames = render_video(spec)
    if cfg.frames:
        _write_frames(path, frames)
    else:
        write_mp4(path, frames, fps=cfg.fps)
    return spec.apex


def _prepare_run(run: RunDir, *, overwrite: bool) -> None:
    """Refuse to leave a run whose results belong to another dataset; clear old synth videos."""
    derived, human = run.derived_artifacts(), run.human_work()
    if (derived or human) and not overwrite:
        raise RunError(
            f"{run.path} already holds results of a dataset ({', '.join(p.name for p in derived + human)}); "
            f"they would not match new videos. Use another --out, or --overwrite to delete "
            f"the model results")
    if human:
        raise RunError(
            f"{run.path} holds annotators' work ({', '.join(p.name for p in human)}); move it "
            f"away or use another --out (synth never deletes review decisions or exports)")
    for p in run.remove_derived():
        log.warning("deleted stale %s", p)
    videos = run.path / "videos"
    if videos.is_dir():
        for p in videos.iterdir():
            if _OUR_NAME.match(p.name):
                shutil.rmtree(p) if p.is_dir() else p.unlink()
    videos.mkdir(parents=True, exist_ok=True)


def generate(run_dir, config: SynthConfig | None = None, *, progress: bool = True,
             overwrite: bool = False):
    """Render a synthetic dataset into ``run_dir``: videos/, manifest.parquet (with ground
    truth and apex frames), classes.json, and the config under 'synth' in config.json.

    Manifest columns beyond the schema: ``noise_kind`` ('structured', 'uniform' or '') and
    ``apex_start``/``apex_end``, the first and last frame at full expression (for Neutral
    the time course scales an empty prototype, so nothing shows there).

    Returns the written Manifest. Same config (seed included) -> byte-identical manifest,
    whatever ``workers`` is (each video has its own seeded generator). A run dir that
    already has model results is refused unless ``overwrite`` (which deletes them)."""
    cfg = validate_config(config or SynthConfig())
    run = RunDir(run_dir)
    _prepare_run(run, overwrite=overwrite)
    videos = run.path / "videos"
    df = sample_truth(cfg)
    jobs = [(cfg, i, t, k, videos / p) for i, (t, k, p) in
            enumerate(zip(df["true_label"], df["hard_kind"], df["path"]))]
    t0 = time.perf_counter()
    bar = tqdm(total=len(jobs), desc="synth", unit="video", disable=not progress)
    apex = []
    if cfg.workers > 1:
        with ProcessPoolExecutor(cfg.workers) as pool:
            for a in pool.map(_render_write, jobs, chunksize=8):
                apex.append(a)
                bar.update()
    else:
        for job in jobs:
            apex.append(_render_write(job))
            bar.update()
    bar.close()
    elapsed = time.perf_counter() - t0
    log.info("rendered %d videos in %.1f s (%.1f videos/s)", len(jobs), elapsed,
             len(jobs) / max(elapsed, 1e-9))
    apex = np.asarray(apex, dtype=np.int64).reshape(-1, 2)
    df["apex_start"], df["apex_end"] = apex[:, 0], apex[:, 1]
    manifest = Manifest(df, list(cfg.classes), videos)
    write_manifest(run.path, manifest)
    run.save_config("synth", cfg)
    return manifest
