"""The frame-encoder file (RUN/encoder.pt) that `pretrain` writes and `embed` and
`train --init` read (docs/ARCHITECTURE.md, "Representation").

The file holds only what ``torch.load(..., weights_only=True)`` accepts: a dict of a format
tag, the encoder's shape fields as a JSON string and its state_dict. The same fields are
written beside it as encoder.json for people and tools. Its hash (of the file's bytes) names
the embeddings made with it, so a changed encoder invalidates them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from curation.errors import ConfigError
from curation.fileio import atomic_path
from model.network import SmallCNN

FORMAT = "dfer-curate-encoder/1"
ARCHS = ("small_cnn",)


def build_encoder(fields: dict) -> SmallCNN:
    """An untrained encoder of the shape ``fields`` describe (arch, in_ch, width, dim)."""
    if fields.get("arch") not in ARCHS:
        raise ConfigError(f"encoder architecture {fields.get('arch')!r} is not one of {list(ARCHS)}")
    return SmallCNN(int(fields["in_ch"]), int(fields["width"]), int(fields["dim"]))


def save_encoder(path, encoder: torch.nn.Module, fields: dict, extra: dict | None = None,
                 note: dict | None = None) -> str:
    """Write the encoder file and its JSON twin; returns the file's hash. ``extra`` goes into
    both, ``note`` (e.g. timings, which would change the hash) only into the JSON."""
    path = Path(path)
    payload = {"format": FORMAT, "config": json.dumps({**fields, **(extra or {})}, sort_keys=True),
               "state_dict": {k: v.detach().cpu() for k, v in encoder.state_dict().items()}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    info = {**fields, **(extra or {}), **(note or {}), "format": FORMAT, "sha256": file_hash(path)}
    with atomic_path(path.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(info, indent=2, sort_keys=True))
    return info["sha256"]


def file_hash(path) -> str:
    """Hash of an encoder file's config and weights (not of its bytes: torch.save's zip
    layout may differ for equal weights). Unreadable files hash their bytes."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        return state_hash(payload["state_dict"], payload["config"])
    except Exception:  # not our format: the bytes still name it
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()[:16]


def state_hash(state: dict, config: str = "") -> str:
    h = hashlib.sha256(config.encode())
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def read_encoder(path) -> tuple[dict, dict]:
    """(fields, state_dict) of an encoder file, with a clear ConfigError for a missing,
    corrupt or foreign file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"encoder file {path} does not exist; run `dfer-curate pretrain RUN` first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises pickle, zip and runtime errors alike
        raise ConfigError(f"encoder file {path} is corrupt or not a weights-only torch file ({exc}); "
                          "delete it and run `dfer-curate pretrain` again") from exc
    if not (isinstance(payload, dict) and payload.get("format") == FORMAT):
        raise ConfigError(f"encoder file {path} is not a dfer-curate encoder (format {FORMAT!r} expected); "
                          "for torchvision ResNet weights use train --encoder-weights")
    try:
        fields = json.loads(payload["config"])
        state = payload["state_dict"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"encoder file {path} lacks its config or weights ({exc}); run pretrain again") from exc
    return fields, state


def load_encoder(path, *, expect: dict | None = None) -> tuple[SmallCNN, dict, str]:
    """(encoder in eval mode, its fields, file hash). ``expect``: fields the caller needs
    (e.g. in_ch, dim, size); a mismatch is an error naming both values."""
    fields, state = read_encoder(path)
    for k, v in (expect or {}).items():
        if k in fields and fields[k] != v:
            raise ConfigError(f"encoder file {path} has {k}={fields[k]!r} but {v!r} is needed here; "
                              f"pretrain an encoder with {k}={v!r} or change the training settings")
    enc = build_encoder(fields)
    try:
        enc.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(f"encoder file {path} does not match its own config ({str(exc).splitlines()[0]})") from exc
    return enc.eval(), fields, file_hash(path)


def init_encoder(net, cfg):
    """``net`` with its frame encoder started from the pretrained file ``cfg.init`` (train
    --init; nothing without it or with --frozen); the file must have the network's
    architecture, channels, width, size and dim."""
    from model.network import net_in_ch

    if not cfg.init or cfg.frozen:
        return net
    enc, _, _ = load_encoder(cfg.init, expect={"arch": cfg.encoder, "in_ch": net_in_ch(cfg), "width": cfg.width,
                                               "dim": cfg.dim, "size": cfg.size})
    net.encoder.load_state_dict(enc.state_dict())
    return net
