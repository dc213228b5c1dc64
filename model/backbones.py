"""Standard pretrained backbones for real faces on a GPU: ResNet-18 and ResNet-50 with
torchvision's parameter names, so the ImageNet and MS-Celeb-1M face checkpoints that DFER
codebases start from load unchanged (docs/ARCHITECTURE.md, "Representation").

Plain torch: torchvision does not import beside this project's torch, and timm imports
torchvision when it loads, so neither can be used here. The stem is torchvision's (7x7
stride-2 conv, max pool) for 112 px RGB faces; the classifier ``fc`` is dropped on load.
"""

from __future__ import annotations

import torch
from torch import nn

from curation.errors import ConfigError

LAYOUTS = {"resnet18": ("basic", (2, 2, 2, 2)), "resnet50": ("bottleneck", (3, 4, 6, 3))}
INPUT_SIZE = 112  # face crops of the DFER codebases these weights come from
MEAN = (0.485, 0.456, 0.406)  # ImageNet normalisation the checkpoints expect
STD = (0.229, 0.224, 0.225)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _down(cin, planes, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)  # stride on the 3x3 (torchvision v1.5)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _down(cin, planes * 4, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def _down(cin: int, cout: int, stride: int):
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    """torchvision's ResNet without ``fc``: (N, 3, 112, 112) -> (N, features) pooled features."""

    def __init__(self, arch: str = "resnet18"):
        super().__init__()
        if arch not in LAYOUTS:
            raise ConfigError(f"unknown backbone {arch!r}; use one of {sorted(LAYOUTS)}")
        kind, depths = LAYOUTS[arch]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.arch = arch
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, depth) in enumerate(zip((64, 128, 256, 512), depths)):
            blocks = []
            for j in range(depth):
                blocks.append(block(cin, planes, 2 if (j == 0 and i > 0) else 1))
                cin = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.features = cin  # 512 (resnet18) or 2048 (resnet50)

    def forward(self, x):  # (N, 3, H, W) normalised RGB -> (N, features)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


def load_resnet(path, arch: str = "resnet18") -> ResNet:
    """A ResNet with the weights of a local torchvision-format state_dict (weights_only load).
    Accepts a bare state_dict or one under "state_dict"/"model"; strips a "module." or
    "backbone." prefix; ignores ``fc.*``. Any other mismatch is an error naming the keys."""
    net = ResNet(arch)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ConfigError(f"backbone weights {path}: no such file") from exc
    except Exception as exc:  # torch.load's pickle/zip errors have no common base
        raise ConfigError(f"backbone weights {path} cannot be read as a weights-only state_dict ({exc}); "
                          "save it with torch.save(model.state_dict(), path)") from exc
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ConfigError(f"backbone weights {path} hold a {type(state).__name__}, not a state_dict")
    clean = {}
    for k, v in state.items():
        for prefix in ("module.", "backbone."):
            if k.startswith(prefix):
                k = k[len(prefix):]
        if not k.startswith("fc."):
            clean[k] = v
    own = net.state_dict()
    missing = sorted(set(own) - set(clean))
    unexpected = sorted(set(clean) - set(own))
    shape = sorted(k for k in set(own) & set(clean) if tuple(own[k].shape) != tuple(clean[k].shape))
    if missing or unexpected or shape:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s) e.g. {missing[:3]}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} key(s) e.g. {unexpected[:3]}")
        if shape:
            k = shape[0]
            parts.append(f"{len(shape)} shape mismatch(es) e.g. {k}: file {tuple(clean[k].shape)} vs {arch} {tuple(own[k].shape)}")
        raise ConfigError(f"backbone weights {path} do not fit torchvision's {arch}: " + "; ".join(parts)
                          + f". Is it a {'resnet50' if arch == 'resnet18' else 'resnet18'} file, or another architecture?")
    net.load_state_dict(clean)
    return net


class BackboneEncoder(nn.Module):
    """A torchvision-layout ResNet as the trainer's frame encoder: the RGB frame (the first
    three input channels; a neutral-difference channel, if any, is not seen by weights that
    never learned it) -> pooled features -> dim."""

    def __init__(self, arch: str, in_ch: int, dim: int):
        super().__init__()
        if in_ch not in (3, 6):
            raise ConfigError(f"{arch} backbones take RGB frames; train with --rgb (got {in_ch} input channels)")
        self.backbone = ResNet(arch)
        self.proj = nn.Linear(self.backbone.features, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):  # (N, 3 or 6, H, W) trainer channels -> (N, dim)
        return self.norm(self.proj(self.backbone(x[:, :3])))
