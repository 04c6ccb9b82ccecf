"""Keeping torch._dynamo unimported in a run that does not compile: about 1.5 s of every training process's
start (sympy, the distributed tensor ops, ...), alone or batched, and `dltui run`'s too.

torch imports torch._dynamo lazily, on the first call of a few torch.optim functions, even when nothing is
compiled:
- `Optimizer.add_param_group`, `state_dict`, `load_state_dict` and `zero_grad` are wrapped by
  `torch._compile._disable_dynamo`, whose wrapper imports torch._dynamo on its first call to build the
  "disabled" version of the function, then caches it on the function as `__dynamo_disable`. `avoid` puts the
  function itself in that cache, so the wrapper calls it straight; `allow` takes it out again, so the next
  call builds torch's own disabled version. Outside torch.compile the two do the same: dynamo's `disable`
  only matters while dynamo traces.
- every optimizer's `step` is wrapped by `_use_grad_for_differentiable`, which imports torch._dynamo at each
  call for two `graph_break()`s (no-ops outside tracing) around the update done without autograd. `step_of`
  gives the update without that wrapper: the optimizer's own step under `torch.no_grad()`, then torch's
  profiler hook. It falls back to `optimizer.step` itself when anything needs torch's wrapper: torch._dynamo
  already imported (a compiled model), a differentiable optimizer, a step hook registered (checked at each
  call), or a torch whose wrappers do not look as expected.

`prepare(compile_wanted)` is the one switch, called where a run makes its optimizer
(core/train/factories.py). Nothing here imports torch._dynamo; tests/test_nodynamo.py checks that a run's
process never does, and that compile still works after `allow`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

DYNAMO = "torch._dynamo"
_CACHE = "__dynamo_disable"  # the attribute torch/_compile.py's wrapper caches its disabled function in
_marked: list[Callable] = []  # the functions whose cache holds themselves (ours to take out)


def loaded() -> bool:
    return DYNAMO in sys.modules


def prepare(compile_wanted: bool) -> None:
    """Before a run makes its optimizer: keep torch._dynamo out unless the run compiles."""
    if compile_wanted:
        allow()
    else:
        avoid()


def _wrapped() -> list[Callable]:
    """The functions under torch.optim's `_disable_dynamo` wrappers (none if torch's wrapper changed)."""
    import torch._compile
    import torch.optim

    inner_file = torch._compile.__file__
    found = []
    classes = [torch.optim.Optimizer, *torch.optim.Optimizer.__subclasses__()]
    for cls in classes:
        for attr in vars(cls).values():
            code = getattr(attr, "__code__", None)
            fn = getattr(attr, "__wrapped__", None)
            if code is not None and code.co_name == "inner" and code.co_filename == inner_file and fn:
                found.append(fn)
    return found


def avoid() -> None:
    """Let torch.optim's wrapped functions run without importing torch._dynamo (while it is not loaded)."""
    if loaded():
        return  # already paid for; torch's own disabled versions are right
    for fn in _wrapped():
        if getattr(fn, _CACHE, None) is None:
            setattr(fn, _CACHE, fn)
            _marked.append(fn)


def allow() -> None:
    """Undo `avoid`: the next call of each wrapped function builds torch's own disabled version."""
    while _marked:
        fn = _marked.pop()
        if getattr(fn, _CACHE, None) is fn:
            delattr(fn, _CACHE)


def _raw_step(optimizer: Any) -> Callable | None:
    """The optimizer class's own step under torch's two wrappers (the profiler hook's `wrapper` around
    `_use_grad`), or None if they are not as expected."""
    outer = type(optimizer).step
    use_grad = getattr(outer, "__wrapped__", None)
    raw = getattr(use_grad, "__wrapped__", None)
    if (
        not getattr(outer, "hooked", False)
        or getattr(outer, "__code__", None) is None
        or outer.__code__.co_name != "wrapper"
        or getattr(use_grad, "__code__", None) is None
        or use_grad.__code__.co_name != "_use_grad"
        or raw is None
    ):
        return None
    return raw


def _hooked(optimizer: Any) -> bool:
    """Whether a step hook (the optimizer's own, or a global one) is registered."""
    from torch.optim import optimizer as mod

    return bool(
        optimizer._optimizer_step_pre_hooks
        or optimizer._optimizer_step_post_hooks
        or getattr(mod, "_global_optimizer_pre_hooks", None)
        or getattr(mod, "_global_optimizer_post_hooks", None)
    )


def step_of(optimizer: Any) -> Callable[[], Any]:
    """`optimizer.step` as a call that does not import torch._dynamo (see the module's docstring)."""
    import torch

    raw = _raw_step(optimizer)
    if raw is None or loaded() or optimizer.defaults.get("differentiable"):
        return optimizer.step
    no_grad = torch.no_grad

    def step() -> Any:
        if _hooked(optimizer) or loaded():
            return optimizer.step()
        with no_grad():
            out = raw(optimizer)
        optimizer._optimizer_step_code()
        return out

    return step
