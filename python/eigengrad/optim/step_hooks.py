"""Optimizer step hooks (PyTorch's ``register_step_pre_hook``/``register_step_post_hook`` and the global
``register_optimizer_step_pre_hook``/``_post_hook``): ``hook(optimizer, args, kwargs)`` before and after
``step``; a pre-hook may return ``(new_args, new_kwargs)``. The first instance of an optimizer class wraps
that class's ``step`` once (custom optimizers included), as PyTorch patches it. A compiled step with hooks
runs eagerly (the hooks are Python that must run at every step)."""
from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Callable

from eigengrad import _trace
from eigengrad.utils.hooks import RemovableHandle

_GLOBAL_PRE: OrderedDict = OrderedDict()
_GLOBAL_POST: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` before every optimizer's step."""
    handle = RemovableHandle(_GLOBAL_PRE)
    _GLOBAL_PRE[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` after every optimizer's step."""
    handle = RemovableHandle(_GLOBAL_POST)
    _GLOBAL_POST[handle.id] = hook
    return handle


def add(optimizer, store: str, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """``hook`` kept in ``optimizer.<store>`` (first with ``prepend``); the handle removes it."""
    if not callable(hook):
        raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")
    hooks = optimizer.__dict__.setdefault(store, OrderedDict())
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def patch_step(cls) -> None:
    """Wrap ``cls.step`` (its own or inherited) with the hook calls, once per class."""
    if cls.__dict__.get("_step_hooks_patched"):
        return
    step = cls.step

    @functools.wraps(step)
    def step_with_hooks(self, *args, **kwargs):
        self._opt_called = True  # PyTorch's flag: a scheduler stepped before any optimizer step warns
        own_pre = self.__dict__.get("_optimizer_step_pre_hooks")
        own_post = self.__dict__.get("_optimizer_step_post_hooks")
        if not (_GLOBAL_PRE or _GLOBAL_POST or own_pre or own_post):  # the usual step: no hooks, no lists
            return step(self, *args, **kwargs)
        pre = [*_GLOBAL_PRE.values(), *(own_pre or {}).values()]
        post = [*_GLOBAL_POST.values(), *(own_post or {}).values()]
        _trace.reject("optimizer step hooks (Python that runs at every step)")
        for hook in pre:
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, new_kwargs), but got "
                                       f"{result}.")
                args, kwargs = result
        out = step(self, *args, **kwargs)
        for hook in post:
            hook(self, args, kwargs)
        return out

    cls.step = step_with_hooks
    cls._step_hooks_patched = True
