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


def _check_requires_grad(ts: tuple, input_type: str, strict: bool) -> None:
    """PyTorch's strict-mode checks of the outputs, the gradients of the double-backward trick, and the
    Jacobian and Hessian of the Hessian functions, with its messages."""
    if not strict:
        return
    for i, t in enumerate(ts):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is not "
                               "allowed in strict mode.")
        if t.requires_grad:
            continue
        if input_type == "hessian":
            raise RuntimeError(f"The hessian of the user-provided function with respect to input {i} is independent "
                               "of the input. This is not allowed in strict mode. You should ensure that your "
                               "function is thrice differentiable and that the hessian depends on the inputs.")
        if input_type == "jacobian":
            raise RuntimeError("While computing the hessian, found that the jacobian of the user-provided function "
                               f"with respect to input {i} is independent of the input. This is not allowed in strict "
                               "mode. You should ensure that your function is twice differentiable and that the "
                               "jacobian depends on the inputs (this would be violated by a linear function for "
                               "example).")
        if input_type == "grad_inputs":
            raise RuntimeError(f"The gradient with respect to input {i} is independent of the inputs of the "
                               "user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs must "
                           "be computed in a differentiable manner from the input when running in strict mode.")


def _outputs(func, inputs: tuple, fn_name: str, strict: bool) -> tuple[bool, tuple]:
    with enable_grad():
        out = func(*inputs)
    is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", fn_name)
    _check_requires_grad(outs, "outputs", strict)
    return is_tuple, outs


def _autograd_grad(outs: tuple, inputs: tuple, vs, create_graph: bool) -> tuple:
    """``autograd.grad`` over the outputs that require grad (None per input when none does), unused inputs
    None (PyTorch's helper of the same name)."""
    vs = (None,) * len(outs) if vs is None else vs
    pairs = [(o, v) for o, v in zip(outs, vs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    with enable_grad():
        return _grad([o for o, _ in pairs], list(inputs), grad_outputs=[v for _, v in pairs], retain_graph=True,
                     create_graph=create_graph, allow_unused=True)


_INDEPENDENT = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict "
            "mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when using "
                  "the double backward trick to compute forward mode gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed in "
                   "strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
                         "backward trick to replace forward mode AD.",
}


def _fill_in_zeros(grads: tuple, refs: tuple, strict: bool, create_graph: bool, stage: str) -> tuple:
    """Zeros (shaped as ``refs``) for the None gradients, or PyTorch's strict-mode error for ``stage``; then
    the results detached unless create_graph."""
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(i=i))
            g = ref.new_zeros(ref.shape)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is not "
                               "allowed in strict mode when create_graph=True.")
        out.append(g if create_graph else g.detach())
    return tuple(out)


