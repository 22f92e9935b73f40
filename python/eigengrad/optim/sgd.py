"""Stochastic gradient descent with momentum (PyTorch's semantics), one fused C++ pass per group."""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.optim._checks import check_torch_only_flags, nonneg, real
from eigengrad.optim.optimizer import Optimizer, required


class SGD(Optimizer):
    r"""SGD with optional momentum, dampening, weight decay and Nesterov momentum.

    With gradient :math:`g_t` of parameters :math:`\theta_t` (negated when ``maximize``):

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1}                       && \text{weight decay } \lambda \\
        b_t &= \begin{cases} g_t & t = 1 \\ \mu b_{t-1} + (1 - \tau) g_t & t > 1 \end{cases}
                                                                          && \text{momentum } \mu \text{, dampening } \tau \\
        g_t &\leftarrow g_t + \mu b_t \text{ (nesterov) or } b_t          && \text{when } \mu \ne 0 \\
        \theta_t &= \theta_{t-1} - \gamma g_t                             && \text{learning rate } \gamma

    Nesterov momentum as in Sutskever et al. (2013), "On the importance of initialization and momentum
    in deep learning". The whole update is one C++ kernel call over the group's flat buffer.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False, foreach=None,
                 differentiable: bool = False, fused=None) -> None:
        check_torch_only_flags(differentiable=differentiable, foreach=foreach, fused=fused)
        if lr is not required:
            nonneg("lr", lr)
        nonneg("momentum", momentum)
        real("dampening", dampening)
        nonneg("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov: Nesterov momentum requires a momentum > 0 and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=False, fused=fused)
        super().__init__(params, defaults)

    def _state_names(self, group: dict) -> tuple:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _kernel_call(self, group: dict, state: dict, first: bool) -> tuple:
        return _kernels.sgd_step, ("momentum_buffer",), dict(
            lr=float(group["lr"]), momentum=float(group["momentum"]), dampening=float(group["dampening"]),
            weight_decay=float(group["weight_decay"]), nesterov=bool(group["nesterov"]),
            maximize=bool(group["maximize"]), first_step=first)

    _update = Optimizer._run_kernel
