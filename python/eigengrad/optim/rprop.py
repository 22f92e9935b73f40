"""Rprop and ASGD, PyTorch's two remaining classic rules, as NumPy passes over each parameter group's flat
buffers (elementwise and cheap next to the backward pass; no C++ kernel of their own)."""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.ops_pointwise import _sign
from eigengrad.optim._checks import check_torch_only_flags, nonneg
from eigengrad.optim.optimizer import Optimizer


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993, "A Direct Adaptive Method for Faster
    Backpropagation Learning: The RPROP Algorithm"), PyTorch's variant: only the gradient's sign is used.

    .. math::
        s = \operatorname{sign}(g_t g_{t-1}) \qquad
        \eta_t = \operatorname{clip}(\eta_{t-1} \cdot (\eta_+ [s > 0] + \eta_- [s < 0] + [s = 0]),
        \eta_{\min}, \eta_{\max}) \qquad
        g_t \leftarrow 0 \text{ where } s < 0 \qquad
        \theta_t = \theta_{t-1} - \operatorname{sign}(g_t) \, \eta_t

    with step sizes starting at ``lr``. State per parameter: ``step``, ``prev``, ``step_size``.
    """

    def __init__(self, params, lr: float = 1e-2, etas: tuple = (0.5, 1.2), step_sizes: tuple = (1e-6, 50),
                 *, capturable: bool = False, foreach=None, maximize: bool = False, differentiable: bool = False) -> None:
        nonneg("lr", lr)
        etaminus, etaplus = etas
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"etas: Invalid eta values: {etaminus}, {etaplus}")
        check_torch_only_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach, maximize=maximize,
                        differentiable=False, capturable=False)
        super().__init__(params, defaults)

    def _state_names(self, group: dict) -> tuple:
        return ("prev", "step_size")

    def _state_fill(self, group: dict, name: str) -> float:
        return float(group["lr"]) if name == "step_size" else 0.0

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0}

    def _update(self, group: dict, param: np.ndarray, grad: np.ndarray, state: dict, first: bool) -> None:
        state["step"] += 1
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        g = np.array(grad, copy=True)  # (an array also for a 0-d parameter, so that g[mask] = 0 writes it)
        if group["maximize"]:
            np.negative(g, out=g)
        prev, step_size = state["prev"], state["step_size"]
        s = _sign(g * prev)  # PyTorch's sign: 0 at NaN, so a NaN gradient leaves its element alone
        factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0)).astype(param.dtype)
        np.clip(step_size * factor, lo, hi, out=step_size)
        g[s < 0] = 0
        param -= _sign(g) * step_size
        prev[...] = g


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (Polyak & Juditsky, 1992, "Acceleration of Stochastic
    Approximation by Averaging"), PyTorch's:

    .. math::
        g_t \leftarrow g_t + \lambda_{wd} \theta_{t-1} \qquad
        \theta_t = \theta_{t-1} (1 - \lambda \eta_t) - \eta_t g_t \qquad
        a_t = a_{t-1} + \mu_t (\theta_t - a_{t-1})

    then :math:`\eta_{t+1} = \gamma / (1 + \lambda \gamma t)^\alpha` and :math:`\mu_{t+1} = 1 / \max(1, t - t_0)`
    (the average ``ax`` starts at t0; eta and mu held in PyTorch's scalar dtype). State per parameter:
    ``step``, ``eta``, ``mu``, ``ax``.
    """

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, foreach=None, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        nonneg("lr", lr)
        nonneg("weight_decay", weight_decay)
        check_torch_only_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=False, capturable=False)
        super().__init__(params, defaults)

    def _state_names(self, group: dict) -> tuple:
        return ("ax",)

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0, "eta": _scalar(group["lr"]), "mu": 1.0}

    def _update(self, group: dict, param: np.ndarray, grad: np.ndarray, state: dict, first: bool) -> None:
        state["step"] += 1
        step, eta, mu = state["step"], float(state["eta"]), float(state["mu"])
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        param *= 1 - group["lambd"] * eta
        param -= eta * g
        ax = state["ax"]
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        lr = float(group["lr"])
        # eta and mu keep their dtype (the default dtype; the parameter's after load_state_dict, as PyTorch)
        kind = type(state["eta"]) if isinstance(state["eta"], np.floating) else None
        state["eta"] = _scalar(lr / ((1 + group["lambd"] * lr * step) ** group["alpha"]), kind)
        state["mu"] = _scalar(1 / max(1, step - group["t0"]), kind)


def _scalar(value: float, kind=None) -> np.floating:
    """A value as PyTorch keeps eta and mu: rounded to the default dtype (PyTorch computes each as
    ``torch.as_tensor(float)``), held as a numpy scalar of the state's type ``kind`` (the default dtype;
    the parameter's once loaded from a state_dict, as PyTorch's load casts it), so that the trajectories
    and the saved state equal PyTorch's."""
    from eigengrad.tensor import get_default_dtype

    default = get_default_dtype().type
    return (kind or default)(default(value))
