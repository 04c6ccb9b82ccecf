"""C copies of one MLP as one batched model: each layer's weights stacked into a [C, out, in] tensor and its
biases into [C, 1, out], trained with batched matrix products (torch.baddbmm) under autograd, and the
optimizer's update done once for all copies with per-copy lr, momentum and weight decay.

Measured against torch.func (stack_module_state + vmap(grad(functional_call))) on this machine's CPU
(docs/performance.md, "Sweeps"): the batched products are 3-4x faster for the digits MLP and the polynomial's
linear model, and as fast for MNIST's 784-300-10; so batched products it is.

Copies never mix: every product, every loss and every update is per copy, so a copy whose loss turns
non-finite leaves the others' numbers as they were. The copies' own modules and torch optimizers
(core/train's, one Trainer per run) get the weights and the optimizer state back (core/sweep/trainer.py;
`to_optimizers` here) for everything that reads them: probes, checkpoints, summaries.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

Tensor = torch.Tensor


def mlp_layers(model: nn.Module) -> tuple[list[nn.Linear], list[nn.Module]] | None:
    """(linears, activations) of a core/train MLP without dropout (Flatten, Linear, act, ..., Linear), else
    None."""
    net = getattr(model, "net", None)
    if not isinstance(net, nn.Sequential):
        return None
    layers = list(net)
    if not layers or type(layers[0]) is not nn.Flatten or len(layers) % 2 != 0:
        return None
    linears, acts = layers[1::2], layers[2::2]
    if not all(isinstance(m, nn.Linear) and m.bias is not None for m in linears):
        return None
    if any(isinstance(m, (nn.Dropout, nn.Linear)) for m in acts):
        return None
    return linears, acts


class StackedMLP:
    """The copies' weights, stacked; `forward(x)` takes a batch shared by all copies ([B, ...]) or one per
    copy ([C, B, ...]) and gives [C, B, out]."""

    def __init__(self, models: list[nn.Module]):
        parts = [mlp_layers(m) for m in models]
        self.acts = parts[0][1]
        self.params: list[Tensor] = []
        with torch.no_grad():
            for j in range(len(parts[0][0])):
                w = torch.stack([p[0][j].weight for p in parts])
                b = torch.stack([p[0][j].bias for p in parts]).unsqueeze(1)
                self.params += [w.requires_grad_(), b.requires_grad_()]

    @property
    def copies(self) -> int:
        return self.params[0].shape[0]

    def forward(self, x: Tensor) -> Tensor:
        c = self.copies
        a = x.flatten(1).expand(c, -1, -1) if x.dim() == 2 or x.shape[0] != c else x.flatten(2)
        n = len(self.params) // 2
        for j in range(n):
            w, b = self.params[2 * j], self.params[2 * j + 1]
            a = torch.baddbmm(b, a, w.transpose(1, 2))
            if j < n - 1:
                a = self.acts[j](a)
        return a

    @torch.no_grad()
    def to_models(self, params: list[list[nn.Parameter]], copies: list[int]) -> None:
        """Copy `copies[k]`'s weights and last gradients into `params[k]`, its own module's parameters (its
        probes, checkpoints and summary read them there)."""
        for ps, i in zip(params, copies):
            for p, s in zip(ps, self.params):
                p.copy_(s[i].view_as(p))
                p.grad = None if s.grad is None else s.grad[i].view_as(p).clone()

    def select(self, keep: list[int]) -> None:
        """Keep only these copies (the others ended)."""
        idx = torch.tensor(keep, device=self.params[0].device)
        with torch.no_grad():
            self.params = [p.index_select(0, idx).requires_grad_() for p in self.params]


def per_copy_loss(name: str, out: Tensor, y: Tensor, n_classes: int) -> Tensor:
    """Each copy's mean loss ([C]) as core/train/losses.py's loss of that name gives it for one copy; `y` is
    shared ([B] or [B, k]) or per copy ([C, B] or [C, B, k])."""
    c = out.shape[0]
    if name == "cross_entropy":
        yy = y.expand(c, -1) if y.dim() == 1 else y
        return F.cross_entropy(out.flatten(0, 1), yy.flatten(), reduction="none").view(c, -1).mean(1)
    if n_classes and y.dtype in (torch.int64, torch.int32):  # mse on a classifier: one-hot targets
        y = F.one_hot(y, n_classes).to(out.dtype)
    yy = y.expand_as(out) if y.dim() < out.dim() else y
    fn = F.smooth_l1_loss if name == "smooth_l1" else F.mse_loss
    return fn(out, yy, reduction="none").flatten(1).mean(1)


class StackedOptimizer:
    """SGD (momentum, weight decay) or Adam over the stacked weights, each copy with its own lr, momentum and
    weight decay, doing what torch's optimizer does for one copy (the same formulas, in the same order)."""

    def __init__(self, stacked: StackedMLP, optimizers: list[torch.optim.Optimizer], kind: str):
        self.stacked, self.kind = stacked, kind
        p0 = stacked.params[0]
        groups = [o.param_groups[0] for o in optimizers]

        def col(key: str, default: float = 0.0) -> Tensor:
            return torch.tensor([float(g.get(key, default)) for g in groups], device=p0.device).view(-1, 1, 1)

        self.lr, self.wd, self.momentum = col("lr"), col("weight_decay"), col("momentum")
        self.betas = groups[0].get("betas", (0.9, 0.999))
        self.eps = float(groups[0].get("eps", 1e-8))
        self.state: dict[str, list[Tensor]] = {}
        self.steps = torch.zeros(len(optimizers), device=p0.device).view(-1, 1, 1)
        self._flags()
        self._from_optimizers(optimizers)

    def _flags(self) -> None:
        """Whether any copy has weight decay or momentum: read once, not at every step (no host sync)."""
        self.any_wd, self.any_momentum = bool(self.wd.any()), bool(self.momentum.any())

    def _from_optimizers(self, optimizers: list[torch.optim.Optimizer]) -> None:
        """The copies' optimizer state (a resumed run's), stacked; zeros where there is none yet."""
        names = ("exp_avg", "exp_avg_sq") if self.kind == "adam" else ("momentum_buffer",)
        models = [list(o.param_groups[0]["params"]) for o in optimizers]
        for name in names:
            self.state[name] = [
                torch.stack([_get(o.state.get(ps[j], {}), name, s[0]) for o, ps in zip(optimizers, models)])
                for j, s in enumerate(self.stacked.params)
            ]
        if self.kind == "adam":
            steps = [float(o.state.get(ps[0], {}).get("step", 0.0)) for o, ps in zip(optimizers, models)]
            self.steps = torch.tensor(steps, device=self.steps.device).view(-1, 1, 1)

    @torch.no_grad()
    def step(self) -> None:
        params = self.stacked.params
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        if self.any_wd:
            grads = [g.add(p * self.wd) for g, p in zip(grads, params)]
        if self.kind == "adam":
            self._adam(params, grads)
            return
        if self.any_momentum:
            bufs = self.state["momentum_buffer"]
            for b, g in zip(bufs, grads):
                b.mul_(self.momentum).add_(g)
            grads = bufs
        for p, g in zip(params, grads):
            p.sub_(g * self.lr)

    def _adam(self, params: list[Tensor], grads: list[Tensor]) -> None:
        b1, b2 = self.betas
        self.steps += 1
        steps = self.steps.double()  # the bias corrections in double precision, as torch's Adam has them
        step_size = (self.lr.double() / (1 - b1**steps)).float()
        bc2_sqrt = (1 - b2**steps).sqrt().float()
        for p, g, m, v in zip(params, grads, self.state["exp_avg"], self.state["exp_avg_sq"]):
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.sub_(step_size * m / denom)

    def select(self, keep: list[int]) -> None:
        idx = torch.tensor(keep, device=self.lr.device)
        self.lr, self.wd, self.momentum, self.steps = (
            t.index_select(0, idx) for t in (self.lr, self.wd, self.momentum, self.steps)
        )
        self.state = {k: [s.index_select(0, idx) for s in v] for k, v in self.state.items()}
        self._flags()

    @torch.no_grad()
    def to_optimizers(self, optimizers: list[torch.optim.Optimizer], copies: list[int]) -> None:
        """Copy `copies[k]`'s state into `optimizers[k]`, in torch's own format, so its checkpoint is the one
        a run trained alone writes."""
        for o, i in zip(optimizers, copies):
            ps = list(o.param_groups[0]["params"])
            for j, p in enumerate(ps):
                if self.kind == "adam":
                    st = {"step": self.steps[i].reshape(()).clone()}
                    st.update({k: self.state[k][j][i].view_as(p).clone() for k in ("exp_avg", "exp_avg_sq")})
                    o.state[p] = st
                elif o.param_groups[0].get("momentum", 0.0):
                    o.state[p] = {"momentum_buffer": self.state["momentum_buffer"][j][i].view_as(p).clone()}


def _get(state: dict, name: str, like: Tensor) -> Tensor:
    v = state.get(name)
    return torch.zeros_like(like) if v is None else v.detach().to(like.device).reshape(like.shape)


def finite_mask(values: Tensor) -> list[bool]:
    """Which copies' values are finite (host list)."""
    return [math.isfinite(v) for v in values.tolist()]
