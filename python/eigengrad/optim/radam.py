"""RAdam: Adam with a rectified adaptive learning rate, one fused C++ pass per parameter group."""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.optim._checks import check_betas, check_torch_only_flags, nonneg
from eigengrad.optim.optimizer import Optimizer


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020, "On the Variance of the Adaptive Learning Rate and Beyond"), PyTorch's
    semantics and defaults.

    With gradient :math:`g_t` (negated when ``maximize``), step :math:`t \ge 1`, moments as Adam's:

    .. math::
        \hat m_t &= m_t / (1 - \beta_1^t) \qquad
        \rho_\infty = \frac{2}{1 - \beta_2} - 1 \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
        \theta_t &= \begin{cases}
            \theta_{t-1} - \gamma \hat m_t \, r_t \, \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon}
                & \rho_t > 5, \quad
                r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \\
            \theta_{t-1} - \gamma \hat m_t & \text{otherwise (the variance estimate is not yet reliable)}
        \end{cases}

    Weight decay is L2 in the gradient, or decoupled (:math:`\theta \leftarrow \theta(1 - \gamma\lambda)`,
    as AdamW) with ``decoupled_weight_decay=True``. State per parameter: ``step``, ``exp_avg``,
    ``exp_avg_sq``. ``foreach`` is accepted for PyTorch compatibility.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        nonneg("lr", lr)
        nonneg("eps", eps)
        betas = check_betas(betas)
        nonneg("weight_decay", weight_decay)
        check_torch_only_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=False, decoupled_weight_decay=decoupled_weight_decay, differentiable=False)
        super().__init__(params, defaults)

    def _state_names(self, group: dict) -> tuple:
        return ("exp_avg", "exp_avg_sq")

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0}

    def _kernel_call(self, group: dict, state: dict, first: bool) -> tuple:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        return _kernels.radam_step, ("exp_avg", "exp_avg_sq"), dict(
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
            maximize=bool(group["maximize"]), step=int(state["step"]))

    _update = Optimizer._run_kernel
