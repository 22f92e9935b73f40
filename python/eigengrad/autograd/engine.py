"""Reverse-mode accumulation over the recorded graph (iterative: deep graphs never recurse).

The graph's nodes are the recorded contexts (``Function`` instances); a node's edges go to the nodes
that produced its inputs *when it was recorded* (``ctx.edges``), so an in-place op that gives a
tensor a new history later does not change what earlier nodes differentiate through. A leaf's
gradient is summed over all its uses in the graph and accumulated into ``.grad`` once, when its last
use has run; a leaf held by an optimizer's parameter arena then has its gradient written into the
arena's slot, and the arena hears that the gradient is final (``ParamArena.grad_ready``).
"""
from __future__ import annotations

import weakref

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd import anomaly as _anomaly
from eigengrad.autograd.function import _tensor_type
from eigengrad.autograd.version import check_saved, clock

_anomaly_state = _anomaly._state


def _graph(root) -> tuple[list, dict]:
    """The nodes reachable from ``root``, every node after the nodes that produced its inputs, and for
    each leaf (by id) used more than once, the number of its uses (edges from these nodes)."""
    order, visited, once, shared = [], set(), set(), {}
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for t, (parent, _), need in zip(node.inputs, node.edges, node.needs_input_grad):
            if not need or t is None:  # a constant, or a node already released by an earlier backward
                continue
            if parent is not None:
                if id(parent) not in visited:
                    stack.append((parent, False))
            elif t.requires_grad:
                key = id(t)
                if key in once:
                    shared[key] = shared.get(key, 1) + 1
                else:
                    once.add(key)
    return order, shared


def accumulate_grad(tensor, grad: np.ndarray, owned: bool = False) -> None:
    """Add ``grad`` into ``tensor.grad`` (gradients accumulate, as in PyTorch).

    ``owned``: ``grad`` is a new array that nothing else references (see ``Function.fresh_grads``), so a
    first gradient may become ``tensor.grad`` as it is instead of being copied. A tensor in an
    optimizer's parameter arena gets its first gradient written into its slot of the arena's buffer.
    """
    wrap = _tensor_type()._wrap
    arena = tensor._arena() if tensor._arena is not None else None
    if tensor.grad is None:
        slot = arena.grad_slot(tensor) if arena is not None else None
        if slot is not None and slot.shape == grad.shape and slot.dtype == grad.dtype:
            K.copy_into(slot, grad)
            tensor.grad = wrap(slot)
        elif owned and grad.dtype == tensor.dtype and grad.flags.c_contiguous and grad.flags.writeable:
            tensor.grad = wrap(grad)
        else:
            own = np.empty(grad.shape, dtype=tensor.dtype)  # a copy in the tensor's dtype, made by a kernel call
            K.copy_into(own, grad)
            tensor.grad = wrap(own)
    else:
        K.add_into(tensor.grad._data, grad)
    if arena is not None and arena.hooks:
        arena.grad_ready(tensor)


def _checked(ctx, index: int, parent, grad) -> np.ndarray:
    grad = np.asarray(grad)
    if grad.shape != parent.shape:
        raise RuntimeError(
            f"{ctx.name}.backward returned a gradient of shape {grad.shape} for input {index}, "
            f"which has shape {parent.shape}"
        )
    if grad.dtype != parent.dtype:
        grad = grad.astype(parent.dtype)
    return grad


def _run_node(ctx, g: np.ndarray) -> tuple:
    """The gradients of ``ctx``'s inputs, after the checks that its saved arrays are intact."""
    if ctx.released:
        raise RuntimeError(
            f"Trying to backward through the graph a second time (through {ctx.name}): its saved arrays "
            "were freed after the first backward; pass retain_graph=True the first time"
        )
    retained = ctx.retained
    if retained is not None and retained() is not None:
        accumulate_grad(retained(), g)
    if ctx.clock != clock.ticks:  # something was changed in place since ctx was recorded
        check_saved(ctx)
    grads = ctx.backward(ctx, g)
    grads = grads if isinstance(grads, tuple) else (grads,)
    if _anomaly_state.enabled and _anomaly_state.check_nan:
        _anomaly.check_backward(ctx, grads)
    return grads


def backward(root, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Backpropagate ``grad`` (the gradient of some scalar w.r.t. ``root``) to every leaf."""
    if root._ctx is None:
        accumulate_grad(root, grad)
        return
    order, shared = _graph(root._ctx)
    grads = {id(root._ctx): grad}
    pending: dict = {}  # id(leaf used more than once) -> (its gradient summed so far, owned)
    for ctx in reversed(order):
        g = grads.pop(id(ctx), None)
        input_grads = _run_node(ctx, g) if g is not None else ()
        count, owned, inputs = len(input_grads), ctx.fresh_grads, ctx.inputs
        for i, ((node, _), need) in enumerate(zip(ctx.edges, ctx.needs_input_grad)):
            parent = inputs[i]
            if not need or parent is None:
                continue
            pg = input_grads[i] if i < count else None
            if pg is not None:
                pg = _checked(ctx, i, parent, pg)
            if node is not None:
                if pg is not None:
                    key = id(node)
                    grads[key] = pg if key not in grads else K.add(grads[key], pg)
            elif parent.requires_grad:
                key = id(parent)
                if key not in shared:
                    if pg is not None:
                        accumulate_grad(parent, pg, owned)
                else:  # summed over its uses, accumulated once after the last one
                    _shared_leaf(parent, pg, owned, pending, shared)
        if not retain_graph:
            ctx.release()


def _shared_leaf(leaf, pg, owned: bool, pending: dict, shared: dict) -> None:
    key = id(leaf)
    if pg is not None:
        prev = pending.get(key)
        pending[key] = (pg, owned) if prev is None else (K.add(prev[0], pg), True)
    shared[key] -= 1
    if shared[key] == 0 and key in pending:
        accumulate_grad(leaf, *pending.pop(key))


def retain(tensor) -> None:
    """Make ``tensor``'s current node keep its gradient in ``tensor.grad`` (``Tensor.retain_grad``)."""
    if tensor._ctx is not None:
        tensor._ctx.retained = weakref.ref(tensor)
