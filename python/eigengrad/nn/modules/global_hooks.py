"""Forward hooks on every module (``torch.nn.modules.module.register_module_forward_pre_hook`` and
``register_module_forward_hook``): profilers, activation loggers and FLOP counters install them once for a
whole program. They run before each module's own hooks of the same kind, as PyTorch's; a module call checks
them with one truth test of each dict."""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

from eigengrad.utils.hooks import RemovableHandle

FORWARD_PRE: OrderedDict = OrderedDict()
FORWARD: OrderedDict = OrderedDict()
WITH_KWARGS: set = set()  # handle ids of forward hooks registered with_kwargs=True
ALWAYS_CALL: set = set()  # handle ids of forward hooks registered always_call=True (run when forward raises)


def _add(store: OrderedDict, hook: Callable) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")
    handle = RemovableHandle(store)
    store[handle.id] = hook
    return handle


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """``hook(module, args)`` before every module's ``forward``; a non-None result replaces the arguments."""
    return _add(FORWARD_PRE, hook)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs, output)``) after every
    module's ``forward``; a non-None result replaces the output."""
    handle = _add(FORWARD, hook)
    if with_kwargs:
        WITH_KWARGS.add(handle.id)
    if always_call:
        ALWAYS_CALL.add(handle.id)
    return handle
