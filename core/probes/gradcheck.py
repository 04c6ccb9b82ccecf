"""Seed 002's gradient and Jacobian tests, in float64, run through the same events as training.

For a smooth f and a direction d, |f(θ+εd) − f(θ)| falls as O(ε), while the Taylor remainder
|f(θ+εd) − f(θ) − ε·dᵀ∇f| falls as O(ε²) (for a vector-valued f use ‖·‖ and the Jacobian-vector
product J·d instead of dᵀ∇f). A wrong derivative leaves the remainder at O(ε): its log-log slope
reads 1, not 2. The derivatives come from the seed's hand-written layer (Linear + tanh with its own
backward and forward-mode product) and are checked against autograd's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch

from ..spec.config import RunConfig
from ..train.events import EpochEnded, Listener, RunEnded, RunStarted, Snapshot
from ..train.lifecycle import RunLifecycle

DTYPE = torch.float64
EPS = [0.5 * 2.0**-k for k in range(16)]  # 0.5 down to 1.5e-5
FIT_FROM = 5  # slopes are fitted on eps <= 2^-6, where the Taylor terms after the tested one are negligible
EXAMPLE, LABEL, N_CLASSES = [1.0, 2.0, 3.0, 4.0], 0, 5  # the seed's one example: [1,2,3,4], label 0
AGREE_TOL = 1e-10
Params = list[torch.Tensor]


# -- the seed's hand-written pieces ---------------------------------------------------------------
class TanhLayer:
    """Linear then tanh (or no activation for the output layer), with a hand-written backward."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor, activation: bool = True):
        self.w, self.b, self.activation = w, b, activation
        self.x: torch.Tensor | None = None  # the last forward's input and output, for backward and jvp
        self.out: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.x = x
        z = x @ self.w.T + self.b
        self.out = torch.tanh(z) if self.activation else z
        return self.out

    def slope(self) -> torch.Tensor:
        """The activation's derivative at the last input: 1 − tanh², or 1."""
        return 1 - self.out**2 if self.activation else torch.ones_like(self.out)

    def backward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Jᵀv: the gradients (dx, dW, db) of v·output, for v shaped like the output."""
        g = v * self.slope()
        return g @ self.w, g.T @ self.x, g.sum(0)

    def jvp(self, dx: torch.Tensor, dw: torch.Tensor, db: torch.Tensor) -> torch.Tensor:
        """J·(dx, dW, db): how the output moves along a direction in (input, weights, bias)."""
        return self.slope() * (dx @ self.w.T + self.x @ dw.T + db)


def softmax_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy, written out (log-sum-exp shifted by the max)."""
    shifted = logits - logits.max(1, keepdim=True).values
    log_p = shifted - shifted.exp().sum(1, keepdim=True).log()
    return -log_p[torch.arange(len(y)), y].mean()


