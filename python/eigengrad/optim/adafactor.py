"""Adafactor (``torch.optim.Adafactor``): factored second moments, per parameter in NumPy.

A parameter of two or more dimensions keeps a row factor and a column factor of its second moment (the
statistics of the last two dimensions), whose shapes are not the parameter's: they cannot be views of a
parameter-shaped flat state array as the arena's rules keep theirs, so the step is a NumPy pass per
parameter (reductions over rows and columns and a handful of elementwise operations; cheap next to the
backward pass), with the state in ``self.state`` as PyTorch keeps it and ``state_dict`` saving it as is.
A step replaces each state tensor by a new one rather than writing into it, so that a snapshot of the
state (``eg.compile`` takes one before checking a replay against eager mode) keeps the old values.
"""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad import _trace
from eigengrad._errors import TypeValueError
from eigengrad.autograd.version import bump
from eigengrad.optim._lerp import lerp
from eigengrad.optim.optimizer import Optimizer
from eigengrad.tensor import Tensor


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost"),
    PyTorch's variant: no first moment, a relative step size, update clipping, decoupled weight decay.

    With gradient :math:`G_t` (negated when ``maximize``), step :math:`t \ge 1`, decay exponent
    :math:`\tau` (``beta2_decay``), ``eps`` :math:`= (\epsilon_1, \epsilon_2)` (:math:`\epsilon_1` = the
    dtype's machine epsilon when None) and clipping threshold :math:`d`:

    .. math::
        \hat\beta_{2,t} &= 1 - t^{\tau} \qquad \rho_t = \min(\gamma, 1/\sqrt t) \qquad
            \alpha_t = \max(\epsilon_2, \operatorname{RMS}(\theta_{t-1}))\, \rho_t \\
        \theta_{t-1} &\leftarrow \theta_{t-1} (1 - \gamma\lambda) \\
        R_t &= \hat\beta_{2,t} R_{t-1} + (1 - \hat\beta_{2,t}) \operatorname{mean}_{\text{cols}}(G_t^2), \quad
        C_t = \hat\beta_{2,t} C_{t-1} + (1 - \hat\beta_{2,t}) \operatorname{mean}_{\text{rows}}(G_t^2), \quad
        \hat V_t = \frac{R_t C_t}{\max(\operatorname{mean}(R_t), \epsilon_1)}
            \quad (\dim \ge 2) \\
        \hat V_t &= \hat\beta_{2,t} \hat V_{t-1} + (1 - \hat\beta_{2,t}) G_t^2 \quad (\dim < 2) \\
        U_t &= G_t / \sqrt{\max(\hat V_t, \epsilon_1^2)} \qquad
        \theta_t = \theta_{t-1} - \frac{\alpha_t}{\max(1, \operatorname{RMS}(U_t) / d)}\, U_t

    (the moving averages as ``lerp`` towards the new statistic with weight :math:`t^{\tau}`, the rows and
    columns being the last two dimensions, leading ones batched). State per parameter, as PyTorch's:
    ``step`` (a 0-d tensor of the default scalar dtype), ``row_var`` (shape ``(..., m, 1)``) and ``col_var``
    (``(..., 1, n)``) for parameters of two or more dimensions, else ``variance`` (the parameter's shape).
    ``foreach`` is accepted for PyTorch compatibility (the numbers are the same either way).
    """

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8, eps=(None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach=None, maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        _real("lr", lr)
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= _real("beta2_decay", beta2_decay):
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        try:
            eps1, eps2 = eps
        except (TypeError, ValueError):
            raise TypeValueError(f"eps: expected a pair (epsilon1 or None, epsilon2), got {eps!r}") from None
        if eps1 is not None and not 0.0 <= _real("eps[0]", eps1):
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps1}")
        if not 0.0 <= _real("eps[1]", eps2):
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps2}")
        if not 1.0 <= _real("d", d):
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= _real("weight_decay", weight_decay):
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        # eg.compile snapshots and compares an optimizer's flat state arrays and scalar states; Adafactor's
        # state tensors are neither, so a compiled step that calls this runs eagerly (with compile's warning)
        _trace.reject("Adafactor's step (its row/column state tensors are not in the parameter arenas that a "
                      "compiled plan snapshots)")
        return super().step(closure)

    def _step_groups(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if np.iscomplexobj(p._data):
                    raise RuntimeError("Adafactor does not support complex parameters")
                if getattr(p.grad, "is_sparse", False):
                    raise RuntimeError("Adafactor does not support sparse gradients")
                self._step_one(group, p)

    def _step_one(self, group: dict, p: Tensor) -> None:
        state = self.state[p]
        grad = np.asarray(p.grad._data)
        if not state:
            state["step"] = Tensor._wrap(np.array(0.0, dtype=_scalar_dtype()))
            if grad.ndim > 1:
                state["row_var"] = Tensor._wrap(np.zeros(grad.shape[:-1] + (1,), dtype=p._data.dtype))
                state["col_var"] = Tensor._wrap(np.zeros(grad.shape[:-2] + (1,) + grad.shape[-1:],
                                                         dtype=p._data.dtype))
            else:
                state["variance"] = Tensor._wrap(np.zeros(grad.shape, dtype=p._data.dtype))
        if group["maximize"]:
            grad = -grad
        lr, wd, d = float(group["lr"]), float(group["weight_decay"]), float(group["d"])
        eps1, eps2 = group["eps"]
        param = p._data
        eps1 = float(np.finfo(param.dtype).eps) if eps1 is None else float(eps1)
        step = _advance(state)
        one_minus_beta2 = step ** float(group["beta2_decay"])
        rho = min(lr, 1 / step ** 0.5)
        n = param.size
        alpha = max(float(eps2), _norm(param) / n ** 0.5) * rho
        if wd != 0:
            param *= 1 - lr * wd
        if grad.ndim > 1:
            row_var = lerp(_array(state["row_var"]), np.square(_norm(grad, axis=-1)) / grad.shape[-1],
                            one_minus_beta2)
            col_var = lerp(_array(state["col_var"]), np.square(_norm(grad, axis=-2)) / grad.shape[-2],
                            one_minus_beta2)
            state["row_var"], state["col_var"] = Tensor._wrap(row_var), Tensor._wrap(col_var)
            var = row_var * col_var  # (..., m, 1) @ (..., 1, n): each element one product
            var /= np.maximum(np.mean(row_var, axis=-2, keepdims=True), _as(eps1, var))
        else:
            variance = lerp(_array(state["variance"]), grad * grad, one_minus_beta2)
            state["variance"] = Tensor._wrap(variance)
            var = variance
        update = np.reciprocal(np.sqrt(np.maximum(var, _as(eps1 * eps1, var)))) * grad
        denom = max(1.0, _norm(update) / (update.size ** 0.5 * d))
        param += _as(-alpha / denom, param) * update
        bump(p)


def _real(name: str, value):
    if isinstance(value, Tensor):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a float (a real number), got {value!r} ({type(value).__name__})")
    return value


def _scalar_dtype():
    """PyTorch's ``_get_scalar_dtype()``: float64 when it is the default dtype, else float32."""
    from eigengrad.tensor import get_default_dtype

    return np.float64 if get_default_dtype() == np.float64 else np.float32


def _array(v) -> np.ndarray:
    if not isinstance(v, Tensor):
        raise TypeError(f"Adafactor state: expected a tensor, got {type(v).__name__}")
    return v._data


def _advance(state: dict) -> float:
    """Add one to the step count, kept as PyTorch keeps it (a 0-d tensor, of its dtype), and return it as a
    float."""
    step = state["step"]
    if isinstance(step, Tensor):  # (its array read directly: float(tensor) inside eg.compile is a fallback)
        dtype, step = step._data.dtype, step._data
    else:
        dtype = _scalar_dtype()
    state["step"] = Tensor._wrap(np.array(float(step) + 1, dtype=dtype))
    return float(state["step"]._data)


def _as(value: float, like: np.ndarray):
    """A Python scalar in ``like``'s dtype, as PyTorch's CPU kernels take a scalar operand."""
    return like.dtype.type(value)


def _norm(a: np.ndarray, axis=None):
    """The 2-norm: of all elements (a Python float, as ``Tensor.norm().item()``) or along ``axis`` (kept)."""
    if axis is None:
        return float(np.sqrt(np.sum(np.square(a, dtype=a.dtype), dtype=a.dtype)))
    return np.sqrt(np.sum(np.square(a), axis=axis, keepdims=True))
