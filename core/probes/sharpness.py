"""Sharpness: the top eigenvalue of the training loss's Hessian, by Lanczos on Hessian-vector products.

Gradient descent with step size lr is stable on a quadratic only while the top Hessian eigenvalue stays
below 2/lr. Under full-batch GD on neural nets, the sharpness rises to about 2/lr and hovers there
while the loss keeps falling, non-monotonically: the edge of stability (Cohen et al., ICLR 2021).

The Hessian-vector product differentiates the gradient once more (double backward). The gradient's
graph is built once per measurement and reused by every product of that measurement. Lanczos (with
full reorthogonalisation) finds the largest eigenvalue, not the largest in magnitude as power
iteration would, and in far fewer products once warm-started from the previous eigenvector.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..train.hooks import eval_mode

Tensor = torch.Tensor
MAX_ITERS = 20
RESIDUAL_TOL = 1e-2  # stop when ‖Hy − θy‖ ≤ this × |θ|: the eigenvalue is then good to about 1e-4 relative


def hvp_operator(
    model: nn.Module, loss_fn: Callable, x: Tensor, y: Tensor
) -> tuple[Callable[[Tensor], Tensor], int]:
    """(v ↦ H v, number of parameters) for the loss of `model` on (x, y), over the flattened parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.enable_grad():
        # forward, not __call__: a model compiled in place (compile = true) runs eagerly here, as double
        # backward through a compiled graph is not supported
        loss = loss_fn(model.forward(x), y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])

    def hvp(v: Tensor) -> Tensor:
        # d(g·v)/dθ rather than grad_outputs=v: a tensor in grad_outputs makes torch import sympy (about a
        # second, once per process: the dearest part of a short run's first measurement)
        hv = torch.autograd.grad(torch.dot(flat, v), params, retain_graph=True, allow_unused=True)
        return torch.cat(
            [(h if h is not None else torch.zeros_like(p)).reshape(-1) for h, p in zip(hv, params)]
        )

    return hvp, flat.numel()


def top_eigenvalue(
    hvp: Callable[[Tensor], Tensor], start: Tensor, max_iters: int = MAX_ITERS, tol: float = RESIDUAL_TOL
) -> tuple[float, Tensor, int]:
    """(largest eigenvalue, its unit eigenvector, products used) of the symmetric operator `hvp`, by Lanczos
    from `start`. One host sync per product: the small tridiagonal matrix is solved on the host."""
    basis = [start / start.norm().clamp_min(1e-30)]
    alphas: list[float] = []
    betas: list[float] = []
    theta, s = 0.0, torch.ones(1, dtype=torch.float64)
    for _ in range(max_iters):
        w = hvp(basis[-1])
        alpha = torch.dot(w, basis[-1])
        Q = torch.stack(basis)
        for _ in range(2):  # full reorthogonalisation, twice: in float32 once is not enough
            w = w - Q.t() @ (Q @ w)
        beta = w.norm()
        a, b = torch.stack([alpha, beta]).tolist()
        alphas.append(a)
        theta, s, last = _top_ritz(alphas, betas)
        if b * abs(last) <= tol * max(abs(theta), 1e-30) or b <= 1e-12 * max(abs(theta), 1e-30):
            break
        betas.append(b)
        basis.append(w / b)
    Q = torch.stack(basis[: len(alphas)])
    vec = Q.t() @ s.to(Q.dtype).to(Q.device)
    return theta, vec / vec.norm().clamp_min(1e-30), len(alphas)


def _top_ritz(alphas: list[float], betas: list[float]) -> tuple[float, Tensor, float]:
    """The largest eigenvalue of the Lanczos tridiagonal matrix, its eigenvector (float64, on the host) and
    that vector's last component (which, times the last beta, is the residual's norm)."""
    k = len(alphas)
    T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if k > 1:
        off = torch.tensor(betas[: k - 1], dtype=torch.float64)
        T += torch.diag(off, 1) + torch.diag(off, -1)
    values, vectors = torch.linalg.eigh(T)
    theta, last = torch.stack([values[-1], vectors[-1, -1]]).tolist()
    return theta, vectors[:, -1], last


def sharpness(
    model: nn.Module,
    loss_fn: Callable,
    x: Tensor,
    y: Tensor,
    start: Tensor | None = None,
    max_iters: int = MAX_ITERS,
) -> tuple[float, Tensor, int]:
    """(top Hessian eigenvalue of the loss on (x, y), its eigenvector, products used), in eval mode;
    `start` is the previous eigenvector (a random vector when None or of another size)."""
    with eval_mode(model):  # dropout off: the same loss for every product
        hvp, n = hvp_operator(model, loss_fn, x, y)
        if start is None or start.numel() != n:
            start = torch.randn(n, generator=torch.Generator().manual_seed(0)).to(x.device)
        return top_eigenvalue(hvp, start, max_iters)
