"""``torch.autograd.functional``: the Jacobian, the Hessian and their products with vectors, of a function
of tensors, built on ``autograd.grad`` (reverse mode; ``jvp`` by the double-vjp trick: the vjp is linear in
its vector u, so the gradient of <vjp(u), v> with respect to u is J v).

``inputs``: a tensor or a tuple of tensors; the function is called on detached copies that require grad.
``func`` returns a tensor or a tuple of them. Results follow PyTorch's nesting: a tuple where ``inputs`` (or
the outputs) are a tuple. Without ``create_graph`` the results are detached. ``strict=True`` raises where an
output does not depend on an input (PyTorch's messages); else that block is zeros.
"""
from __future__ import annotations

from eigengrad.autograd.differentiate import grad as _grad
from eigengrad.autograd.grad_mode import enable_grad
from eigengrad.tensor import Tensor
from eigengrad.tensor_ops.shape import stack

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x, what: str, fn_name: str) -> tuple[bool, tuple]:
    """(whether x was a tuple, x as a tuple of tensors)."""
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"The {what} given to {fn_name} must be either a Tensor or a tuple of Tensors but the "
                            f"value at index {i} has type {type(t).__name__}.")
    return is_tuple, items


def differentiable_input(t: Tensor, connected: bool) -> Tensor:
    """The tensor a function is differentiated at: when ``connected`` and t requires grad, a view of t, so
    the results can be differentiated back to it (nested transforms, create_graph); else a detached copy
    that requires grad (float) or not (integer: an index)."""
    if connected and t.requires_grad:
        return t.view_as(t)
    return t.detach().requires_grad_(True) if t._data.dtype.kind == "f" else t.detach()


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """The tensors func is called on (PyTorch's: connected to their graph only with create_graph)."""
    return tuple(differentiable_input(t, create_graph) for t in inputs)


def _outputs(func, inputs: tuple, fn_name: str, strict: bool) -> tuple[bool, tuple]:
    with enable_grad():
        out = func(*inputs)
    is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", fn_name)
    if strict:
        for i, o in enumerate(outs):
            if not o.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The "
                                   "outputs must be computed in a differentiable manner from the input when running "
                                   "in strict mode.")
    return is_tuple, outs


