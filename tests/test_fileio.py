"""Atomic writes: readers never see half a file, failures leave the old file and no litter."""

from __future__ import annotations

import pandas as pd
import pytest

from curation.fileio import atomic_path, read_json, write_csv, write_json, write_parquet, write_text


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "deep/er/out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new")
        assert not target.exists()  # invisible until the block ends
    assert target.read_text() == "new"
    assert list(target.parent.iterdir()) == [target]


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_json_round_trip_and_non_json_values(tmp_path):
    obj = {"classes": ["Happy", "Sad"], "n": 3, "path": tmp_path}
    write_json(tmp_path / "a.json", obj)
    back = read_json(tmp_path / "a.json")
    assert back == {"classes": ["Happy", "Sad"], "n": 3, "path": str(tmp_path)}
    assert (tmp_path / "a.json").read_text().endswith("\n")


def test_parquet_csv_text_round_trip(tmp_path):
    df = pd.DataFrame({"video_id": ["a", "b"], "x": [1.5, 2.5]})
    write_parquet(tmp_path / "t.parquet", df)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), df)
    write_csv(tmp_path / "t.csv", df)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), df)
    write_text(tmp_path / "t.txt", "héllo")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.parquet", "t.txt"]


def test_atomic_writes_get_the_usual_file_mode_not_0600(tmp_path):
    import os

    from curation.fileio import write_text

    umask = os.umask(0o022)
    try:
        import importlib

        import curation.fileio as fileio

        importlib.reload(fileio)
        fileio.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(umask)
        importlib.reload(fileio)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    del write_text


def test_sigterm_inside_a_write_removes_the_temp_file(tmp_path):
    """The CLI turns SIGTERM into an exception, so atomic writes clean up as on Ctrl-C."""
    import subprocess
    import sys

    code = (
        "import os, signal, sys, time\n"
        "from pathlib import Path\n"
        "from curation import cli\n"
        "from curation.fileio import atomic_path\n"
        "cli._terminate_cleanly()\n"
        "try:\n"
        f"    with atomic_path(Path({str(tmp_path)!r}) / 'out.bin') as tmp:\n"
        "        tmp.write_bytes(b'half')\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(10)\n"
        "except cli._Terminated:\n"
        "    sys.exit(143)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 143, proc.stderr
    assert list(tmp_path.iterdir()) == []
