"""A run that does not compile never imports torch._dynamo (about 1.5 s of every training process's start:
core/spec/nodynamo.py), its optimizer steps as torch's own do, and torch.compile still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from dltui.core.spec import nodynamo

RUN = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from dltui.core.executors import batched, runner
    from dltui.core.spec.config import RunConfig
    from dltui.core.store.folder import RunStore

    data, poly = Path(sys.argv[1]), dict(task="polynomial", hidden=(), loss="smooth_l1", epochs=3)
    store = RunStore(data.parent / "runs")
    plans = [
        runner.RunPlan("t", "momentum", RunConfig(**poly, optimizer="sgd", momentum=0.9, lr=1e-3)),
        runner.RunPlan("t", "adam", RunConfig(task="digits", hidden=(16,), optimizer="adam", epochs=2)),
        runner.RunPlan("t", "compile-on-cpu", RunConfig(**poly, compile=True, momentum=0.5, lr=1e-3)),
    ]
    ended = [runner.run_one(p, store, data).status for p in plans]
    group = [runner.RunPlan("t", f"lr={lr}", RunConfig(**poly, momentum=0.9, lr=lr)) for lr in (1e-3, 3e-4)]
    ended += [e.status for e in batched.run_group(group, store, data)]
    print(json.dumps({"ended": ended, "dynamo": "torch._dynamo" in sys.modules}))
    """
)


def test_a_run_that_does_not_compile_never_imports_torch_dynamo(data_dir: Path):
    """Alone (SGD with momentum, Adam: their steps, checkpoints and state dicts) and batched, and compile
    = true on the CPU (ignored there, with a note): the process ends without torch._dynamo loaded."""
    env = {**os.environ, "DLTUI_HARDWARE": "0"}
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(data_dir)], capture_output=True, text=True, env=env, timeout=240
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["ended"] == ["finished"] * 5
    assert got["dynamo"] is False


def _trained(opt_of, use_step_of: bool, hook: list | None = None) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = opt_of(model.parameters())
    if hook is not None:
        opt.register_step_post_hook(lambda o, a, k: hook.append(1))
    update = nodynamo.step_of(opt) if use_step_of else opt.step
    x = torch.randn(32, 4)
    for _ in range(5):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        update()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize(
    "opt_of",
    [
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3, foreach=False),
        lambda ps: torch.optim.Adam(ps, lr=0.01, fused=True),
        lambda ps: torch.optim.Adam(ps, lr=0.01, foreach=True),
    ],
    ids=["sgd-momentum", "adam-fused", "adam-foreach"],
)
def test_the_update_without_dynamo_is_torchs_own_step(opt_of):
    """Bit for bit the weights torch's `optimizer.step` gives, and a registered step hook still runs."""
    want = _trained(opt_of, use_step_of=False)
    got = _trained(opt_of, use_step_of=True)
    assert all(torch.equal(g, w) for g, w in zip(got, want))
    calls: list = []
    _trained(opt_of, use_step_of=True, hook=calls)
    assert len(calls) == 5


COMPILE = textwrap.dedent(
    """
    import sys
    import torch
    from dltui.core.spec import nodynamo

    nodynamo.avoid()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    nodynamo.allow()
    assert [fn for fn in nodynamo._wrapped() if getattr(fn, "__dynamo_disable", None) is fn] == []

    def train_step(x):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        return loss.detach()

    x = torch.randn(8, 3)
    with torch.no_grad():
        want = model(x).pow(2).mean()
    before = model.weight.detach().clone()
    assert torch.allclose(torch.compile(train_step, backend="eager")(x), want)
    assert model.weight.grad is not None
    nodynamo.step_of(opt)()  # torch._dynamo loaded: torch's own step
    assert not torch.equal(model.weight.detach(), before)
    print("torch._dynamo" in sys.modules)
    """
)


def test_compile_still_works_after_avoid_and_allow():
    """`allow` (a run that compiles) gives torch.optim's wrapped functions back to torch, and a compiled
    function that calls the optimizer runs (dynamo's eager backend: no C compiler needed). In its own
    process: torch._dynamo, once imported, stays."""
    out = subprocess.run([sys.executable, "-c", COMPILE], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True"
