"""SparseAdam (``torch.optim.SparseAdam``): the lazy Adam that recommenders and word2vec use with
``nn.Embedding(sparse=True)``, per parameter in NumPy.

eigengrad has no sparse tensors: an embedding built with ``sparse=True`` gets a dense gradient holding
the same values (zero on the rows the batch did not look up). The rows of the gradient (its first
dimension) that hold a nonzero value are taken as the sparse gradient's indices, and only they are
updated, as PyTorch updates only the indices of its sparse gradient: the other rows keep their moments
and their values. (PyTorch refuses a dense gradient, which eigengrad cannot tell apart; a looked-up row
whose summed gradient is exactly zero is updated by PyTorch and skipped here.)
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad.optim._checks import check_betas, nonneg
from eigengrad.optim.optimizer import Optimizer


class SparseAdam(Optimizer):
    r"""Lazy Adam, PyTorch's semantics and defaults (no weight decay).

    With gradient rows :math:`g_t[r]` (negated when ``maximize``) for the rows :math:`r` present in the
    gradient, step :math:`t \ge 1` (counted per parameter):

    .. math::
        m_t[r] &= \beta_1 m_{t-1}[r] + (1 - \beta_1) g_t[r] \qquad
        v_t[r] = \beta_2 v_{t-1}[r] + (1 - \beta_2) g_t[r]^2 \\
        \theta_t[r] &= \theta_{t-1}[r] - \gamma \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
            \frac{m_t[r]}{\sqrt{v_t[r]} + \epsilon}

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        nonneg("lr", lr)
        nonneg("eps", eps)
        betas = check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def _state_names(self, group: dict) -> tuple:
        return ("exp_avg", "exp_avg_sq")

    def _scalar_state(self, group: dict) -> dict:
        return {"step": 0}

    def _step_groups(self) -> None:
        # always per parameter: the rows a gradient touches are found in the parameter's own shape
        for group, arenas in zip(self.param_groups, self._arenas):
            names = self._state_names(group)
            for arena in arenas:
                self._step_each(group, arena, names)

    def _update(self, group: dict, param: np.ndarray, grad: np.ndarray, state: dict, first: bool) -> None:
        state["step"] += 1
        step = state["step"]
        beta1, beta2 = (float(b) for b in group["betas"])
        lr, eps = float(group["lr"]), float(group["eps"])
        g = -grad if group["maximize"] else grad
        if param.ndim == 0:
            param, g = param.reshape(1), g.reshape(1)
            m, v = state["exp_avg"].reshape(1), state["exp_avg_sq"].reshape(1)
        else:
            m, v = state["exp_avg"], state["exp_avg_sq"]
        rows = np.flatnonzero(g.reshape(g.shape[0], -1).any(axis=1))
        if rows.size == 0:
            return
        gr = g[rows]
        m_r = m[rows] + (gr - m[rows]) * (1 - beta1)
        v_r = v[rows] + (gr * gr - v[rows]) * (1 - beta2)
        m[rows], v[rows] = m_r, v_r
        step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        param[rows] = param[rows] - step_size * m_r / (np.sqrt(v_r) + eps)
