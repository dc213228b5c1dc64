"""Checkpoints are data, never code: they hold only tensors and plain values (str, int,
float, bool, None, lists, tuples, dicts) and are read with ``torch.load(weights_only=True)``,
which refuses anything else, so a crafted file in a shared run directory cannot run code.

numpy values in training state are stored as tensors (exact, same dtype) and turned back
into numpy arrays on load, so a resumed run is bit-identical to an uninterrupted one."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from curation.errors import ConfigError, RunError


def to_safe(obj):
    """``obj`` with numpy arrays as tensors and numpy scalars as Python numbers (recursive)."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj).copy())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_safe(v) for v in obj)
    return obj


def arrays_from_safe(d: dict) -> dict:
    """``d`` with its (top-level) tensors back as numpy arrays (same dtype, same values)."""
    return {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in d.items()}


def load(path, *, what: str = "checkpoint", fix: str = "train again") -> object:
    """Read a file written by ``torch.save`` with the weights-only loader.

    Raises RunError when it is missing and ConfigError when it holds anything but tensors
    and plain values (an old-format or foreign file, or a crafted one): nothing in it runs."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{what} {path} does not exist; {fix}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" not in str(exc).lower():  # garbage, not objects: not a torch file
            reason = next((t.strip() for t in str(exc).split("WeightsUnpickler error:")[-1].split("\n\n")
                           if t.strip()), str(exc))
            raise ConfigError(f"{what} {path} cannot be read as weights (not a torch checkpoint: {reason}); "
                              f"nothing in it was run; {fix}") from exc
        raise ConfigError(
            f"{what} {path} holds Python objects besides weights and settings (a checkpoint of an "
            f"older version, a file from another program, or a crafted one); it was not loaded, "
            f"because loading it could run code. {fix[0].upper() + fix[1:]}"
        ) from exc
    except Exception as exc:  # truncated or not a torch file at all
        raise ConfigError(f"{what} {path} cannot be read ({type(exc).__name__}: {exc}); {fix}") from exc
