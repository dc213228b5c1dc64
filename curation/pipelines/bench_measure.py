"""Measuring the bench's steps: each model step runs in a spawned child that reports its wall
time, peak memory and CPU seconds, and leaves a record in the run directory it worked on, so a
later bench with the same arguments resumes from it instead of training again. Post-hoc
methods are timed in-process (``measure``)."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import resource
import time
import tracemalloc
from pathlib import Path

from curation.fileio import write_json
from curation.pipelines.bench_config import BenchConfig

log = logging.getLogger(__name__)


def child_entry(fn: str, args: tuple, kwargs: dict):
    """Runs in a spawned child: call ``module.function`` and report its wall time, the child's
    peak RSS (MB), which is then the step's own, and its CPU seconds (all threads; on a shared
    machine CPU time says more about cost than wall time)."""
    mod, name = fn.rsplit(".", 1)
    f = getattr(importlib.import_module(mod), name)
    t0, c0 = time.perf_counter(), time.process_time()
    out = f(*args, **kwargs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    record = record_path(fn, args)
    if record is not None:  # what a later `bench` run may resume from
        write_json(record, {"fn": fn, "key": record_key(args), "result": out if isinstance(out, dict) else None,
                            "wall_s": wall, "peak_mb": peak, "cpu_s": cpu})
    return out, wall, peak, cpu


def record_path(fn: str, args: tuple) -> Path | None:
    """A step's measurement is kept in the run directory it worked on (its first argument)."""
    if args and isinstance(args[0], str) and Path(args[0]).is_dir():
        return Path(args[0]) / f"bench_{fn.rsplit('.', 1)[1]}.json"
    return None


# BenchConfig fields that do not change what a model step computes
_NOT_IN_KEY = ("configs", "downstream", "isolate", "methods", "quick", "workers", "cleanlab_filter", "folds")


def record_key(args: tuple) -> str:
    """What the step depended on: its arguments, a BenchConfig as the fields that matter."""
    import json

    def norm(a):
        if isinstance(a, BenchConfig):
            return {k: v for k, v in dataclasses.asdict(a).items() if k not in _NOT_IN_KEY}
        return a

    return json.dumps([norm(a) for a in args], sort_keys=True, default=str)


def resume_record(fn: str, args: tuple):
    """The recorded (result, wall_s, peak_mb, cpu_s) of a finished step with the same arguments."""
    from curation.fileio import read_json

    path = record_path(fn, args)
    if path is None or not path.exists():
        return None
    rec = read_json(path)
    if rec.get("fn") != fn or rec.get("key") != record_key(args):
        return None
    log.info("resuming %s from %s", fn, path)
    return rec["result"], rec["wall_s"], rec["peak_mb"], rec["cpu_s"]


def in_child(fn: str, *args, isolate: bool = True, **kwargs):
    """Call ``fn`` (dotted path) in a fresh spawned process; returns (result, wall_s, peak_mb, cpu_s).
    ``isolate=False`` calls it here instead (peak_mb is then this process's peak so far)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    if not isolate:
        return child_entry(fn, args, kwargs)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(child_entry, fn, args, kwargs).result()


def measure(f, *args, **kwargs):
    """(result, wall_s, peak_mb): time ``f`` plainly, then run it again under tracemalloc for
    its peak of traced (Python and numpy) allocations, so tracing does not inflate the time."""
    t0 = time.perf_counter()
    out = f(*args, **kwargs)
    wall = time.perf_counter() - t0
    tracemalloc.start()
    try:
        f(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return out, wall, peak
