"""Reverse-mode accumulation over the recorded graph (iterative: deep graphs never recurse)."""
from __future__ import annotations

import numpy as np


def _topological_order(root) -> list:
    """Non-leaf tensors reachable from ``root``, every tensor after the tensors it was computed from."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited or node._ctx is None:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._ctx.inputs:
            if parent is not None and parent.requires_grad and parent._ctx is not None and id(parent) not in visited:
                stack.append((parent, False))
    return order


def accumulate_grad(tensor, grad: np.ndarray, owned: bool = False) -> None:
    """Add ``grad`` into ``tensor.grad`` (gradients accumulate, as in PyTorch).

    ``owned``: ``grad`` is a new array that nothing else references (see ``Function.fresh_grads``), so a
    first gradient may become ``tensor.grad`` as it is instead of being copied.
    """
    from eigengrad.tensor import Tensor

    if tensor.grad is None:
        view = tensor._grad_view  # a slot of an optimizer's flat gradient buffer, if it has one
        if view is not None and view.shape == grad.shape and view.dtype == grad.dtype:
            np.copyto(view, grad)
            tensor.grad = Tensor._wrap(view)
        elif owned and grad.dtype == tensor.dtype and grad.flags.c_contiguous and grad.flags.writeable:
            tensor.grad = Tensor._wrap(grad)
        else:
            tensor.grad = Tensor._wrap(np.array(grad, dtype=tensor.dtype, order="C", copy=True))
    else:
        tensor.grad._data += grad


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


def backward(root, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Backpropagate ``grad`` (the gradient of some scalar w.r.t. ``root``) to every leaf."""
    if root._ctx is None:
        accumulate_grad(root, grad)
        return
    order = _topological_order(root)
    grads = {id(root): grad}
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._retains_grad:
            accumulate_grad(node, g)
        ctx = node._ctx
        if ctx.released:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (through {ctx.name}): its saved arrays "
                "were freed after the first backward; pass retain_graph=True the first time"
            )
        input_grads = ctx.backward(ctx, g)
        owned = ctx.fresh_grads
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for i, (parent, pg) in enumerate(zip(ctx.inputs, input_grads)):
            if parent is None or pg is None or not parent.requires_grad:
                continue
            pg = _checked(ctx, i, parent, pg)
            if parent._ctx is None:
                accumulate_grad(parent, pg, owned)
            else:
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg
        if not retain_graph:
            ctx.release()
