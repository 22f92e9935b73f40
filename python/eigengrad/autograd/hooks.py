"""Tensor gradient hooks: ``Tensor.register_hook`` and ``register_post_accumulate_grad_hook``.

A non-leaf tensor's hooks are kept on the node that produced it (``ctx.hooks``), as PyTorch keeps them
on the grad_fn: they run on the node's incoming gradient, and a tensor changed in place later keeps the
hooks registered before with its old node (they see the gradient of the old version, as PyTorch's). A
leaf's hooks are kept on the tensor (``Tensor._hooks``) and run on its summed gradient before it is
accumulated into ``.grad`` or captured by ``autograd.grad``; post-accumulate hooks run after ``.grad``
was updated by a backward. The engine runs them (``engine._call_hooks``).
"""
from __future__ import annotations

from collections import OrderedDict

from eigengrad.utils.hooks import RemovableHandle


class LeafHooks:
    """A leaf tensor's hooks: ``pre`` (on the gradient) and ``post`` (after accumulation), id -> hook."""

    __slots__ = ("pre", "post")

    def __init__(self) -> None:
        self.pre: OrderedDict = OrderedDict()  # OrderedDict: RemovableHandle keeps a weak reference
        self.post: OrderedDict = OrderedDict()


def _add(hooks: dict, hook) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_hook(tensor, hook) -> RemovableHandle:
    """``tensor.register_hook(hook)``: ``hook(grad)`` may return a replacement gradient."""
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    ctx = tensor._ctx
    if ctx is None:
        if tensor._hooks is None:
            tensor._hooks = LeafHooks()
        return _add(tensor._hooks.pre, hook)
    if ctx.hooks is None:
        ctx.hooks = OrderedDict()
    return _add(ctx.hooks, hook)


def register_post_accumulate_grad_hook(tensor, hook) -> RemovableHandle:
    """``hook(tensor)`` after a backward accumulated the leaf's ``.grad``."""
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if tensor._ctx is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if tensor._hooks is None:
        tensor._hooks = LeafHooks()
    return _add(tensor._hooks.post, hook)
