"""Gradient checking: compare backward's gradients with central finite differences.

Central differences, (f(x + eps) - f(x - eps)) / (2 eps), err by O(eps^2) from truncation and by
O(u / eps) from rounding (u ~ 1e-16 in float64), so checks run in float64.
"""
from __future__ import annotations

import warnings
from typing import Callable, Iterable

import numpy as np

from eigengrad.autograd.grad_mode import enable_grad, no_grad


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when analytical and numerical Jacobians differ."""


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class _Perturbable:
    """Lets an input's elements be nudged one at a time and restored bitwise afterwards."""

    def __init__(self, tensor) -> None:
        self.tensor = tensor
        self.original = tensor._data
        if not (self.original.flags.c_contiguous and self.original.flags.writeable):
            tensor._data = np.array(self.original, order="C", copy=True)
        self.flat = tensor._data.reshape(-1)

    def restore(self) -> None:
        self.tensor._data = self.original


def _numerical_columns(evaluate: Callable[[], list], tensor, eps: float):
    """Yield (element index, [d output / d element for each output]) by central differences."""
    p = _Perturbable(tensor)
    try:
        for k in range(p.flat.size):
            v = p.flat[k]
            p.flat[k] = v + eps
            plus = evaluate()
            p.flat[k] = v - eps
            minus = evaluate()
            p.flat[k] = v
            yield k, [(a - b) / (2 * eps) for a, b in zip(plus, minus)]
    finally:
        p.restore()


def _refuse(**flags) -> None:
    for name, value in flags.items():
        if value:
            raise NotImplementedError(f"{name}=True: eigengrad has no forward-mode AD or vmap, so this check is "
                                      "not available; leave it False")


def gradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked=None) -> bool:
    """Check ``fn``'s backward against finite differences, element by element (``torch.autograd.gradcheck``).

    For every input tensor that requires grad and every float output, the analytical Jacobian (rows
    from backward with one-hot output gradients) must equal the numerical one from central differences
    within ``|analytical - numerical| <= atol + rtol * |numerical|``; a float output that does not
    require grad must have a numerical Jacobian of zero.

    Returns True, or raises :class:`GradcheckError` naming the output, the input and the worst element
    (returns False instead when ``raise_exception=False``). PyTorch's other keywords are accepted:
    ``check_grad_dtypes`` checks that each gradient has its input's dtype; ``fast_mode``,
    ``nondet_tol``, ``check_undefined_grad`` and ``masked`` change nothing here (the full Jacobian is
    always compared; the kernels are deterministic; the engine never passes an undefined gradient);
    the forward-mode and batched checks raise NotImplementedError when asked for.
    """
    from eigengrad.tensor import Tensor

    _refuse(check_batched_grad=check_batched_grad, check_batched_forward_grad=check_batched_forward_grad,
            check_forward_ad=check_forward_ad)
    inputs = _as_tuple(inputs)
    wrt = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("inputs: expected at least one tensor with requires_grad=True")
    for i, t in wrt:
        if t.dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {t.dtype}, not float64; the check may fail from rounding alone",
                          stacklevel=2)
    if not check_backward_ad:
        return True

    with enable_grad():
        first = _as_tuple(fn(*inputs))
    floats = [k for k, o in enumerate(first) if isinstance(o, Tensor) and o.dtype.kind == "f"]
    differentiable = {k for k in floats if first[k].requires_grad}

    def evaluate() -> list:
        with no_grad():
            outs = _as_tuple(fn(*inputs))
        return [np.array(outs[k]._data, dtype=np.float64) for k in floats]

    def fail(message: str) -> bool:
        if raise_exception:
            raise GradcheckError(message)
        return False

    saved_grads = [t._grad for _, t in wrt]
    analytical: dict = {}  # output index -> {input index: its Jacobian}, computed when first needed
    try:
        for i, t in wrt:
            numerical = [np.zeros((first[k]._data.size, t._data.size)) for k in floats]
            for col, cols in _numerical_columns(evaluate, t, eps):
                for n, c in zip(numerical, cols):
                    n[:, col] = c.reshape(-1)
            for oi, k in enumerate(floats):
                num = numerical[oi]
                if k not in differentiable:
                    if np.abs(num).max(initial=0) > atol:
                        return fail(f"Numerical gradient for function expected to be zero: output {k} does not "
                                    f"require grad, but its numerical Jacobian with respect to input {i} is not zero")
                    continue
                if k not in analytical:
                    analytical[k] = _analytical(first[k], wrt, check_grad_dtypes)
                ana = analytical[k][i]
                bad = np.abs(ana - num) > atol + rtol * np.abs(num)
                if bad.any():  # PyTorch's message: the Jacobians as (input element, output element) tensors
                    wrap = type(t)._wrap
                    return fail(f"Jacobian mismatch for output {k} with respect to input {i},\n"
                                f"numerical:{wrap(np.ascontiguousarray(num.T))}\n"
                                f"analytical:{wrap(np.ascontiguousarray(ana.T))}\n")
    finally:
        for (_, t), g in zip(wrt, saved_grads):
            t.grad = g
    return True


