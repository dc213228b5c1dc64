"""The bad-input corpus through the real CLI: every case ends with exit code 0 and a correct
result, or 2 and a message that names the file (row, field) and the fix; never a traceback;
with --skip-bad, good + quarantined rows equal the input rows."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from curation import cli
from tests.bad_inputs import Assets
from tests.bad_inputs.cases_ingest import CASES as INGEST_CASES
from tests.bad_inputs.cases_run import CASES as RUN_CASES

CASES = [*INGEST_CASES, *RUN_CASES]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def assets(tmp_path_factory) -> Assets:
    from curation.review.decisions import DecisionLog
    from tests.dataset_trees import video
    from tests.fakerun import make_fake_run

    base = tmp_path_factory.mktemp("bad_inputs_assets")
    run = make_fake_run(base / "run", n=24, frames=8, size=16)
    DecisionLog.for_run(run.path).record(video_id="v0001", action="exclude", annotator="ann")
    return Assets(video=video(base / "ok.mp4"), run=run.path)


def test_the_corpus_is_large_and_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, assets, tmp_path, capsys, caplog):
    argv = case.build(tmp_path, assets)
    if "out" in case.tags:
        argv.append(str(tmp_path / "exp"))
    if case.readonly:
        code, output = _run_readonly(argv, tmp_path / case.readonly)
    else:
        caplog.set_level(logging.INFO)
        code = cli.main(argv)
        captured = capsys.readouterr()
        output = captured.out + captured.err + caplog.text
    if os.environ.get("BAD_INPUTS_TABLE"):  # the corpus as a table (case, command, code, message)
        _append_row(Path(os.environ["BAD_INPUTS_TABLE"]), case.id, argv, code, output, tmp_path)
    assert "Traceback" not in output
    assert code == case.code, output[-3000:]
    if code == 2:
        assert "error:" in output
    for text in case.says:
        assert text.lower() in output.lower(), f"{text!r} not in:\n{output[-3000:]}"
    if case.check:
        case.check(tmp_path)
    if case.rows is not None:
        from curation.data.manifest import read_manifest

        good = len(read_manifest(tmp_path / "run").df)
        q = pd.read_csv(tmp_path / "run/quarantine.csv", dtype=str, keep_default_na=False)
        assert good + int((q["row"] != "all").sum()) == case.rows


def _append_row(table: Path, case_id: str, argv: list[str], code: int, output: str, tmp: Path) -> None:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    message = errors[0] if errors else next((ln for ln in lines if not ln.startswith(("INFO", "WARNING"))), "")
    problems = tmp / "run" / "ingest_problems.csv"
    if code == 2 and "problem(s) found" in message and problems.exists():  # the first problem and its fix
        p = pd.read_csv(problems, dtype=str, keep_default_na=False).iloc[0]
        message = f"{Path(p['file']).name} row {p['row']}: {p['problem']} -> {p['fix']}"
    command = " ".join(a.replace(str(tmp), "T") for a in argv)
    with open(table, "a", encoding="utf-8") as f:
        f.write(f"| {case_id} | `{command}` | {code} | {message.replace(str(tmp), 'T').replace('|', '/')[:220]} |\n")


def _run_readonly(argv: list[str], folder: Path) -> tuple[int, str]:
    """Run the CLI with ``folder`` read-only: a read-only bind mount for root (who may write
    anywhere), else the write bits taken away. Nothing may change inside ``folder``."""
    before = _snapshot(folder)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "curation.cli", *argv]
    if os.geteuid() == 0:
        if not shutil.which("unshare"):
            pytest.skip("needs unshare to make a read-only folder as root")
        script = ('mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" || exit 99; shift; exec "$@"')
        cmd = ["unshare", "-m", "sh", "-c", script, "sh", str(folder), *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        if proc.returncode == 99:
            pytest.skip(f"cannot mount read-only here: {proc.stderr.strip()}")
    else:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p, m in modes.items():
            p.chmod(m & ~0o222)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        finally:
            for p, m in modes.items():
                p.chmod(m)
    assert _snapshot(folder) == before, "the read-only run was changed"
    return proc.returncode, proc.stdout + proc.stderr


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}
