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


def gradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Check ``fn``'s backward against finite differences, element by element (as ``torch.autograd.gradcheck``).

    For every input tensor that requires grad and every float output, the analytical Jacobian (rows
    from backward with one-hot output gradients) must equal the numerical one from central differences
    within ``|analytical - numerical| <= atol + rtol * |numerical|``.

    Returns True, or raises :class:`GradcheckError` naming the output, the input and the worst element
    (returns False instead when ``raise_exception=False``).
    """
    from eigengrad.tensor import Tensor

    inputs = _as_tuple(inputs)
    wrt = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("inputs: expected at least one tensor with requires_grad=True")
    for i, t in wrt:
        if t.dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {t.dtype}, not float64; the check may fail from rounding alone",
                          stacklevel=2)

    with enable_grad():
        outputs = [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.requires_grad]

    def evaluate() -> list:
        with no_grad():
            outs = [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]
        return [np.array(o._data, dtype=np.float64) for o in outs][: len(outputs)]

    saved_grads = [t.grad for _, t in wrt]
    try:
        for oi, out in enumerate(outputs):
            analytical = {i: np.zeros((out._data.size, t._data.size)) for i, t in wrt}
            for j in range(out._data.size):
                for _, t in wrt:
                    t.grad = None
                onehot = np.zeros(out.shape, dtype=out.dtype)
                onehot.reshape(-1)[j] = 1
                out.backward(onehot, retain_graph=True)
                for i, t in wrt:
                    if t.grad is not None:
                        analytical[i][j] = t.grad._data.reshape(-1)
            for i, t in wrt:
                numerical = np.zeros_like(analytical[i])
                for k, cols in _numerical_columns(evaluate, t, eps):
                    numerical[:, k] = cols[oi].reshape(-1)
                bad = np.abs(analytical[i] - numerical) > atol + rtol * np.abs(numerical)
                if bad.any():
                    if not raise_exception:
                        return False
                    j, k = np.unravel_index(np.argmax(np.abs(analytical[i] - numerical)), numerical.shape)
                    raise GradcheckError(
                        f"Jacobian mismatch for output {oi} with respect to input {i}: at output element {j}, "
                        f"input element {k}: numerical {numerical[j, k]!r}, analytical {analytical[i][j, k]!r}"
                        f" ({int(bad.sum())} of {bad.size} entries outside atol={atol}, rtol={rtol})"
                    )
    finally:
        for (_, t), g in zip(wrt, saved_grads):
            t.grad = g
    return True


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
