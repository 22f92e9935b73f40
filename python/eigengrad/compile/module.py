"""What ``eg.compile(module)`` returns: PyTorch's ``OptimizedModule`` (``torch.compile(model)``), a Module.

A PyTorch script compiles its model once (``model = torch.compile(model)``) and then trains it, evaluates it
and saves it through the result. So the result is a Module whose submodule ``_orig_mod`` is the model (its
``state_dict`` keys start with ``_orig_mod.``, as PyTorch's do), whose other attributes read through to the
model, and whose call records the autograd graph when a gradient is wanted: then it runs the model itself
(eager mode; a training step is compiled whole with ``eg.compile(step)``); otherwise (``no_grad``,
inference, frozen weights) it runs the compiled inference forward, a replayed plan.
"""
from __future__ import annotations

import copy

from eigengrad.autograd.grad_mode import is_grad_enabled
from eigengrad.nn.modules.module import Module


def records_gradient(module: Module, args: tuple, kwargs: dict) -> bool:
    """Whether calling ``module`` on these arguments records the autograd graph (then it runs eagerly)."""
    return is_grad_enabled() and (any(p.requires_grad for p in module.parameters())
                                  or any(getattr(a, "requires_grad", False) for a in (*args, *kwargs.values())))


class OptimizedModule(Module):
    """``module`` (``_orig_mod``) with its inference forward compiled (``compiled``, a CompiledFunction over
    its call); ``explain()``, ``replays`` and ``fallback_reason`` are the compiled forward's."""

    def __init__(self, module: Module, compiled) -> None:
        super().__init__()
        self._orig_mod = module
        self._compiled = compiled

    def forward(self, *args, **kwargs):
        if records_gradient(self._orig_mod, args, kwargs):
            return self._orig_mod(*args, **kwargs)  # a gradient is wanted: the graph is recorded eagerly
        return self._compiled(*args, **kwargs)

    def __deepcopy__(self, memo: dict) -> "OptimizedModule":
        """A copy of the model, compiled afresh (EMA and SWA copies: ``deepcopy(torch.compile(model))``). The
        plans are not copied: they belong to the original's arrays (PyTorch's copy recompiles too)."""
        from eigengrad.compile.api import CompiledFunction

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            if key != "_compiled":
                new.__dict__[key] = copy.deepcopy(value, memo)
        old = self._compiled
        model = new.__dict__["_modules"]["_orig_mod"]
        extra = [m for m in old._extra[0] if m is not self._orig_mod]
        new.__dict__["_compiled"] = CompiledFunction(
            model.__call__, modules=(model, *copy.deepcopy(extra, memo)), optimizers=copy.deepcopy(old._extra[1], memo),
            verify=old.verify, max_plans=old.max_plans)
        return new

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            pass
        d = self.__dict__
        if "_modules" in d and "_orig_mod" in d["_modules"] and hasattr(d["_modules"]["_orig_mod"], name):
            return getattr(d["_modules"]["_orig_mod"], name)
        if "_compiled" in d and name in ("explain", "replays", "fallback_reason", "traces"):
            return getattr(d["_compiled"], name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
