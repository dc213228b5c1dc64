"""The dual-stream hierarchical video network (see docs/ARCHITECTURE.md, "Method").

frame encoder (small CNN or ResNet-18) -> short-term stream over the T frames of a clip
(facial movement; clip token + clip head) -> long-term stream over the K clip tokens
(emotion change; BiGRU) -> video head. Plain torch, no torchvision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curation.errors import ConfigError


def _conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """A stride-1 stem (fine detail: mouth corners and brows are a few pixels at 32 px), three
    strided stages and a stride-1 stage, pooled to a 4x4 map (keeps where on the face a
    feature is) -> dim. On single apex frames of the synthetic set the stem added 5 points of
    held-out accuracy and the 4x4 map 3 more over four strided stages pooled to 2x2."""

    def __init__(self, in_ch: int, width: int, dim: int):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _conv_bn(in_ch, w // 2, 1), _conv_bn(w // 2, w, 2), _conv_bn(w, 2 * w, 2), _conv_bn(2 * w, 4 * w, 2),
            _conv_bn(4 * w, 4 * w, 1),
        )
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.proj = nn.Linear(4 * w * 16, dim)
        self.norm = nn.LayerNorm(dim)  # no ReLU here: dead units collapsed training at higher LR

    def forward(self, x):  # (N, ch, H, W) -> (N, dim)
        return self.norm(self.proj(self.pool(self.features(x)).flatten(1)))


class _Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """ResNet-18 layout (as torchvision's) for GPUs; 3x3 stem so small faces keep detail."""

    def __init__(self, in_ch: int, dim: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [_Basic(cin, cout, stride), _Basic(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.proj = nn.Linear(512, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.norm(self.proj(F.adaptive_avg_pool2d(x, 1).flatten(1)))


class ShortTerm(nn.Module):
    """Facial movement inside one clip: temporal convs over frame features and their
    differences, pooled (mean + max) into a clip token."""

    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.conv1 = nn.Conv1d(2 * dim, dim, 3, padding=1)
        self.conv2 = nn.Conv1d(dim, dim, 3, padding=1)
        self.proj = nn.Linear(2 * dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):  # (N, T, D) -> (N, D)
        diff = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)
        h = torch.cat([x, diff], dim=2).transpose(1, 2)  # (N, 2D, T)
        h = F.gelu(self.conv1(h))
        h = F.gelu(self.conv2(h)) + h
        pooled = torch.cat([h.mean(2), h.amax(2)], dim=1)
        return self.norm(self.proj(self.drop(pooled)))


class LongTerm(nn.Module):
    """Emotion change across clips: a BiGRU over the clip tokens, mean-pooled."""

    def __init__(self, dim: int):
        super().__init__()
        self.gru = nn.GRU(dim, dim // 2, batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens):  # (B, K, D) -> (B, D)
        out, _ = self.gru(tokens)
        return self.norm(out + tokens).mean(1)


class DualStreamNet(nn.Module):
    """Outputs video logits (B, C) and clip logits (B, K, C) for input (B, K, T, ch, H, W)."""

    def __init__(self, num_classes: int, *, in_ch: int = 1, encoder: str = "small_cnn", width: int = 32,
                 dim: int = 128, long_term: bool = True, dropout: float = 0.3):
        super().__init__()
        if encoder == "small_cnn":
            self.encoder = SmallCNN(in_ch, width, dim)
        elif encoder == "resnet18":
            self.encoder = ResNet18(in_ch, dim)
        elif encoder in ("tv_resnet18", "tv_resnet50"):
            from model.backbones import BackboneEncoder

            self.encoder = BackboneEncoder(encoder[3:], in_ch, dim)
        else:
            raise ConfigError(f"unknown encoder {encoder!r}; use small_cnn, resnet18, tv_resnet18 or tv_resnet50")
        self.short = ShortTerm(dim, dropout)
        self.long = LongTerm(dim) if long_term else None
        self.clip_head = nn.Linear(dim, num_classes)
        self.video_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, num_classes))

    def forward(self, x, video_clips: int | None = None):
        """``video_clips``: only the first clips (in time order) feed the video head; extra
        clips (key-expression positions at scoring) get clip logits only."""
        b, k, t = x.shape[:3]
        feats = self.encoder(x.flatten(0, 2))  # (B*K*T, D)
        tokens = self.short(feats.view(b * k, t, -1)).view(b, k, -1)  # (B, K, D)
        clip_logits = self.clip_head(tokens)  # (B, K, C)
        seq = tokens[:, :video_clips] if video_clips else tokens
        video = self.long(seq) if self.long is not None else seq.mean(1)
        return self.video_head(video), clip_logits


def build_network(num_classes: int, cfg) -> DualStreamNet:
    net = DualStreamNet(num_classes, in_ch=net_in_ch(cfg), encoder=cfg.encoder, width=cfg.width,
                        dim=cfg.dim, long_term=cfg.long_term, dropout=cfg.dropout)
    if getattr(cfg, "frozen", False):
        net.encoder = nn.Identity()  # inputs are cached embeddings (model/embed.py)
    if cfg.encoder_weights and cfg.encoder.startswith("tv_"):
        from model.backbones import load_resnet

        net.encoder.backbone.load_state_dict(load_resnet(cfg.encoder_weights, cfg.encoder[3:]).state_dict())
    elif cfg.encoder_weights:
        load_encoder_weights(net, cfg.encoder_weights)
    return net


def net_in_ch(cfg) -> int:
    return (1 if cfg.grey else 3) * (2 if cfg.neutral_ref else 1)


def load_encoder_weights(net: DualStreamNet, path) -> None:
    """Load a user-supplied frame-encoder state_dict (local file, weights only)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ConfigError(f"encoder_weights {path}: no such file") from exc
    except Exception as exc:  # pickle/format errors from torch.load
        raise ConfigError(f"encoder_weights {path}: cannot be read as a weights-only state_dict ({exc})") from exc
    if isinstance(state, dict) and "encoder" in state and isinstance(state["encoder"], dict):
        state = state["encoder"]
    try:
        missing, unexpected = net.encoder.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ConfigError(f"encoder_weights {path} do not fit the {type(net.encoder).__name__} encoder: {exc}") from exc
    if unexpected or len(missing) == len(net.encoder.state_dict()):
        raise ConfigError(
            f"encoder_weights {path} do not match the {type(net.encoder).__name__} encoder "
            f"(unexpected keys {list(unexpected)[:3]}, missing {list(missing)[:3]})"
        )
