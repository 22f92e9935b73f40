"""RMSprop: one fused C++ pass per parameter group."""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.optim._checks import check_torch_only_flags, nonneg
from eigengrad.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Srivastava & Swersky, "Neural Networks for Machine Learning", lecture 6e;
    the centered form from Graves, 2013, "Generating Sequences With Recurrent Neural Networks"),
    PyTorch's semantics.

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \qquad v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1 - \alpha) g_t \text{ and }
            d_t = \sqrt{v_t - \bar g_t^2} + \epsilon \text{ (centered), else } d_t = \sqrt{v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g_t / d_t, \; \theta_t = \theta_{t-1} - \gamma b_t \text{ (momentum } \mu > 0
            \text{), else } \theta_t = \theta_{t-1} - \gamma g_t / d_t

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0), ``grad_avg``
    (centered).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        nonneg("lr", lr)
        nonneg("eps", eps)
        nonneg("momentum", momentum)
        nonneg("weight_decay", weight_decay)
        nonneg("alpha", alpha)
        check_torch_only_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=False, foreach=foreach, maximize=maximize, differentiable=False)
        super().__init__(params, defaults)

    def _state_names(self, group: dict) -> tuple:
        names = ("square_avg",)
        if group["momentum"] > 0:
            names += ("momentum_buffer",)
        if group["centered"]:
            names += ("grad_avg",)
        return names

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0}

    def _kernel_call(self, group: dict, state: dict, first: bool) -> tuple:
        state["step"] += 1
        return _kernels.rmsprop_step, ("square_avg", "grad_avg", "momentum_buffer"), dict(
            lr=float(group["lr"]), alpha=float(group["alpha"]), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), momentum=float(group["momentum"]),
            centered=bool(group["centered"]), maximize=bool(group["maximize"]))

    _update = Optimizer._run_kernel
