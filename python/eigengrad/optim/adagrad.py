"""Adagrad: one fused C++ pass per parameter group."""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.optim._checks import check_torch_only_flags, nonneg
from eigengrad.optim.optimizer import Optimizer
from eigengrad.tensor import Tensor


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization"), PyTorch's semantics.

    .. math::
        g_t \leftarrow g_t + \lambda \theta_{t-1} \qquad
        s_t = s_{t-1} + g_t^2 \quad (s_0 = \text{initial\_accumulator\_value}) \qquad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1 + (t - 1)\eta} \frac{g_t}{\sqrt{s_t} + \epsilon}

    with learning-rate decay :math:`\eta` (``lr_decay``). State per parameter: ``step``, ``sum``.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None) -> None:
        nonneg("lr", lr)
        nonneg("lr_decay", lr_decay)
        nonneg("weight_decay", weight_decay)
        nonneg("initial_accumulator_value", initial_accumulator_value)
        nonneg("eps", eps)
        check_torch_only_flags(differentiable=differentiable, foreach=foreach, fused=fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=False, fused=fused)
        super().__init__(params, defaults)
        self._init_state()

    def _init_state(self) -> None:
        """As PyTorch, the accumulators exist from construction (state_dict() shows them before any step)."""
        for group, arenas in zip(self.param_groups, self._arenas):
            for arena in arenas:
                _, views = arena.new_state("sum", self._state_fill(group, "sum"))
                for p, v in zip(arena.params, views):
                    self.state.setdefault(p, {}).update(step=0, sum=Tensor._wrap(v))

    def _state_names(self, group: dict) -> tuple:
        return ("sum",)

    def _state_fill(self, group: dict, name: str) -> float:
        # PyTorch fills every group's accumulators with the constructor's value (self.defaults), whatever a
        # group's own initial_accumulator_value says
        return float(self.defaults["initial_accumulator_value"])

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0}

    def _kernel_call(self, group: dict, state: dict, first: bool) -> tuple:
        state["step"] += 1
        return _kernels.adagrad_step, ("sum",), dict(
            lr=float(group["lr"]), lr_decay=float(group["lr_decay"]), weight_decay=float(group["weight_decay"]),
            eps=float(group["eps"]), maximize=bool(group["maximize"]), step=int(state["step"]))

    _update = Optimizer._run_kernel