def _analytical(out, wrt: list, check_dtypes: bool) -> dict:
    """d out / d t for each input t of ``wrt``, one row per output element (backward with one-hot gradients)."""
    rows = {i: np.zeros((out._data.size, t._data.size)) for i, t in wrt}
    for j in range(out._data.size):
        for _, t in wrt:
            t.grad = None
        onehot = np.zeros(out.shape, dtype=out.dtype)
        onehot.reshape(-1)[j] = 1
        out.backward(onehot, retain_graph=True)
        for i, t in wrt:
            if t._grad is None:
                continue
            if check_dtypes and t.grad.dtype != t.dtype:
                raise GradcheckError(f"Gradient has dtype mismatch: input {i} has dtype {t.dtype}, its gradient "
                                     f"{t.grad.dtype}")
            rows[i][j] = t.grad._data.reshape(-1)
    return rows


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False, masked: bool = False) -> bool:
    """Check second-order gradients against finite differences (``torch.autograd.gradgradcheck``).

    The first-order gradients ``autograd.grad(func(*inputs), inputs, grad_outputs, create_graph=True)``
    are themselves checked with :func:`gradcheck` as a function of the inputs and of ``grad_outputs``:
    this exercises every ``backward_graph`` on the way. ``grad_outputs`` default to random tensors
    (uniform in [-9, 9) from a fixed seed, as PyTorch's ``make_tensor``) that require grad;
    ``gen_non_contig_grad_outputs`` makes them non-contiguous.
    """
    from eigengrad.autograd.differentiate import grad
    from eigengrad.tensor import Tensor

    _refuse(check_batched_grad=check_batched_grad, check_fwd_over_rev=check_fwd_over_rev)
    if not check_rev_over_rev:
        return True
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        with enable_grad():
            outs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o.requires_grad]
        rng = np.random.default_rng(0)
        grad_outputs = tuple(Tensor._wrap(_maybe_strided(rng.uniform(-9, 9, o.shape).astype(o.dtype),
                                                         gen_non_contig_grad_outputs), requires_grad=True)
                             for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    count = len(grad_outputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_order(*args):
        with enable_grad():
            outs = [o for o in _as_tuple(func(*args[:-count])) if isinstance(o, Tensor) and o.requires_grad]
            grads = grad(outs, [args[i] for i in diff], args[-count:], create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_order, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol, check_grad_dtypes=check_grad_dtypes)


def _maybe_strided(arr: np.ndarray, strided: bool) -> np.ndarray:
    """``arr``'s values in a non-contiguous array (every other element of a larger one) when ``strided``."""
    if not strided or arr.ndim == 0:
        return arr
    wide = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)
    wide[..., ::2] = arr
    return wide[..., ::2]


class GradientCheckResult(float):
    """The overall relative error (a float), with ``per_parameter`` errors and the ``worst`` name."""

    per_parameter: dict
    worst: str

    def __new__(cls, value: float, per_parameter: dict, worst: str):
        obj = super().__new__(cls, value)
        obj.per_parameter = per_parameter
        obj.worst = worst
        return obj

    @property
    def relative_error(self) -> float:
        return float(self)

    def __repr__(self) -> str:
        return f"GradientCheckResult(relative_error={float(self):.3e}, worst={self.worst!r})"


def _relative_error(approx: np.ndarray, exact: np.ndarray) -> float:
    denom = np.linalg.norm(approx) + np.linalg.norm(exact)
    return float(np.linalg.norm(approx - exact) / denom) if denom > 0 else 0.0


def _named(params) -> list:
    if hasattr(params, "named_parameters"):
        return list(params.named_parameters())
    if isinstance(params, dict):
        return list(params.items())
    out = []
    for i, p in enumerate(params):
        out.append(tuple(p) if isinstance(p, tuple) else (f"param{i}", p))
    return out


def gradient_relative_error(fn: Callable[[], object], params: Iterable, eps: float = 1e-7) -> GradientCheckResult:
    """Relative error ||g_approx - g|| / (||g_approx|| + ||g||) between backward's gradient ``g`` and
    central differences ``g_approx`` over all parameters, with the worst parameter named.

    Args:
        fn: called with no arguments, returns the scalar loss computed from the current parameters.
        params: a Module, ``named_parameters()`` pairs, a dict name -> tensor, or a list of tensors.
        eps: the finite-difference step.

    Returns a :class:`GradientCheckResult`: a float (the overall error) with ``per_parameter`` (name ->
    error) and ``worst`` (the name with the largest error). Below ~1e-7 in float64 is a correct
    backward; a wrong one gives errors of order 1e-2 or more. ``grad`` of the parameters is restored.
    """
    named = _named(params)
    if not named:
        raise ValueError("params: expected at least one parameter")
    saved = [p.grad for _, p in named]
    try:
        for _, p in named:
            p.grad = None
        with enable_grad():
            loss = fn()
        if loss._data.size != 1:
            raise ValueError(f"fn: expected a scalar loss, got shape {loss.shape}")
        loss.backward()
        exact = [np.zeros(p.shape) if p.grad is None else np.array(p.grad._data, dtype=np.float64) for _, p in named]

        def evaluate():
            with no_grad():
                return [float(fn().item())]

        approx = []
        for _, p in named:
            g = np.zeros(p._data.size)
            for k, cols in _numerical_columns(evaluate, p, eps):
                g[k] = cols[0]
            approx.append(g.reshape(p.shape))
    finally:
        for (_, p), g in zip(named, saved):
            p.grad = g
    per = {name: _relative_error(a, e) for (name, _), a, e in zip(named, approx, exact)}
    overall = _relative_error(np.concatenate([a.ravel() for a in approx]), np.concatenate([e.ravel() for e in exact]))
    worst = max(per, key=per.get)
    return GradientCheckResult(overall, per, worst)
