"""Adadelta: one fused C++ pass per parameter group."""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.optim._checks import check_torch_only_flags, in_interval, nonneg
from eigengrad.optim.optimizer import Optimizer


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012, "ADADELTA: An Adaptive Learning Rate Method"), PyTorch's semantics.

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \qquad v_t = \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}} g_t \qquad
        u_t = \rho u_{t-1} + (1 - \rho) \Delta_t^2 \qquad \theta_t = \theta_{t-1} - \gamma \Delta_t

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach=None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        nonneg("lr", lr)
        in_interval("rho", rho, 0.0, 1.0)
        nonneg("eps", eps)
        nonneg("weight_decay", weight_decay)
        check_torch_only_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=False,
                        foreach=foreach, differentiable=False)
        super().__init__(params, defaults)

    def _state_names(self, group: dict) -> tuple:
        return ("square_avg", "acc_delta")

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0}

    def _kernel_call(self, group: dict, state: dict, first: bool) -> tuple:
        state["step"] += 1
        return _kernels.adadelta_step, ("square_avg", "acc_delta"), dict(
            lr=float(group["lr"]), rho=float(group["rho"]), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]))

    _update = Optimizer._run_kernel
