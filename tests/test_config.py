"""model.config: the typed train/score configuration and the CLI's mapping onto it."""

import argparse
import dataclasses

import pytest

from curation.commands import train as train_cmd
from curation.errors import ConfigError
from model.config import ScoreConfig, TrainConfig


@pytest.mark.parametrize("field, value, message", [
    ("clips", 0, "clips must be >= 1"),
    ("shift", 8, "shift must be in \\[0, size/4\\), not 8"),
    ("shift", -1, "shift must be"),
    ("noisy_mode", "drop", "noisy_mode must be relabel or exclude, not 'drop'"),
    ("holdout", 0.95, "holdout must be in"),
])
def test_validate_names_the_field(field, value, message):
    with pytest.raises(ConfigError, match=f"train config: {message}"):
        TrainConfig(**{field: value}).validate()


def test_defaults_are_valid_and_round_trip():
    cfg = TrainConfig().validate()
    assert TrainConfig.from_dict(dataclasses.asdict(cfg)) == cfg
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['colour'\]"):
        TrainConfig.from_dict({**dataclasses.asdict(cfg), "colour": True})
    assert "shift" not in cfg.model_fields() and cfg.model_fields()["size"] == 32  # augmentation is not shape


def test_score_config_builds_the_triage_config():
    tri = ScoreConfig(min_agree=0.6, min_margin=0.2, max_rate=0.3).triage_config()
    assert (tri.min_agree, tri.min_margin, tri.max_rate) == (0.6, 0.2, 0.3)


def test_cli_options_reach_the_config():
    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    cfg = train_cmd.build_config(parser.parse_args(["runs/x", "--shift", "2", "--epochs", "5", "--rgb"]))
    assert (cfg.shift, cfg.epochs, cfg.grey) == (2, 5, False)
    assert train_cmd.build_config(parser.parse_args(["runs/x"])) == TrainConfig()
    with pytest.raises(ConfigError, match="shift must be"):
        train_cmd.build_config(parser.parse_args(["runs/x", "--shift", "9"]))
