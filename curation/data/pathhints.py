"""One line instead of thousands: when most listed paths are missing, the root or the path
prefix is wrong, not the videos. Say so with the root, one listed path, their longest common
prefix and the option that fixes it."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

MOST = 0.5  # share of listed paths missing that makes it a root/prefix problem
MIN_ROWS = 3


def missing_paths_hint(root: Path, missing: list[str], total: int) -> str | None:
    """The one-line diagnosis, or None when few paths are missing.

    ``missing`` are the listed paths (as written in the label file) that do not exist under
    ``root`` or escape it; ``total`` is how many paths were listed."""
    if total < 1 or len(missing) < min(MIN_ROWS, total) or len(missing) < MOST * total:
        return None
    root = Path(root)
    example = missing[0]
    prefix = _common_prefix(missing)
    shared = f"; the listed paths share the prefix {prefix!r}" if prefix else ""
    head = (f"{len(missing)} of {total} listed paths are not found under the dataset root {root} "
            f"(e.g. {example!r}{shared})")
    return f"{head}: {_fix(root, example)}"


def _common_prefix(paths: list[str]) -> str:
    """The longest common folder of the paths ('' when they share none)."""
    norm = [p.replace("\\", "/") for p in paths]
    try:
        common = os.path.commonpath(norm)
    except ValueError:  # absolute and relative mixed
        return ""
    if common in ("", "/") or common in norm:
        return common if common in norm and len(set(norm)) == 1 else ""
    return common + "/"


def _fix(root: Path, example: str) -> str:
    if not PurePosixPath(example).is_absolute():  # relative paths: the root may be one level off
        try:
            children = sorted(p for p in root.iterdir() if p.is_dir())[:200]
        except OSError:
            children = []
        for cand in [*list(root.parents)[:3], *children]:
            if (cand / example).exists():
                return f"{example} exists under {cand}: pass --root {cand}"
    parts = PurePosixPath(example.replace("\\", "/")).parts
    for i in range(1, len(parts)):
        tail = PurePosixPath(*parts[i:])
        if (root / tail).exists():
            strip = PurePosixPath(*parts[:i]).as_posix().rstrip("/") + "/"
            return (f"{tail} exists under the root, so the paths carry a prefix from another machine: "
                    f"pass --strip-prefix {strip} (dfer-clip), or remove it from the label file")
    return ("check --root (the folder the listed paths are relative to) and, for absolute paths "
            "written on another machine, --strip-prefix")
