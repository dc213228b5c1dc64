import json

import pytest
import torch

from curation.errors import ConfigError
from model.encoders import file_hash, load_encoder, save_encoder
from model.network import SmallCNN

FIELDS = {"arch": "small_cnn", "in_ch": 2, "size": 32, "width": 8, "dim": 16, "grey": True, "neutral_ref": True}


def _saved(tmp_path, fields=FIELDS, seed=0):
    torch.manual_seed(seed)
    enc = SmallCNN(fields["in_ch"], fields["width"], fields["dim"])
    path = tmp_path / "encoder.pt"
    digest = save_encoder(path, enc, fields, extra={"steps": 3})
    return enc, path, digest


def test_round_trip_with_the_safe_loader(tmp_path):
    enc, path, digest = _saved(tmp_path)
    raw = torch.load(path, weights_only=True)  # only plain tensors, strings and dicts inside
    assert json.loads(raw["config"])["dim"] == 16
    loaded, fields, h = load_encoder(path, expect={"in_ch": 2, "dim": 16})
    assert h == digest == file_hash(path)
    assert fields["steps"] == 3 and json.loads((tmp_path / "encoder.json").read_text())["sha256"] == digest
    x = torch.randn(3, 2, 32, 32)
    enc.eval()
    assert torch.allclose(loaded(x), enc(x))


def test_another_encoder_has_another_hash(tmp_path):
    _, _, a = _saved(tmp_path, seed=0)
    _, _, b = _saved(tmp_path, seed=1)
    assert a != b


def test_channel_count_mismatch_is_named(tmp_path):
    _, path, _ = _saved(tmp_path)
    with pytest.raises(ConfigError, match=r"has in_ch=2 but 6 is needed"):
        load_encoder(path, expect={"in_ch": 6})


def test_other_architecture_and_corrupt_files(tmp_path):
    _, path, _ = _saved(tmp_path, fields={**FIELDS, "arch": "vit"})
    with pytest.raises(ConfigError, match="architecture 'vit'"):
        load_encoder(path)
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(ConfigError, match="corrupt"):
        load_encoder(path)
    torch.save({"conv1.weight": torch.zeros(1)}, path)  # a plain state_dict, not our format
    with pytest.raises(ConfigError, match="not a dfer-curate encoder"):
        load_encoder(path)
    with pytest.raises(ConfigError, match="run `dfer-curate pretrain"):
        load_encoder(tmp_path / "absent.pt")


def test_weights_that_do_not_fit_their_config(tmp_path):
    enc = SmallCNN(2, 8, 16)
    path = tmp_path / "encoder.pt"
    save_encoder(path, enc, {**FIELDS, "width": 16})  # config says wider than the weights
    with pytest.raises(ConfigError, match="does not match its own config"):
        load_encoder(path)
