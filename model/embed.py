"""`embed`: run the frozen frame encoder once over every frame of the run and cache the
embeddings (docs/ARCHITECTURE.md, "Representation"), so heads train without touching pixels.

RUN/embeddings.npy is float16 (frames, dim), opened memory-mapped; RUN/embeddings.npz holds
the index (video ids, offsets, lengths, saliency) and the hash of the encoder file that made
them. A changed encoder file has another hash: `embed` rebuilds, readers refuse.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch

from curation.errors import ConfigError, RunError
from curation.fileio import atomic_path
from model.data import FrameStore

log = logging.getLogger(__name__)


def embed(run_dir, *, encoder_path=None, batch_size: int = 512, device: str = "auto", progress: bool = True,
          force: bool = False) -> dict:
    """Embed every frame of RUN's videos with RUN/encoder.pt (or ``encoder_path``); reuse the
    cache when it was made by the same encoder file. Returns a summary (frames, seconds,
    frames per second, reused)."""
    from curation.data.manifest import read_manifest
    from curation.runs import RunDir
    from model import data
    from model.encoders import load_encoder
    from model.pretrain import _device

    run = RunDir(run_dir)
    run.require("manifest", "ingest")
    enc_path = Path(encoder_path) if encoder_path else run.path / "encoder.pt"
    if not enc_path.exists():
        raise RunError(f"{enc_path} does not exist: run `dfer-curate pretrain {run.path}` first")
    encoder, fields, digest = load_encoder(enc_path)
    manifest = read_manifest(run.path)
    ids = manifest.df["video_id"].astype(str).tolist()
    if not force:
        try:
            cached = open_embeddings(run.path, encoder_hash=digest)
            if cached.video_ids == ids:
                return {"frames": int(len(cached.frames)), "seconds": 0.0, "fps": None, "reused": True,
                        "encoder_sha256": digest, "device": None}
        except (ConfigError, RunError) as exc:
            log.info("embedding cache not reused: %s", exc)
    store = data.load_frames(manifest, size=int(fields["size"]), grey=True, cache_dir=run.path / "cache", progress=progress)
    dev = _device(device)
    rows = np.arange(len(ids))
    neutral = data.neutral_frames(store, rows) if len(rows) else np.zeros((0,) + store.frames.shape[1:], np.float32)
    video = np.repeat(rows, store.lengths)
    t0 = time.time()
    from model.pretrain import embed_frames

    with atomic_path(run.embeddings) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(len(store.frames), int(fields["dim"])))
        embed_frames(encoder, store.frames, lambda idx: neutral[video[idx]], batch_size=batch_size, device=dev,
                     progress=progress, out=out)
        out.flush()
        del out
    seconds = time.time() - t0
    with atomic_path(run.embeddings_index) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, video_ids=np.array(ids), offsets=store.offsets, lengths=store.lengths,
                     saliency=store.saliency, encoder_sha256=np.array(digest), dim=np.array(int(fields["dim"])))
    return {"frames": int(len(store.frames)), "seconds": round(seconds, 2),
            "fps": round(len(store.frames) / max(seconds, 1e-9), 1), "reused": False, "encoder_sha256": digest,
            "device": str(dev)}


def open_embeddings(run_dir, *, encoder_hash: str | None = None) -> FrameStore:
    """The cached embeddings as a FrameStore whose ``frames`` are (F, dim) float16 rows
    (memory-mapped). ``encoder_hash``: the encoder they must come from (else ConfigError)."""
    from curation.runs import RunDir

    frames, meta = RunDir(run_dir).read_embeddings()
    made_by = meta["encoder_sha256"]
    if encoder_hash is not None and made_by != encoder_hash:
        raise ConfigError(f"the embeddings in {run_dir} were made by encoder {made_by}, not by the current "
                          f"encoder {encoder_hash}; run `dfer-curate embed {run_dir}` to rebuild them")
    return FrameStore(frames, meta["offsets"], meta["lengths"], meta["saliency"], meta["video_ids"])


def current_encoder_hash(run_dir) -> str:
    from model.encoders import file_hash

    path = Path(run_dir) / "encoder.pt"
    if not path.exists():
        raise RunError(f"{path} does not exist: run `dfer-curate pretrain {run_dir}` first")
    return file_hash(path)


def embedding_batch(store: FrameStore, rows, starts, frames: int, stride: int) -> np.ndarray:
    """float32 (B, K, T, dim) cached embeddings of the clips (as data.make_batch for pixels)."""
    from model.data import gather

    return gather(store, rows, starts, frames, stride).astype(np.float32)


def to_tensor(x: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).to(device)


def network_inputs(run_dir, manifest, cfg, *, progress: bool = False) -> FrameStore:
    """What a network trained with ``cfg`` reads: the cached embeddings when it was trained
    ``--frozen``, else the run's decoded frames. Training, scoring and evaluation share it so
    a frozen network is never fed pixels."""
    if cfg.frozen:
        return store_for_training(run_dir, manifest, cfg)
    from model import data

    return data.load_frames(manifest, size=cfg.size, grey=cfg.grey,
                            cache_dir=Path(run_dir) / "cache" if cfg.cache else None, progress=progress)


def store_for_training(run_dir, manifest, cfg) -> FrameStore:
    """The embeddings `train --frozen` and its `score` read: made by the encoder they name
    (cfg.init, else RUN/encoder.pt), for this manifest's videos, of the network's size."""
    from model.encoders import file_hash

    enc = Path(cfg.init) if cfg.init else Path(run_dir) / "encoder.pt"
    if not enc.exists():
        raise RunError(f"{enc} does not exist: run `dfer-curate pretrain {run_dir}` and `dfer-curate embed {run_dir}` first")
    store = open_embeddings(run_dir, encoder_hash=file_hash(enc))
    ids = manifest.df["video_id"].astype(str).tolist()
    if store.video_ids != ids:
        raise ConfigError(f"the embeddings in {run_dir} were made for other videos; run `dfer-curate embed {run_dir}` again")
    if store.frames.shape[1] != cfg.dim:
        raise ConfigError(f"the embeddings have {store.frames.shape[1]} numbers per frame but the network's dim is "
                          f"{cfg.dim}; train with dim {store.frames.shape[1]}")
    return store