def softmax_ce_backward(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d loss / d logits = (softmax − one-hot) / n."""
    p = torch.softmax(logits, 1)
    p[torch.arange(len(y)), y] -= 1
    return p / len(y)


def layers_of(params: Params) -> list[TanhLayer]:
    """[W1, b1, W2, b2, ...] as layers: tanh after each but the last."""
    n = len(params) // 2
    return [TanhLayer(params[2 * i], params[2 * i + 1], activation=i < n - 1) for i in range(n)]


def net_forward(params: Params, x: torch.Tensor) -> torch.Tensor:
    for layer in layers_of(params):
        x = layer.forward(x)
    return x


def net_loss(params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return softmax_ce(net_forward(params, x), y)


def net_grad(params: Params, x: torch.Tensor, y: torch.Tensor) -> Params:
    """∇ of the loss for every parameter, by hand: backpropagation through the layers."""
    layers = layers_of(params)
    h = x
    for layer in layers:
        h = layer.forward(h)
    v = softmax_ce_backward(h, y)
    grads: Params = []
    for layer in reversed(layers):
        v, dw, db = layer.backward(v)
        grads = [dw, db, *grads]
    return grads


def net_jvp(params: Params, x: torch.Tensor, d: Params) -> torch.Tensor:
    """J·d of the network's output along a direction d in parameter space, by hand (forward mode)."""
    h, dh = x, torch.zeros_like(x)
    for i, layer in enumerate(layers_of(params)):
        h = layer.forward(h)
        dh = layer.jvp(dh, d[2 * i], d[2 * i + 1])
    return dh


# -- the tests ------------------------------------------------------------------------------------
def taylor_errors(
    f: Callable[[Params], torch.Tensor],
    theta: Params,
    d: Params,
    lin: torch.Tensor,
    eps: list[float] | None = None,
) -> tuple[list[float], list[float]]:
    """(‖f(θ+εd) − f(θ)‖, ‖f(θ+εd) − f(θ) − ε·lin‖) for each ε; lin is dᵀ∇f or J·d."""
    f0 = f(theta)
    first, second = [], []
    for e in EPS if eps is None else eps:
        diff = f([t + e * di for t, di in zip(theta, d)]) - f0
        first.append(float(diff.norm()))
        second.append(float((diff - e * lin).norm()))
    return first, second


def slope(eps: list[float], errs: list[float]) -> float:
    """The least-squares slope of log(err) against log(eps) (zero errors left out)."""
    pts = [(math.log(e), math.log(r)) for e, r in zip(eps, errs) if r > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    return sum((a - mx) * (b - my) for a, b in pts) / sum((a - mx) ** 2 for a, _ in pts)


def _dot(a: Params, b: Params) -> torch.Tensor:
    return sum((u * v).sum() for u, v in zip(a, b))


def _max_diff(a: Params, b: Params) -> float:
    return max(float((u - v).abs().max()) for u, v in zip(a, b))


def _autograd(f: Callable[[Params], torch.Tensor], theta: Params) -> Params:
    leaves = [t.detach().requires_grad_() for t in theta]
    return list(torch.autograd.grad(f(leaves), leaves))


def _autograd_jvp(f: Callable[[Params], torch.Tensor], theta: Params, d: Params) -> torch.Tensor:
    """J·d by autograd (reverse mode twice: the double-backward trick)."""
    return torch.autograd.functional.jvp(lambda *p: f(list(p)), tuple(theta), tuple(d))[1]


def _result(name: str, title: str, first: list[float], second: list[float], diff: float) -> dict[str, Any]:
    fit = EPS[FIT_FROM:]
    return {
        "name": name,
        "title": title,
        "eps": EPS,
        "first": first,
        "second": second,
        "fit_eps_max": fit[0],
        "slope_first": slope(fit, first[FIT_FROM:]),
        "slope_second": slope(fit, second[FIT_FROM:]),
        "max_abs_diff": diff,
    }


def _random(shapes: list[tuple[int, ...]], g: torch.Generator, unit: bool = False) -> Params:
    """Normal tensors scaled by 1/sqrt(fan-in) (weights), or together of norm 1 (a direction)."""
    ts = [torch.randn(s, generator=g, dtype=DTYPE) for s in shapes]
    if unit:
        norm = math.sqrt(sum(float((t**2).sum()) for t in ts))
        return [t / norm for t in ts]
    return [t / math.sqrt(s[-1]) if len(s) == 2 else t * 0.1 for t, s in zip(ts, shapes)]


def net_shapes(widths: list[int]) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    for a, b in zip(widths, widths[1:]):
        shapes += [(b, a), (b,)]
    return shapes


def softmax_check(x, y, g) -> dict[str, Any]:
    """Gradient test of the softmax cross-entropy objective in (W, b), with the hand-written gradient."""
    shapes = net_shapes([x.shape[1], N_CLASSES])
    theta, d = _random(shapes, g), _random(shapes, g, unit=True)
    f = lambda p: net_loss(p, x, y)  # noqa: E731
    grad = net_grad(theta, x, y)
    first, second = taylor_errors(f, theta, d, _dot(grad, d))
    return _result(
        "softmax", "softmax cross-entropy: gradient test", first, second, _max_diff(grad, _autograd(f, theta))
    )


def layer_check(x, g, width: int) -> dict[str, Any]:
    """Jacobian test of one Linear+tanh layer in (x, W, b), and its backward against autograd's."""
    shapes = [tuple(x.shape), (width, x.shape[1]), (width,)]
    theta = [x, *_random(shapes[1:], g)]
    d = _random(shapes, g, unit=True)
    f = lambda p: TanhLayer(p[1], p[2]).forward(p[0])  # noqa: E731
    layer = TanhLayer(theta[1], theta[2])
    layer.forward(x)
    jd = layer.jvp(*d)
    auto_jd = _autograd_jvp(f, theta, d)
    u = torch.randn(x.shape[0], width, generator=g, dtype=DTYPE)
    auto_back = _autograd(lambda p: (f(p) * u).sum(), theta)
    diff = max(_max_diff([jd], [auto_jd]), _max_diff(list(layer.backward(u)), auto_back))
    first, second = taylor_errors(f, theta, d, jd)
    return _result("layer", "Linear+tanh layer: Jacobian test", first, second, diff)


def net_jacobian_check(x, g, widths: list[int]) -> dict[str, Any]:
    """Jacobian test of the tanh network's output in all its parameters (hand-written J·d)."""
    shapes = net_shapes(widths)
    theta, d = _random(shapes, g), _random(shapes, g, unit=True)
    f = lambda p: net_forward(p, x)  # noqa: E731
    jd = net_jvp(theta, x, d)
    auto_jd = _autograd_jvp(f, theta, d)
    first, second = taylor_errors(f, theta, d, jd)
    return _result(
        "net_jacobian", "tanh network output: Jacobian test", first, second, _max_diff([jd], [auto_jd])
    )


def net_gradient_check(x, y, g, widths: list[int]) -> dict[str, Any]:
    """Gradient test of the tanh network's loss, with the hand-written backpropagation."""
    shapes = net_shapes(widths)
    theta, d = _random(shapes, g), _random(shapes, g, unit=True)
    f = lambda p: net_loss(p, x, y)  # noqa: E731
    grad = net_grad(theta, x, y)
    first, second = taylor_errors(f, theta, d, _dot(grad, d))
    return _result(
        "net_gradient",
        "tanh network loss: gradient test",
        first,
        second,
        _max_diff(grad, _autograd(f, theta)),
    )


def run_checks(seed: int, hidden: tuple[int, ...]) -> list[dict[str, Any]]:
    """All four tests on the seed's example, with weights and directions drawn from `seed`."""
    g = torch.Generator().manual_seed(seed)
    x, y = example()
    widths = [x.shape[1], *hidden, N_CLASSES]
    return [
        softmax_check(x, y, g),
        layer_check(x, g, hidden[0] if hidden else N_CLASSES),
        net_jacobian_check(x, g, widths),
        net_gradient_check(x, y, g, widths),
    ]


def example() -> tuple[torch.Tensor, torch.Tensor]:
    """The seed's one example, [1,2,3,4] with label 0: where the tests differentiate."""
    return torch.tensor([EXAMPLE], dtype=DTYPE), torch.tensor([LABEL])


def build(cfg: RunConfig, device, data_dir):
    """The task's data (what `dltui` checks a task by): the seed's one example."""
    from ..data import TaskData

    x, y = example()
    return TaskData(
        "gradcheck", "classification", x, y, x, y, n_classes=N_CLASSES, input_shape=(len(EXAMPLE),)
    )


# -- the face: the same events as the Trainer -----------------------------------------------------
def check_passed(c: dict[str, Any]) -> bool:
    """Slopes near 1 and 2 (or, for a linear map, a remainder at round-off), and derivatives equal to
    autograd's."""
    exact = max(c["second"]) <= 1e-12 * max(c["first"])
    second_ok = exact or 1.8 <= c["slope_second"] <= 2.2
    return 0.9 <= c["slope_first"] <= 1.1 and second_ok and c["max_abs_diff"] <= AGREE_TOL


def passed(checks: list[dict[str, Any]]) -> bool:
    return all(check_passed(c) for c in checks)


def describe(checks: list[dict[str, Any]]) -> str:
    """One line: each test's two slopes, and the worst disagreement with autograd."""
    parts = [f"{c['name']} {c['slope_first']:.2f}/{c['slope_second']:.2f}" for c in checks]
    worst = max(c["max_abs_diff"] for c in checks)
    verdict = "passed" if passed(checks) else "FAILED"
    return (
        f"{verdict}: slopes O(eps)/O(eps^2) {', '.join(parts)}; "
        f"hand-written vs autograd max |diff| {worst:.1e}"
    )


class GradCheck:
    """Runs the tests for one config and tells its listeners, as the Trainer does for training (a
    ConfigRunner, core/executors/runner.py). It loads no data, stops for nothing (the tests take milliseconds)
    and writes no checkpoint."""

    def __init__(
        self,
        cfg: RunConfig,
        *,
        run_id: str,
        preset: str = "",
        variant: str = "default",
        listeners: list[Listener] | None = None,
    ):
        self.cfg, self.run_id, self.preset, self.variant = cfg, run_id, preset, variant
        self.listeners = list(listeners or [])
        self.checks: list[dict[str, Any]] = []
        self.traceback = ""  # the tests' failures are results; nothing for traceback.txt
        self._t0 = time.perf_counter()

    @classmethod
    def for_run(cls, spec) -> GradCheck:
        """From a core/executors/runner.py RunSpec: its config, names and listeners."""
        return cls(
            spec.cfg, run_id=spec.run_id, preset=spec.preset, variant=spec.variant, listeners=spec.listeners
        )

    def emit(self, event) -> None:
        for listener in self.listeners:
            listener(event)

    def info(self) -> dict[str, Any]:
        widths = [len(EXAMPLE), *self.cfg.hidden, N_CLASSES]
        n_params = sum(math.prod(s) for s in net_shapes(widths))
        return {
            "n_params": n_params,
            "n_train": 1,
            "batch_size": 1,
            "steps_per_epoch": 0,
            "kind": "gradcheck",
            "device_name": "cpu, float64",
            "torch": str(torch.__version__),
        }

    def run(self) -> RunEnded:
        """Run the tests, emit RunStarted, a Snapshot per test, one EpochEnded, and RunEnded."""
        self.emit(RunStarted(self.run_id, self.preset, self.variant, self.cfg.to_dict(), "cpu", self.info()))
        # A failure is a result, not a crash of the lab (a Ctrl-C goes on: the tests take milliseconds).
        with RunLifecycle(self.run_id, catch=(Exception,), let_through=()) as life:
            self.checks = run_checks(self.cfg.seed, self.cfg.hidden)
        if life.caught is not None:
            return self._end(life.status, life.reason)
        for c in self.checks:
            self.emit(Snapshot(self.run_id, self.variant, 1, "gradcheck", c))
        self.emit(EpochEnded(self.run_id, self.variant, self.record()))
        return self._end("finished", describe(self.checks))

    def record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {"epoch": 1, "step": 0, "time": round(time.perf_counter() - self._t0, 4)}
        rec.update(
            {
                k: None
                for k in ("train_loss", "test_loss", "train_acc", "test_acc", "val_loss", "val_acc", "lr")
            }
        )
        for c in self.checks:
            rec[f"{c['name']}_slope_first"] = c["slope_first"]
            rec[f"{c['name']}_slope_second"] = c["slope_second"]
        return rec

    def summary(self, status: str, reason: str) -> dict[str, Any]:
        s: dict[str, Any] = {
            "status": status,
            "reason": reason,
            "preset": self.preset,
            "variant": self.variant,
            "epochs": 1 if self.checks else 0,
            "steps": 0,
            "duration_s": round(time.perf_counter() - self._t0, 3),
            **self.info(),
        }
        if self.checks:
            s["slopes"] = {
                c["name"]: {"first": c["slope_first"], "second": c["slope_second"]} for c in self.checks
            }
            s["max_abs_diff"] = {c["name"]: c["max_abs_diff"] for c in self.checks}
            s["passed"] = passed(self.checks)
        return s

    def _end(self, status: str, reason: str) -> RunEnded:
        ended = RunEnded(self.run_id, self.variant, status, reason, self.summary(status, reason))
        self.emit(ended)
        return ended


RUNNER = (
    GradCheck  # what core/executors/runner.py runs for task = gradcheck (a ConfigRunner, as the Trainer is)
)
