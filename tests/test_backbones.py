import pytest
import torch

from curation.errors import ConfigError
from model.backbones import ResNet, load_resnet


def _torchvision_like_state(arch):
    """A randomly initialised state_dict in torchvision's layout, with its classifier."""
    torch.manual_seed(0)
    net = ResNet(arch)
    state = net.state_dict()
    state["fc.weight"] = torch.randn(1000, net.features)
    state["fc.bias"] = torch.zeros(1000)
    return net, state


@pytest.mark.parametrize("arch,features", [("resnet18", 512), ("resnet50", 2048)])
def test_torchvision_format_state_dict_loads(tmp_path, arch, features):
    net, state = _torchvision_like_state(arch)
    torch.save(state, tmp_path / "w.pth")
    loaded = load_resnet(tmp_path / "w.pth", arch)
    assert torch.equal(loaded.conv1.weight, state["conv1.weight"])
    assert torch.equal(loaded.layer4[-1].bn2.running_var, state["layer4.1.bn2.running_var"] if arch == "resnet18"
                       else state["layer4.2.bn2.running_var"])
    x = torch.randn(2, 3, 112, 112)
    loaded.eval()
    assert loaded(x).shape == (2, features)


def test_module_prefix_and_nested_state_dict_are_accepted(tmp_path):
    _, state = _torchvision_like_state("resnet18")
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "w.pth")
    assert isinstance(load_resnet(tmp_path / "w.pth"), ResNet)


def test_wrong_architecture_names_the_mismatching_keys(tmp_path):
    _, state = _torchvision_like_state("resnet50")
    torch.save(state, tmp_path / "r50.pth")
    with pytest.raises(ConfigError, match=r"do not fit torchvision's resnet18: .*layer1\.0\.conv3\.weight|shape mismatch"):
        load_resnet(tmp_path / "r50.pth", "resnet18")


def test_missing_keys_are_listed(tmp_path):
    _, state = _torchvision_like_state("resnet18")
    del state["layer3.0.downsample.0.weight"]
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(ConfigError, match=r"missing 1 key\(s\) e\.g\. \['layer3\.0\.downsample\.0\.weight'\]"):
        load_resnet(tmp_path / "w.pth")


def test_corrupt_and_pickled_files_are_clear_errors(tmp_path):
    (tmp_path / "bad.pth").write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="cannot be read as a weights-only state_dict"):
        load_resnet(tmp_path / "bad.pth")
    torch.save({"net": ResNet("resnet18")}, tmp_path / "module.pth")  # a pickled module, not weights
    with pytest.raises(ConfigError, match="weights-only"):
        load_resnet(tmp_path / "module.pth")
    with pytest.raises(ConfigError, match="no such file"):
        load_resnet(tmp_path / "absent.pth")
    with pytest.raises(ConfigError, match="unknown backbone"):
        ResNet("vgg16")


def test_trainer_uses_torchvision_weights(tmp_path):
    import dataclasses

    from model.config import TrainConfig
    from model.network import build_network

    _, state = _torchvision_like_state("resnet18")
    torch.save(state, tmp_path / "w.pth")
    cfg = dataclasses.replace(TrainConfig(), encoder="tv_resnet18", encoder_weights=str(tmp_path / "w.pth"),
                              grey=False, size=112, dim=32).validate()
    net = build_network(7, cfg).eval()
    assert torch.equal(net.encoder.backbone.layer2[0].downsample[0].weight, state["layer2.0.downsample.0.weight"])
    v, c = net(torch.randn(1, 2, 2, 6, 112, 112))
    assert v.shape == (1, 7) and c.shape == (1, 2, 7)
    with pytest.raises(ConfigError, match="--rgb"):
        build_network(7, dataclasses.replace(cfg, grey=True))
