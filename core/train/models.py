"""Models built from a config and a task's shapes. The device is passed in, never hard-coded."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..rules.errors import BadInput

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
}


class Linear(nn.Linear):
    """nn.Linear that, on the CPU and for a layer of at least TRANSPOSE_MIN weights, computes its output
    transposed, (W·xᵀ)ᵀ: the same numbers up to rounding, and MKL runs that product faster for an MLP's
    shapes (docs/performance.md). Elsewhere it is nn.Linear (a tiny layer pays only for the extra views)."""

    TRANSPOSE_MIN = 1024

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            self.weight.numel() < self.TRANSPOSE_MIN
            or x.device.type != "cpu"
            or x.dim() != 2
            or self.bias is None
        ):
            return super().forward(x)
        return torch.addmm(self.bias.unsqueeze(1), self.weight, x.t()).t()


class MLP(nn.Module):
    """Flatten, then Linear → activation (→ dropout) for each hidden width, then a Linear head."""

    def __init__(
        self,
        in_features: int,
        hidden: tuple[int, ...],
        out_features: int,
        activation: str = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [Linear(width, h), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(Linear(width, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


CNN_MIN_SIDE = (
    16  # pixels: its two blocks of two unpadded 3×3 convs and a 2×2 pool leave 1×1 of a 16×16 image
)
MODEL_BUILDERS = {}


def register(name):
    def deco(fn):
        MODEL_BUILDERS[name] = fn
        return fn

    return deco


@register("mlp")
def _mlp(cfg, data) -> nn.Module:
    out = (
        data.n_classes
        if data.kind == "classification"
        else int(data.train_y.shape[1])
        if data.train_y.dim() > 1
        else 1
    )
    return MLP(math.prod(data.input_shape), tuple(cfg.hidden), out, cfg.activation, cfg.dropout)


class CNN(nn.Module):
    """Seed 004's small CNN: two blocks of two 3×3 convs and a 2×2 max-pool (→ dropout), then an MLP head.

    No softmax layer: the cross-entropy loss applies it.
    """

    CHANNELS = ((32, 32), (64, 64))

    def __init__(
        self,
        input_shape: tuple[int, ...],
        hidden: tuple[int, ...],
        n_classes: int,
        activation: str = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = input_shape[0]
        for block in self.CHANNELS:
            for ch in block:
                layers += [nn.Conv2d(width, ch, 3), ACTIVATIONS[activation]()]
                width = ch
            layers.append(nn.MaxPool2d(2))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            size = self.features(torch.zeros(1, *input_shape)).numel()
        self.head = MLP(size, hidden, n_classes, activation, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register("cnn")
def _cnn(cfg, data) -> nn.Module:
    shape = tuple(data.input_shape)
    if len(shape) != 3 or min(shape[1:]) < CNN_MIN_SIDE or data.kind != "classification":
        raise BadInput(
            f"model = cnn needs images of at least {CNN_MIN_SIDE}×{CNN_MIN_SIDE} pixels to classify; "
            f"task {cfg.task} has inputs {shape}; use model=mlp"
        )
    model = CNN(shape, tuple(cfg.hidden), data.n_classes, cfg.activation, cfg.dropout)
    if data.train_x.device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)  # cuDNN's fast layout for convs
    return model


def build_model(cfg, data, device) -> nn.Module:
    """The model for `cfg` and `data`, on `device`, initialised as `cfg.init` says."""
    if cfg.model not in MODEL_BUILDERS:
        raise BadInput(
            f"model = {cfg.model} is not available for task {cfg.task}; "
            f"known models: {', '.join(sorted(MODEL_BUILDERS))}"
        )
    model = MODEL_BUILDERS[cfg.model](cfg, data)
    if cfg.init == "zeros":
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
    elif cfg.init in SCALED_INITS:
        for m in linear_layers(model):
            SCALED_INITS[cfg.init](m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model.to(device)


SCALED_INITS = {
    "kaiming": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "xavier": nn.init.xavier_normal_,
}


def linear_layers(model: nn.Module) -> list[nn.Module]:
    """The layers with weights (Linear, Conv), in order: what per-layer diagnostics look at."""
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
