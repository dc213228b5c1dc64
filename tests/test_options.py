"""curation.commands.options: CLI options generated from a configuration dataclass."""

import argparse
from dataclasses import dataclass, field

import pytest

from curation.commands.options import add_options, config_from_args


@dataclass
class Inner:
    cut: float = field(default=0.5, metadata={"help": "the cut"})


@dataclass
class Outer:
    batch_size: int = field(default=16, metadata={"help": "videos per step"})
    names: tuple[str, ...] = ("a", "b")
    weights: str | None = None
    robust: bool = True
    pad: bool = False
    clips: int = field(default=8, metadata={"flag": "--n-clips", "choices": (4, 8)})
    inner: Inner = field(default_factory=Inner)


NAMES = ("batch_size", "names", "weights", "robust", "pad", "clips", "inner.cut")


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_options(parser, Outer, NAMES, help={"names": "comma-separated names"})
    return parser, parser.parse_args(argv)


def test_unset_options_keep_the_defaults():
    _, args = _parse([])
    assert config_from_args(Outer, args, NAMES) == Outer()


def test_options_parse_to_the_field_types():
    _, args = _parse(["--batch-size", "4", "--names", "x, y", "--weights", "w.pt", "--no-robust", "--pad",
                      "--n-clips", "4", "--cut", "0.7"])
    cfg = config_from_args(Outer, args, NAMES)
    assert cfg == Outer(batch_size=4, names=("x", "y"), weights="w.pt", robust=False, pad=True, clips=4,
                        inner=Inner(cut=0.7))


def test_help_shows_the_default_and_choices_are_checked(capsys):
    parser, _ = _parse([])
    text = parser.format_help()
    assert "videos per step (default 16)" in text and "comma-separated names (default a,b)" in text
    assert "the cut (default 0.5)" in text
    with pytest.raises(SystemExit):
        parser.parse_args(["--n-clips", "5"])
