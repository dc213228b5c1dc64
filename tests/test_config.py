"""model.config: the typed train/score configuration and the CLI's mapping onto it."""

import argparse
import dataclasses

import pytest

from curation.commands import train as train_cmd
from curation.audit.agreement import TriageConfig
from curation.commands.options import config_from_args
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


def test_score_config_nests_the_triage_config_and_reads_both_layouts():
    sc = ScoreConfig(triage=TriageConfig(min_agree=0.6, min_margin=0.2, max_rate=0.3))
    flat = sc.to_dict()
    assert (flat["min_agree"], flat["min_margin"], flat["max_rate"]) == (0.6, 0.2, 0.3) and "triage" not in flat
    assert list(flat)[:9] == ["uniform_clips", "key_clips", "checkpoint", "use_dynamics", "clip_pooling",
                              "vote_weight", "video_weight", "aum_weight", "min_agree"]
    assert ScoreConfig.from_dict(flat) == sc
    assert ScoreConfig.from_dict(dataclasses.asdict(sc)) == sc  # nested layout
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['colour'\]"):
        ScoreConfig.from_dict({"colour": 1})


def test_score_options_come_from_the_config():
    import argparse

    from curation.commands import score as score_cmd

    parser = argparse.ArgumentParser()
    score_cmd.add_arguments(parser)
    args = parser.parse_args(["runs/x", "--clips", "3", "--no-dynamics", "--min-agree", "0.7", "--checkpoint", "last"])
    sc = config_from_args(ScoreConfig, args, score_cmd.OPTIONS)
    assert (sc.uniform_clips, sc.use_dynamics, sc.triage.min_agree, sc.checkpoint) == (3, False, 0.7, "last")
    assert sc.triage.rate_scale == 1.0 and sc.key_clips == 4
    assert config_from_args(ScoreConfig, parser.parse_args(["runs/x"]), score_cmd.OPTIONS) == ScoreConfig()
    with pytest.raises(ConfigError, match="--clips must be >= 1"):
        dataclasses.replace(sc, uniform_clips=0).validate()
    with pytest.raises(SystemExit):
        parser.parse_args(["runs/x", "--checkpoint", "middle"])
    assert ScoreConfig().clip_pooling == "certainty"
    assert config_from_args(ScoreConfig, parser.parse_args(["runs/x", "--clip-pooling", "mean"]),
                            score_cmd.OPTIONS).clip_pooling == "mean"
    with pytest.raises(SystemExit):
        parser.parse_args(["runs/x", "--clip-pooling", "max"])
    with pytest.raises(ConfigError, match="--clip-pooling must be one of"):
        dataclasses.replace(sc, clip_pooling="max").validate()


def test_cli_options_reach_the_config():
    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    cfg = train_cmd.build_config(parser.parse_args(["runs/x", "--shift", "2", "--epochs", "5", "--rgb"]))
    assert (cfg.shift, cfg.epochs, cfg.grey) == (2, 5, False)
    assert train_cmd.build_config(parser.parse_args(["runs/x"])) == TrainConfig()
    with pytest.raises(ConfigError, match="shift must be"):
        train_cmd.build_config(parser.parse_args(["runs/x", "--shift", "9"]))
    assert train_cmd.build_config(parser.parse_args(["runs/x", "--flag-rates", "in-sample"])).flag_rates == "in-sample"
    with pytest.raises(SystemExit):  # argparse names the two choices
        parser.parse_args(["runs/x", "--flag-rates", "guess"])
    with pytest.raises(ConfigError, match="flag_rates must be one of"):
        dataclasses.replace(TrainConfig(), flag_rates="guess").validate()


def test_frozen_training_takes_the_size_of_the_encoder_that_made_the_embeddings(tmp_path):
    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    run = tmp_path / "run"
    run.mkdir()
    assert train_cmd.build_config(parser.parse_args([str(run), "--frozen"])).size == TrainConfig().size  # no encoder
    (run / "encoder.json").write_text('{"size": 64, "dim": 128}')
    assert train_cmd.build_config(parser.parse_args([str(run), "--frozen"])).size == 64
    assert train_cmd.build_config(parser.parse_args([str(run), "--frozen", "--size", "48"])).size == 48  # said
    assert train_cmd.build_config(parser.parse_args([str(run)])).size == TrainConfig().size  # pixels: default
    other = tmp_path / "enc.json"
    other.write_text('{"size": 96}')
    cfg = train_cmd.build_config(parser.parse_args([str(run), "--frozen", "--init", str(tmp_path / "enc.pt")]))
    assert cfg.size == 96