def _validate_v(v, like: tuple, like_is_tuple: bool, fn_name: str, single: str, create_graph: bool) -> tuple:
    """The product's vector as a tuple shaped as ``like`` (PyTorch's ``_validate_v`` messages); None only where
    ``like`` is a single one-element tensor (then autograd's 1)."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if {single} a single Tensor with a single element.")
        return None
    _, vs = _as_tuple(v, "v", fn_name)
    vs = tuple(t if create_graph and t.requires_grad else t.detach() for t in vs)
    if len(vs) != len(like):
        if like_is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got {len(vs)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, t) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(t.shape):
            prefix = f"Entry {i} in " if like_is_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {t.shape} but got {a.shape}.")
    return vs


def _detach(ts: tuple, create_graph: bool) -> tuple:
    return ts if create_graph else tuple(t.detach() for t in ts)


def _unpack(ts: tuple, is_tuple: bool):
    return ts if is_tuple else ts[0]


_RETURNS = "the user-provided function returns"
_INPUT_IS = "the input to the user-provided function is"


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): ``v`` like the outputs (None only for a single-element output)."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    xs = _prepare(xs, create_graph)
    out_tuple, outs = _outputs(func, xs, "vjp", strict)
    vs = _validate_v(v, outs, out_tuple, "vjp", _RETURNS, create_graph)
    g = _fill_in_zeros(_autograd_grad(outs, xs, vs, create_graph), xs, strict, create_graph, "back")
    return _unpack(_detach(outs, create_graph), out_tuple), _unpack(g, in_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): ``v`` like the inputs (None only for a single-element input)."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    xs = _prepare(xs, create_graph)
    vs = _validate_v(v, xs, in_tuple, "jvp", _INPUT_IS, create_graph)
    out_tuple, outs = _outputs(func, xs, "jvp", strict)
    us = tuple(o.new_zeros(o.shape).requires_grad_(True) for o in outs)  # the vjp's vector, differentiated
    grad_inputs = _autograd_grad(outs, xs, us, True)
    _check_requires_grad(grad_inputs, "grad_inputs", strict)
    jv = _fill_in_zeros(_autograd_grad(grad_inputs, us, vs, create_graph), outs, strict, create_graph, "back_trick")
    return _unpack(_detach(outs, create_graph), out_tuple), _unpack(jv, out_tuple)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """d func(inputs) / d inputs: for an output o and an input x, a tensor of shape o.shape + x.shape (one
    reverse pass per output element; ``vectorize`` and ``strategy`` are accepted, the result is the same)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function '
                         'has more outputs than inputs, "forward-mode" tends to be more performant. Otherwise, '
                         'prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `strategy=\"forward-mode\"` "
                               "are not supported together (yet). Please either set `strict=False` or "
                               "`strategy=\"reverse-mode\"`.")
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                      "implemented for `vectorize=True`.")
        if create_graph:
            raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` and "
                                      "`strategy=\"forward-mode\"` are not supported together (yet). Please either "
                                      "set `create_graph=False` or `strategy=\"reverse-mode\"`.")
    in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    xs = _prepare(xs, create_graph)
    out_tuple, outs = _outputs(func, xs, "jacobian", strict)
    if vectorize and strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                           "supported together. Please either set `strict=False` or `vectorize=False`.")
    blocks = []
    for i, o in enumerate(outs):
        with enable_grad():  # (under no_grad a reshape outside it would cut the graph: zeros, not the jacobian)
            flat = o.reshape(-1)
        rows: list[list] = [[] for _ in xs]
        for k in range(flat.numel()):
            with enable_grad():
                element = flat[k]
            vj = _autograd_grad((element,), xs, None, create_graph)
            for j, (g, x) in enumerate(zip(vj, xs)):
                if g is not None:
                    if strict and create_graph and not g.requires_grad:  # (PyTorch's message names the output)
                        raise RuntimeError(f"The jacobian of the user-provided function is independent of input "
                                           f"{i}. This is not allowed in strict mode when create_graph=True.")
                    rows[j].append(g if create_graph else g.detach())
                else:
                    if strict:
                        raise RuntimeError(f"Output {i} of the user-provided function is independent of input {j}. "
                                           "This is not allowed in strict mode.")
                    rows[j].append(x.new_zeros(x.shape))
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
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*args):
        out = func(*args)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(outs, "outputs", strict)
        if out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.squeeze()

    def gradient(*args):
        jac = jacobian(single_output, args, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(gradient, xs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return res if in_tuple else res[0][0]


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H) of a function returning a single-element tensor."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v) by PyTorch's double-backward trick (the same numbers as vhp's for a twice
    differentiable function, whose Hessian is symmetric)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph: bool, strict: bool, name: str):
    in_tuple, xs = _as_tuple(inputs, "inputs", name)
    xs = _prepare(xs, create_graph)
    vs = _validate_v(v, xs, in_tuple, name, _INPUT_IS, create_graph)
    out_tuple, outs = _outputs(func, xs, name, strict)
    if out_tuple:
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if outs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {name} should contain a single element")
    jac = _autograd_grad(outs, xs, None, True)
    _check_requires_grad(jac, "jacobian", strict)
    if name == "vhp":
        product = _fill_in_zeros(_autograd_grad(jac, xs, vs, create_graph), xs, strict, create_graph, "double_back")
    else:
        grad_jac = tuple(x.new_zeros(x.shape).requires_grad_(True) for x in xs)
        double_back = _autograd_grad(jac, xs, grad_jac, True)
        _check_requires_grad(jac, "hessian", strict)
        product = _fill_in_zeros(_autograd_grad(double_back, grad_jac, vs, create_graph), xs, strict, create_graph,
                                 "double_back_trick")
    return _detach(outs, create_graph)[0], _unpack(product, in_tuple)
