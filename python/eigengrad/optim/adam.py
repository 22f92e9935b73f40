"""Adam and AdamW: one fused C++ pass per parameter group."""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.optim._checks import check_betas, check_torch_only_flags, nonneg
from eigengrad.optim.optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization"), PyTorch's semantics.

    With gradient :math:`g_t` (negated when ``maximize``), step :math:`t \ge 1`:

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad\text{(L2 weight decay; or } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda)
            \text{ when decoupled: AdamW)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ (amsgrad, Reddi et al. 2018) or } v_t \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \,
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad).
    ``foreach`` and ``fused`` are accepted for PyTorch compatibility: the step is always one fused
    C++ call per parameter group.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None, decoupled_weight_decay: bool = False) -> None:
        nonneg("lr", lr)
        nonneg("eps", eps)
        betas = check_betas(betas)
        nonneg("weight_decay", weight_decay)
        check_torch_only_flags(capturable=capturable, differentiable=differentiable, foreach=foreach, fused=fused)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay, foreach=foreach, fused=fused,
                        capturable=False, differentiable=False)
        super().__init__(params, defaults)

    def _state_names(self, group: dict) -> tuple:
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0}

    def _kernel_call(self, group: dict, state: dict, first: bool) -> tuple:
        state["step"] += 1
        beta1, beta2 = group["betas"]
        return _kernels.adam_step, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), dict(
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
            amsgrad=bool(group["amsgrad"]), maximize=bool(group["maximize"]), step=int(state["step"]))

    _update = Optimizer._run_kernel


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019, "Decoupled Weight Decay
    Regularization"), PyTorch's semantics and defaults (``weight_decay=1e-2``).

    .. math::
        \theta_{t-1} &\leftarrow \theta_{t-1} (1 - \gamma \lambda) \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \,
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    with :math:`m_t, \hat v_t` as in :class:`Adam` (the decay never enters the moments).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, foreach=None, capturable: bool = False,
                 differentiable: bool = False, fused=None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
