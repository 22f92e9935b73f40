"""Adamax: Adam under the infinity norm, one fused C++ pass per parameter group."""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.optim._checks import check_betas, check_torch_only_flags, nonneg
from eigengrad.optim.optimizer import Optimizer


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization", section 7.1), PyTorch's
    semantics and defaults.

    With gradient :math:`g_t` (negated when ``maximize``), step :math:`t \ge 1`:

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \qquad
        u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \frac{m_t}{u_t}

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u). ``foreach`` is accepted for
    PyTorch compatibility: the step is always one fused C++ call per parameter group.
    """

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 foreach=None, *, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        nonneg("lr", lr)
        nonneg("eps", eps)
        betas = check_betas(betas)
        nonneg("weight_decay", weight_decay)
        check_torch_only_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=False, capturable=False)
        super().__init__(params, defaults)

    def _state_names(self, group: dict) -> tuple:
        return ("exp_avg", "exp_inf")

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0}

    def _kernel_call(self, group: dict, state: dict, first: bool) -> tuple:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        return _kernels.adamax_step, ("exp_avg", "exp_inf"), dict(
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]), step=int(state["step"]))

    _update = Optimizer._run_kernel
