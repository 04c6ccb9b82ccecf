"""C copies of one MLP as one batched model: each layer's weights stacked into a [C, out, in] tensor and its
biases into [C, out, 1], all of them views into one flat buffer (layer after layer), and so are their
gradients and the optimizer's state. A step is a hand-written forward and backward in the features × batch
layout of core/train/mlpstep.py, with no autograd graph, and the update is a handful of ops over the whole
flat buffer for all copies at once, each copy with its own lr, momentum and weight decay (from FUSED_FROM
parameters a copy, torch's fused SGD or Adam once per copy instead).

When every copy takes the same batch (shared data, same order: a learning-rate sweep), the first layer is one
matrix product for all copies: the copies' first-layer weights, [C, out, in] in memory, are one
[C·out, in] matrix, so the hidden units are `W1 @ x.T` and the weights' gradient `g @ x`, one GEMM each
instead of C small ones. Deeper layers, and a first layer whose input differs by copy, are batched products
(torch.bmm). Activations the hand-written backward does not cover (gelu, leaky_relu) take the same forward
under autograd.

Measured on this machine's CPU (docs/performance.md, "Sweeps"): batched products were 3-4x faster than
torch.func (stack_module_state + vmap(grad(functional_call))) for the digits MLP and the polynomial's linear
model, and as fast for MNIST's 784-300-10. The hand-written step, the one product for a shared first layer
and the flat update then cut a minibatch group's loop to 0.4-0.5x of that (there, "The batched step without
autograd").

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

from ..train.mlpstep import ACTS

Tensor = torch.Tensor
FUSED_FROM = 10_000  # parameters a copy: from here on, the fused update once per copy (StackedOptimizer)


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


class Layout:
    """Per-layer tensors of C copies ([C, *shape] each) as views into one flat buffer, layer after layer."""

    def __init__(self, shapes: list[tuple[int, ...]], copies: int):
        self.shapes, self.copies = shapes, copies
        self.sizes = [math.prod(s) for s in shapes]

    def views(self, flat: Tensor) -> list[Tensor]:
        out, at = [], 0
        for shape, n in zip(self.shapes, self.sizes):
            out.append(flat[at : at + self.copies * n].view(self.copies, *shape))
            at += self.copies * n
        return out

    def pack(self, tensors: list[Tensor]) -> Tensor:
        return torch.cat([t.reshape(-1) for t in tensors])

    def spread(self, col: Tensor) -> Tensor:
        """A per-copy value ([C]) for every element of the flat buffer."""
        return torch.cat([col.repeat_interleave(n) for n in self.sizes])


class StackedMLP:
    """The copies' weights, stacked. `train_step` puts one step's gradients in `grads`; `logits(x, shared)`
    takes a batch shared by all copies ([B, ...]) or one per copy ([C, B, ...]) and gives [C, out, B]."""

    def __init__(self, models: list[nn.Module]):
        parts = [mlp_layers(m) for m in models]
        self.acts = parts[0][1]
        self.hand = [ACTS.get(type(a)) for a in self.acts]
        self.by_hand = all(h is not None for h in self.hand)  # else the backward is autograd's
        tensors = []
        with torch.no_grad():
            for j in range(len(parts[0][0])):
                tensors.append(torch.stack([p[0][j].weight for p in parts]))
                tensors.append(torch.stack([p[0][j].bias for p in parts]).unsqueeze(2))
        self._set(tensors, None)

    def _set(self, tensors: list[Tensor], grads: list[Tensor] | None) -> None:
        self.layout = Layout([tuple(t.shape[1:]) for t in tensors], tensors[0].shape[0])
        self.flat = self.layout.pack(tensors)
        self.gflat = torch.zeros_like(self.flat) if grads is None else self.layout.pack(grads)
        self.params = [v.requires_grad_() for v in self.layout.views(self.flat)]
        self.grads = self.layout.views(self.gflat)
        self.has_grad = grads is not None
        self._ones: dict[tuple, Tensor] = {}

    @property
    def copies(self) -> int:
        return self.layout.copies

    def logits(self, x: Tensor, shared: bool, hand: bool = False) -> tuple[Tensor, list[Tensor]]:
        """([C, out, B], each layer's input): the first layer's `x.flatten(1)` ([B, in]) when `shared`, else
        `x.flatten(2)` ([C, B, in]); the deeper ones' [C, in, B]. `hand`: activations in place (no graph)."""
        c, ps = self.copies, self.params
        w, b = ps[0], ps[1]
        if shared:
            a = x.flatten(1)
            z = torch.addmm(b.view(-1, 1), w.view(-1, w.shape[2]), a.t()).view(c, w.shape[1], -1)
        else:
            a = x.flatten(2)
            z = torch.baddbmm(b, w, a.transpose(1, 2))
        inputs = [a]
        for j in range(1, len(ps) // 2):
            z = self.hand[j - 1][0](z) if hand else self.acts[j - 1](z)
            inputs.append(z)
            z = torch.baddbmm(ps[2 * j + 1], ps[2 * j], z)
        return z, inputs

    @torch.no_grad()
    def train_step(
        self, x: Tensor, y: Tensor, loss: str, n_classes: int, weight: float, shared: bool, first: bool
    ) -> tuple[Tensor, Tensor]:
        """([C, out, B] outputs, [C] mean losses) of one (micro-)batch; `weight` × its gradients go into
        `grads`, written (`first`) or added."""
        if not self.by_hand:
            return self._autograd_step(x, y, loss, n_classes, weight, shared, first)
        z, inputs = self.logits(x, shared, hand=True)
        value, g = loss_and_grad(loss, z, y, n_classes, weight, shared, self._neg_ones)
        self._backward(g, inputs, shared, first)
        self.has_grad = True
        return z, value

    def _backward(self, g: Tensor, inputs: list[Tensor], shared: bool, first: bool) -> None:
        """Each layer's gradients from the outputs' `g` ([C, out, B]), as mlpstep.py does for one."""
        for j in range(len(inputs) - 1, -1, -1):
            a, gw, gb = inputs[j], self.grads[2 * j], self.grads[2 * j + 1]
            if j == 0 and shared:  # one product for all copies: [C·out, B] @ [B, in]
                g2, gw2 = g.view(-1, g.shape[2]), gw.view(-1, gw.shape[2])
                torch.mm(g2, a, out=gw2) if first else gw2.addmm_(g2, a)
            else:
                at = a if j == 0 else a.transpose(1, 2)
                torch.bmm(g, at, out=gw) if first else gw.baddbmm_(g, at)
            torch.sum(g, 2, keepdim=True, out=gb) if first else gb.add_(g.sum(2, keepdim=True))
            if j > 0:
                g = torch.bmm(self.params[2 * j].transpose(1, 2), g)
                backward = self.hand[j - 1][1]
                if backward is not None:
                    g = backward(g, a)

    def _autograd_step(
        self, x: Tensor, y: Tensor, loss: str, n_classes: int, weight: float, shared: bool, first: bool
    ) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            z, _ = self.logits(x, shared)
            value = loss_and_grad(loss, z, y, n_classes, weight, shared, None)[0]
            grads = torch.autograd.grad(value.sum() * weight, self.params)
        for gv, g in zip(self.grads, grads):
            gv.copy_(g) if first else gv.add_(g)
        self.has_grad = True
        return z.detach(), value.detach()

    def _neg_ones(self, shape: tuple[int, ...]) -> Tensor:
        if shape not in self._ones:
            self._ones[shape] = torch.full(shape, -1.0, device=self.flat.device)
        return self._ones[shape]

    @torch.no_grad()
    def to_models(self, params: list[list[nn.Parameter]], copies: list[int]) -> None:
        """Copy `copies[k]`'s weights and last gradients into `params[k]`, its own module's parameters (its
        probes, checkpoints and summary read them there)."""
        for ps, i in zip(params, copies):
            for p, s, g in zip(ps, self.params, self.grads):
                p.copy_(s[i].view_as(p))
                p.grad = g[i].view_as(p).clone() if self.has_grad else None

    def select(self, keep: list[int]) -> None:
        """Keep only these copies (the others ended)."""
        idx = torch.tensor(keep, device=self.flat.device)
        with torch.no_grad():
            tensors = [p.detach().index_select(0, idx) for p in self.params]
            grads = [g.index_select(0, idx) for g in self.grads] if self.has_grad else None
        self._set(tensors, grads)


def loss_and_grad(
    name: str, z: Tensor, y: Tensor, n_classes: int, weight: float, shared: bool, neg_ones
) -> tuple[Tensor, Tensor | None]:
    """Each copy's mean loss ([C]) of outputs `z` ([C, out, B]) as core/train/losses.py's loss of that name
    gives it for one copy, and (when `neg_ones`, a cache of -1 tensors, is given) `weight` × its gradient
    with respect to `z`; `y` is shared ([B] or [B, k]) or per copy ([C, B] or [C, B, k])."""
    c, k, b = z.shape
    classes = n_classes and y.dtype in (torch.int64, torch.int32)
    if classes:
        tgt = y.view(1, 1, b).expand(c, 1, b) if shared else y.view(c, 1, b)
    if name == "cross_entropy":
        logp = torch.log_softmax(z, 1)
        value = logp.gather(1, tgt).mean((1, 2)).neg()
        if neg_ones is None:
            return value, None
        g = logp.exp_()  # softmax; its gradient is softmax - one-hot, over the batch size
        g.scatter_add_(1, tgt, neg_ones((c, 1, b)))
        return value, g.mul_(weight / b)
    if classes:  # mse on a classifier: against one-hot targets
        if neg_ones is None:
            d = z - F.one_hot(y, n_classes).to(z.dtype).view(-1, b, k).transpose(1, 2)
        else:
            d = z.clone().scatter_add_(1, tgt, neg_ones((c, 1, b)))
    else:
        yt = y.reshape(b, -1).t() if shared else y.reshape(c, b, -1).transpose(1, 2)
        if name == "smooth_l1":
            value = F.smooth_l1_loss(z, yt.expand_as(z), reduction="none").mean((1, 2))
            if neg_ones is None:
                return value, None
            return value, (z - yt).clamp_(-1.0, 1.0).mul_(weight / (k * b))
        d = z - yt
    value = d.square().mean((1, 2))
    grad = None if neg_ones is None else d.mul_(2.0 * weight / (k * b))
    return value, grad


class StackedOptimizer:
    """SGD (momentum, weight decay) or Adam over the stacked weights, each copy with its own lr, momentum and
    weight decay, doing what torch's optimizer does for one copy (the same formulas, in the same order): for
    a small model in a few ops over the whole flat buffer; from FUSED_FROM parameters a copy on, with torch's
    fused kernel once per copy (one pass over the weights, the kernel a run alone updates with)."""

    def __init__(self, stacked: StackedMLP, optimizers: list[torch.optim.Optimizer], kind: str):
        self.stacked, self.kind, self.layout = stacked, kind, stacked.layout
        groups = [o.param_groups[0] for o in optimizers]
        keys = {"lr": "lr", "wd": "weight_decay", "momentum": "momentum"}
        self.values = {k: [float(g.get(key, 0.0)) for g in groups] for k, key in keys.items()}
        self.betas = groups[0].get("betas", (0.9, 0.999))
        self.eps = float(groups[0].get("eps", 1e-8))
        self.state: dict[str, Tensor] = {}
        self.steps = [0.0] * len(optimizers)  # Adam's per copy, on the host: no sync at a step
        device = stacked.flat.device
        self.fused = sum(self.layout.sizes) >= FUSED_FROM and device.type in ("cpu", "cuda")
        self._from_optimizers(optimizers)
        self._spread()

    def _spread(self) -> None:
        """The per-copy values for every element (or each copy's tensors, fused); whether any copy has weight
        decay or momentum."""
        dev = self.stacked.flat.device
        self.cols = {k: torch.tensor(v, device=dev) for k, v in self.values.items()}
        self.any_wd, self.any_momentum = any(self.values["wd"]), any(self.values["momentum"])
        if not self.fused:
            self.lr, self.wd, self.momentum = (
                self.layout.spread(self.cols[k]) for k in ("lr", "wd", "momentum")
            )
            return
        per_copy = lambda flat: [list(t) for t in zip(*self.layout.views(flat))]  # noqa: E731
        self.copy_params, self.copy_grads = per_copy(self.stacked.flat), per_copy(self.stacked.gflat)
        self.copy_state = {k: per_copy(v) for k, v in self.state.items()}
        self.step_t = [[torch.tensor(s, device=dev) for _ in self.layout.sizes] for s in self.steps]

    def _from_optimizers(self, optimizers: list[torch.optim.Optimizer]) -> None:
        """The copies' optimizer state (a resumed run's), stacked; zeros where there is none yet."""
        names = ("exp_avg", "exp_avg_sq") if self.kind == "adam" else ("momentum_buffer",)
        models = [list(o.param_groups[0]["params"]) for o in optimizers]
        for name in names:
            self.state[name] = self.layout.pack(
                [
                    torch.stack(
                        [_get(o.state.get(ps[j], {}), name, s[0]) for o, ps in zip(optimizers, models)]
                    )
                    for j, s in enumerate(self.stacked.params)
                ]
            )
        if self.kind == "adam":
            self.steps = [float(o.state.get(ps[0], {}).get("step", 0.0)) for o, ps in zip(optimizers, models)]

    @torch.no_grad()
    def step(self) -> None:
        if self.fused:
            self._fused_step()
            return
        p, g = self.stacked.flat, self.stacked.gflat
        if self.any_wd:
            g = torch.addcmul(g, self.wd, p)
        if self.kind == "adam":
            self._adam(p, g)
            return
        if self.any_momentum:
            g = self.state["momentum_buffer"].mul_(self.momentum).add_(g)
        p.addcmul_(self.lr, g, value=-1.0)

    def _fused_step(self) -> None:
        v = self.values
        if self.kind == "adam":
            self.steps = [s + 1 for s in self.steps]
            torch._foreach_add_([t for ts in self.step_t for t in ts], 1)
            b1, b2 = self.betas
            for i, (ps, gs) in enumerate(zip(self.copy_params, self.copy_grads)):
                ms, vs = self.copy_state["exp_avg"][i], self.copy_state["exp_avg_sq"][i]
                torch._fused_adam_(
                    ps, gs, ms, vs, [], self.step_t[i], amsgrad=False, lr=v["lr"][i], beta1=b1, beta2=b2,
                    weight_decay=v["wd"][i], eps=self.eps, maximize=False, grad_scale=None, found_inf=None,
                )  # fmt: skip
            return
        for i, (ps, gs) in enumerate(zip(self.copy_params, self.copy_grads)):
            mom = v["momentum"][i]
            torch._fused_sgd_(
                ps, gs, self.copy_state["momentum_buffer"][i] if mom else [], weight_decay=v["wd"][i],
                momentum=mom, lr=v["lr"][i], dampening=0.0, nesterov=False, maximize=False,
                is_first_step=False, grad_scale=None, found_inf=None,
            )  # fmt: skip

    def _adam(self, p: Tensor, g: Tensor) -> None:
        b1, b2 = self.betas
        self.steps = [s + 1 for s in self.steps]
        m, v = self.state["exp_avg"], self.state["exp_avg_sq"]
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        if all(s == self.steps[0] for s in self.steps):  # the bias corrections as torch's Adam has them
            s = self.steps[0]
            denom = v.sqrt().div_(math.sqrt(1 - b2**s)).add_(self.eps)
            p.addcmul_(self.lr, torch.div(m, denom, out=denom), value=-1.0 / (1 - b1**s))
            return
        steps = torch.tensor(self.steps, dtype=torch.float64, device=p.device)  # copies resumed apart
        size = self.layout.spread((self.cols["lr"].double() / (1 - b1**steps)).float())
        bc2 = self.layout.spread((1 - b2**steps).sqrt().float())
        p.sub_(size * m / (v.sqrt() / bc2).add_(self.eps))

    def select(self, keep: list[int]) -> None:
        idx = torch.tensor(keep, device=self.stacked.flat.device)
        self.values = {k: [v[i] for i in keep] for k, v in self.values.items()}
        self.steps = [self.steps[i] for i in keep]
        old, self.layout = self.layout, self.stacked.layout
        self.state = {
            k: self.layout.pack([s.index_select(0, idx) for s in old.views(v)]) for k, v in self.state.items()
        }
        self._spread()

    @torch.no_grad()
    def to_optimizers(self, optimizers: list[torch.optim.Optimizer], copies: list[int]) -> None:
        """Copy `copies[k]`'s state into `optimizers[k]`, in torch's own format, so its checkpoint is the one
        a run trained alone writes."""
        views = {k: self.layout.views(v) for k, v in self.state.items()}
        for o, i in zip(optimizers, copies):
            ps = list(o.param_groups[0]["params"])
            for j, p in enumerate(ps):
                if self.kind == "adam":
                    st = {"step": torch.tensor(self.steps[i])}
                    st.update({k: views[k][j][i].view_as(p).clone() for k in ("exp_avg", "exp_avg_sq")})
                    o.state[p] = st
                elif o.param_groups[0].get("momentum", 0.0):
                    o.state[p] = {"momentum_buffer": views["momentum_buffer"][j][i].view_as(p).clone()}


def _get(state: dict, name: str, like: Tensor) -> Tensor:
    v = state.get(name)
    return torch.zeros_like(like) if v is None else v.detach().to(like.device).reshape(like.shape)


def finite_mask(values: Tensor) -> list[bool]:
    """Which copies' values are finite (host list)."""
    return [math.isfinite(v) for v in values.tolist()]
