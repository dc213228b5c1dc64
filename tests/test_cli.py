"""The CLI surface: every command is listed, has help with an example, and is in the README."""

import subprocess
import sys
from pathlib import Path

import pytest

from curation import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", cli.COMMANDS)
def test_command_help_has_an_example(name, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out
    assert f"dfer-curate {name}" in out
    assert "not built yet" not in out


@pytest.mark.parametrize("name", cli.COMMANDS)
def test_every_command_is_documented_in_readme(name):
    assert f"dfer-curate {name}" in README.read_text(encoding="utf-8")


def test_no_command_prints_a_traceback_for_a_missing_run(tmp_path):
    missing = tmp_path / "nope"
    proc = subprocess.run(
        [sys.executable, "-m", "curation.cli", "score", str(missing)],
        capture_output=True, text=True,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "error:" in proc.stderr


def test_help_is_fast_without_heavy_imports():
    code = (
        "import sys; from curation import cli; cli.build_parser(); "
        "print(','.join(m for m in ('torch','fiftyone','streamlit') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_interrupted_train_names_the_resume_command(monkeypatch, capsys):
    from curation.commands import train

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "run", interrupted)
    assert cli.main(["train", "runs/x"]) == 130
    assert "interrupted: resume with `dfer-curate train runs/x --resume`" in capsys.readouterr().err
