"""A hand-written forward and backward for the lab's MLPs with cross-entropy, for the CPU.

A batch-64 MNIST step is little arithmetic, so autograd's graph and its ~25 small ops cost about as much
as the matrix products (docs/performance.md). This step computes the same gradients with a dozen ops, in the
layout the CPU's BLAS runs fastest (features × batch), and writes them into each parameter's `.grad`,
so the optimizer, probes and checkpoints see what autograd would have given (tests/test_mlpstep.py
checks them against autograd). Models or losses it does not cover train through autograd as before.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .models import MLP, Linear

Tensor = torch.Tensor
# activation: (in-place forward, backward: the gradient g times the derivative, from the output h).
# ReLU's is autograd's own kernel: one pass, where a mask and masked_fill_ are two (docs/performance.md).
ACTS: dict[type, tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor], Tensor] | None]] = {
    nn.ReLU: (torch.relu_, lambda g, h: torch.ops.aten.threshold_backward(g, h, 0)),
    nn.Sigmoid: (torch.sigmoid_, lambda g, h: g.mul_(h * (1 - h))),
    nn.Tanh: (torch.tanh_, lambda g, h: g.mul_(1 - h * h)),
    nn.Identity: (lambda z: z, None),
}


class MLPStep:
    """Forward and backward of an MLP (Flatten, then Linear → activation, then a Linear head) under the
    mean cross-entropy; `build` says whether a model and loss are of that kind."""

    def __init__(self, linears: list[nn.Linear], acts: list[type]):
        self.linears, self.acts = linears, [ACTS[a] for a in acts]

    @classmethod
    def build(cls, model: nn.Module, loss_fn: nn.Module) -> MLPStep | None:
        """The step for `model` and `loss_fn`, or None where autograd must do it (dropout, other
        activations or losses, a class weight or label smoothing)."""
        if not isinstance(model, MLP) or type(loss_fn) is not nn.CrossEntropyLoss:
            return None
        if loss_fn.weight is not None or loss_fn.label_smoothing or loss_fn.reduction != "mean":
            return None
        layers = list(model.net)
        if not layers or type(layers[0]) is not nn.Flatten or len(layers) % 2 != 0:
            return None
        linears, acts = layers[1::2], [type(m) for m in layers[2::2]]
        if not all(isinstance(m, Linear) and m.bias is not None for m in linears) or not all(
            a in ACTS for a in acts
        ):
            return None
        return cls(linears, acts)

    @torch.no_grad()
    def __call__(self, x: Tensor, y: Tensor, weight: float = 1.0) -> tuple[Tensor, Tensor]:
        """(logits, mean loss) of the batch; `weight` × the loss's gradients are added to each `.grad`."""
        a = x.flatten(1).t()  # features × batch: every product below has the batch as its short side
        inputs = []
        for lin, (act, _) in zip(self.linears, self.acts):
            inputs.append(a)
            a = act(torch.addmm(lin.bias.unsqueeze(1), lin.weight, a))
        head = self.linears[-1]
        inputs.append(a)
        logits = torch.addmm(head.bias.unsqueeze(1), head.weight, a)  # classes × batch
        logp = torch.log_softmax(logits, 0)
        target = y.unsqueeze(0)
        loss = nn.functional.nll_loss(logp.t(), y)  # one kernel (gather, negate and mean: three)
        g = logp.exp_()  # softmax; its gradient is softmax - one-hot, over the batch size
        g.scatter_add_(0, target, torch.full_like(target, -1, dtype=g.dtype))
        g.mul_(weight / y.shape[0])
        for i in range(len(self.linears) - 1, -1, -1):
            lin, a = self.linears[i], inputs[i]
            add_grad(lin.weight, g @ a.t())
            add_grad(lin.bias, g.sum(1))
            if i > 0:
                g = lin.weight.t() @ g
                backward = self.acts[i - 1][1]
                if backward is not None:
                    g = backward(g, a)
        return logits.t(), loss


def add_grad(p: Tensor, g: Tensor) -> None:
    """Set or add to `p.grad`, as autograd's accumulation does."""
    if p.grad is None:
        p.grad = g
    else:
        p.grad.add_(g)
