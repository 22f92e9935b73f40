"""NAdam: Adam with Nesterov momentum, one fused C++ pass per parameter group."""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels
from eigengrad.optim._checks import check_betas, check_torch_only_flags, nonneg
from eigengrad.optim.optimizer import Optimizer
from eigengrad.tensor import Tensor, get_default_dtype


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016, "Incorporating Nesterov Momentum into Adam"), PyTorch's semantics.

    With the momentum schedule :math:`\mu_t = \beta_1 (1 - \tfrac12 \cdot 0.96^{t\psi})`
    (``momentum_decay`` :math:`\psi`):

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1}
            \text{ (or } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda) \text{ when decoupled)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \qquad
        d_t = \sqrt{v_t / (1 - \beta_2^t)} + \epsilon \\
        \theta_t &= \theta_{t-1} - \gamma \frac{1 - \mu_t}{1 - \prod_{i \le t} \mu_i} \frac{g_t}{d_t}
                   - \gamma \frac{\mu_{t+1}}{1 - \prod_{i \le t+1} \mu_i} \frac{m_t}{d_t}

    State per parameter: ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``. As PyTorch, ``mu_product``
    is kept in the default dtype (float32 unless changed), even for float64 parameters: each step
    multiplies it by :math:`\mu_t` rounded to that dtype, and ``state_dict()`` holds it as a 0-d array
    of that dtype. So float64 runs give PyTorch's numbers (a product kept in double drifts from them
    by about 1e-10 relative over 200 steps at ``lr=0.01``).
    """

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False) -> None:
        nonneg("lr", lr)
        nonneg("eps", eps)
        betas = check_betas(betas)
        nonneg("weight_decay", weight_decay)
        nonneg("momentum_decay", momentum_decay)
        check_torch_only_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=False, differentiable=False)
        super().__init__(params, defaults)
        self._mu_dtype = get_default_dtype()  # PyTorch's _get_scalar_dtype(), read when the optimizer is made

    def _state_names(self, group: dict) -> tuple:
        return ("exp_avg", "exp_avg_sq")

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0, "mu_product": 1.0}

    def _kernel_call(self, group: dict, state: dict, first: bool) -> tuple:
        state["step"] += 1
        step, (beta1, beta2) = int(state["step"]), group["betas"]
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
        # PyTorch: a 0-d tensor of the default dtype, `mu_product *= mu`; after load_state_dict, of the
        # parameter's dtype (a numpy scalar of that type, see Optimizer._load_state_value)
        product = state["mu_product"]
        scalar = type(product) if isinstance(product, np.floating) else self._mu_dtype.type
        state["mu_product"] = scalar(scalar(product) * scalar(mu))
        return _kernels.nadam_step, ("exp_avg", "exp_avg_sq"), dict(
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), momentum_decay=float(group["momentum_decay"]),
            decoupled_weight_decay=bool(group["decoupled_weight_decay"]), maximize=bool(group["maximize"]),
            step=step, mu_product=float(state["mu_product"]))

    _update = Optimizer._run_kernel

    def _packed_state(self) -> dict:
        """As :meth:`Optimizer.state_dict`, with ``mu_product`` a 0-d tensor of the default dtype (PyTorch's)."""
        packed = super()._packed_state()
        params = list({id(p): p for g in self.param_groups for p in g["params"]}.values())  # state_dict's order
        for i, saved in packed["state"].items():
            if "mu_product" in saved:  # from the value itself, in the dtype it is kept in
                product = self.state[params[i]]["mu_product"]
                dtype = product.dtype if isinstance(product, np.floating) else self._mu_dtype
                saved["mu_product"] = Tensor._wrap(np.array(product, dtype=dtype))
        return packed