def _grads(outs: tuple, inputs: tuple, vs: tuple, create_graph: bool, strict: bool, retain: bool = True) -> tuple:
    """sum_k vs[k] . d outs[k] / d inputs, zeros where independent (RuntimeError under strict)."""
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not pairs:
        got = (None,) * len(inputs)
    else:
        got = _grad([o for o, _ in pairs], list(inputs), grad_outputs=[v for _, v in pairs], retain_graph=retain,
                    create_graph=create_graph, allow_unused=True)
    result = []
    for i, (g, x) in enumerate(zip(got, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                                   "not allowed in strict mode.")
            g = x.new_zeros(x.shape)
        result.append(g if create_graph else g.detach())
    return tuple(result)


def _vector(v, like: tuple, fn_name: str, single: str, what: str) -> tuple:
    """The product's vector as a tuple shaped as ``like`` (the outputs for vjp, the inputs for jvp and the
    Hessian products); None only where ``like`` is a single one-element tensor (then 1)."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if {single} a single Tensor with a single element.")
        return (like[0].new_ones(like[0].shape),)
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(like) or any(tuple(a.shape) != tuple(t.shape) for a, t in zip(vs, like)):
        raise RuntimeError(f"v has invalid size: it should have the shape of {what} "
                           f"{[tuple(t.shape) for t in like]}, got {[tuple(a.shape) for a in vs]}")
    return vs


def _detach(ts: tuple, create_graph: bool) -> tuple:
    return ts if create_graph else tuple(t.detach() for t in ts)


def _unpack(ts: tuple, is_tuple: bool):
    return ts if is_tuple else ts[0]


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): ``v`` like the outputs (None only for a single-element output)."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    xs = _prepare(xs, create_graph)
    out_tuple, outs = _outputs(func, xs, "vjp", strict)
    vs = _vector(v, outs, "vjp", "the user-provided function returns", "the function's outputs")
    g = _grads(outs, xs, vs, create_graph, strict)
    return _unpack(_detach(outs, create_graph), out_tuple), _unpack(g, in_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): ``v`` like the inputs (None only for a single-element input)."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    xs = _prepare(xs, create_graph)
    vs = _vector(v, xs, "jvp", "the input to the user-provided function is", "the inputs")
    out_tuple, outs = _outputs(func, xs, "jvp", strict)
    us = tuple(o.new_zeros(o.shape).requires_grad_(True) for o in outs)  # the vjp's vector, differentiated
    with enable_grad():
        g = _grads(outs, xs, us, True, strict)
        live = [(gi, vi) for gi, vi in zip(g, vs) if gi.requires_grad]
        if live:
            jv = _grad([gi for gi, _ in live], list(us), grad_outputs=[vi for _, vi in live], retain_graph=True,
                       create_graph=create_graph, allow_unused=True)
        else:
            jv = (None,) * len(us)
    jv = tuple(o.new_zeros(o.shape) if j is None else (j if create_graph else j.detach()) for j, o in zip(jv, outs))
    return _unpack(_detach(outs, create_graph), out_tuple), _unpack(jv, out_tuple)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """d func(inputs) / d inputs: for an output o and an input x, a tensor of shape o.shape + x.shape (one
    reverse pass per output element; ``vectorize`` and ``strategy`` are accepted, the result is the same)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function '
                         'has more outputs than inputs, "forward-mode" tends to be more performant. Otherwise, '
                         'prefer to use "reverse-mode".')
    in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    xs = _prepare(xs, create_graph)
    out_tuple, outs = _outputs(func, xs, "jacobian", strict)
    blocks = []
    for i, o in enumerate(outs):
        with enable_grad():  # (under no_grad a reshape outside it would cut the graph: zeros, not the jacobian)
            flat = o.reshape(-1)
        rows: list[list] = [[] for _ in xs]
        for k in range(flat.numel()):
            unit = flat.new_zeros(flat.shape)
            unit._data[k] = 1
            if o.requires_grad:
                g = _grads((flat,), xs, (unit,), create_graph, strict)
            elif strict:
                raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The "
                                   "outputs must be computed in a differentiable manner from the input when running "
                                   "in strict mode.")
            else:
                g = tuple(x.new_zeros(x.shape) for x in xs)
            for j, gj in enumerate(g):
                rows[j].append(gj)
        block = []
        for j, x in enumerate(xs):
            jac = stack(rows[j]) if rows[j] else x.new_zeros((0,) + tuple(x.shape))
            block.append(jac.reshape(tuple(o.shape) + tuple(x.shape)))
        blocks.append(_unpack(tuple(block), in_tuple))
    return _unpack(tuple(blocks), out_tuple)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The second derivatives of a function returning a single-element tensor: shape x.shape + x.shape (a
    tuple of tuples for a tuple of inputs)."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*args):
        out_tuple, outs = _outputs(func, args, "hessian", strict)
        if out_tuple or outs[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element")
        g = _grads(outs, args, (outs[0].new_ones(outs[0].shape),), True, strict)
        return _unpack(g, in_tuple)

    return jacobian(gradient, _unpack(xs, in_tuple), create_graph=create_graph, strict=strict)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H) of a function returning a single-element tensor."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v); H is symmetric (a twice differentiable function), so this is vhp's product."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph: bool, strict: bool, name: str):
    in_tuple, xs = _as_tuple(inputs, "inputs", name)
    xs = _prepare(xs, create_graph)
    vs = _vector(v, xs, name, "the input to the user-provided function is", "the inputs")
    out_tuple, outs = _outputs(func, xs, name, strict)
    if out_tuple or outs[0].numel() != 1:
        raise RuntimeError(f"The function given to {name} should return a single Tensor with a single element")
    with enable_grad():
        g = _grads(outs, xs, (outs[0].new_ones(outs[0].shape),), True, strict)
        product = _grads(g, xs, vs, create_graph, strict)
    return _detach(outs, create_graph)[0], _unpack(product, in_tuple)
