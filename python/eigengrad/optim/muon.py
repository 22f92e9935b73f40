"""Muon (``torch.optim.Muon``): momentum orthogonalised by a Newton-Schulz iteration, per 2-D parameter.

The orthogonalisation is a function of each matrix as a whole (its norm, its Gram matrix), so a step
cannot be one pass over a group's flat buffer: it runs through the base class's per-parameter path
(``Optimizer._step_each``), the momentum buffers living in the arena as every rule's state does.

As PyTorch's, the Newton-Schulz iteration computes in bfloat16: every intermediate (the normalised
matrix, each Gram matrix, each polynomial term) is rounded to bfloat16, here by rounding float32 values to
the nearest bfloat16 (ties to even) after each operation, with the matrix products summed exactly in
float64 before the rounding. So the orthogonalised update is PyTorch's, up to the rare element whose
float32 sum PyTorch's bfloat16 GEMM (summing in float32, in its own order) rounds to the neighbouring
bfloat16 value; the update is then applied in the parameter's dtype.
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad.optim._lerp import lerp
from eigengrad.optim.optimizer import Optimizer
from eigengrad.tensor import Tensor

_ADJUST_LR_FNS = ("original", "match_rms_adamw")


class Muon(Optimizer):
    r"""Muon, "MomentUm Orthogonalized by Newton-Schulz" (Jordan et al., 2024, "Muon: An optimizer for
    hidden layers in neural networks", https://kellerjordan.github.io/posts/muon/; the learning-rate
    adjustment "match_rms_adamw" from Liu et al., 2025, "Muon is Scalable for LLM Training"), PyTorch's
    semantics. For 2-D parameters only (hidden layers' weights; biases, embeddings and heads go to another
    optimizer such as AdamW).

    With gradient :math:`G_t`, momentum :math:`\mu`, decoupled weight decay :math:`\lambda`:

    .. math::
        B_t &= \mu B_{t-1} + (1 - \mu) G_t \qquad
        \tilde B_t = \mu B_t + (1 - \mu) G_t \text{ (nesterov) or } B_t \\
        O_t &= \mathrm{NS}_k^{(a,b,c)}(\tilde B_t) \qquad
        \theta_t = \theta_{t-1}(1 - \gamma\lambda) - \tilde\gamma\, O_t

    (the averages as ``lerp``). :math:`\mathrm{NS}_k` normalises :math:`X_0 = \tilde B / \max(\|\tilde B\|_F,
    \epsilon)` (transposed when it has more rows than columns) and iterates :math:`k` times the quintic
    :math:`A = X X^\top`, :math:`X \leftarrow a X + (b A + c A^2) X`, which drives every singular value of
    :math:`X` towards 1 (an approximation of :math:`U V^\top` from the SVD :math:`U S V^\top`); PyTorch's
    default coefficients ``(3.4445, -4.775, 2.0315)`` are Jordan's. :math:`\tilde\gamma` is ``lr`` adjusted
    to the shape :math:`A \times B`: ``"original"`` (the default, Jordan's)
    :math:`\gamma \sqrt{\max(1, A/B)}`, ``"match_rms_adamw"`` :math:`0.2\, \gamma \sqrt{\max(A, B)}`.

    State per parameter: ``momentum_buffer``. See the module's note on bfloat16.
    """

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple = (3.4445, -4.775, 2.0315), eps: float = 1e-7,
                 ns_steps: int = 5, adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in _ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"torch.Size({list(p.shape)})")

    def _state_names(self, group: dict) -> tuple:
        return ("momentum_buffer",)

    def _step_groups(self) -> None:
        # always the per-parameter path: each matrix is orthogonalised on its own
        for group, arenas in zip(self.param_groups, self._arenas):
            names = self._state_names(group)
            for arena in arenas:
                for p in arena.params:
                    if p.grad is not None and np.iscomplexobj(p.grad._data):
                        raise RuntimeError("Muon does not support complex parameters")
                    if p.grad is not None and getattr(p.grad, "is_sparse", False):
                        raise RuntimeError("Muon does not support sparse gradients")
                self._step_each(group, arena, names)

    def _update(self, group: dict, param: np.ndarray, grad: np.ndarray, state: dict, first: bool) -> None:
        coefficients, steps = group["ns_coefficients"], group["ns_steps"]
        if steps >= 100:
            raise ValueError("Number of steps must be less than 100 for computational efficiency")
        if len(coefficients) != 3:
            raise ValueError("Coefficients must be a tuple of exactly 3 values")
        lr, wd, momentum = float(group["lr"]), float(group["weight_decay"]), float(group["momentum"])
        buf = state["momentum_buffer"]
        buf[...] = lerp(buf, grad, 1 - momentum)
        if group["nesterov"]:
            update = lerp(np.asarray(grad, dtype=buf.dtype), buf, momentum)
        else:
            update = buf
        ortho = zeropower_via_newtonschulz(update, coefficients, steps, float(group["eps"]))
        adjusted = adjust_lr(lr, group["adjust_lr_fn"], param.shape)
        param *= 1 - lr * wd
        param += param.dtype.type(-adjusted) * ortho.astype(param.dtype)


def adjust_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """The learning rate for an ``A x B`` matrix: ``"original"`` (None) ``lr * sqrt(max(1, A / B))``,
    ``"match_rms_adamw"`` ``lr * 0.2 * sqrt(max(A, B))``."""
    a, b = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, a / b))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(a, b))
    raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")


def zeropower_via_newtonschulz(g: np.ndarray, ns_coefficients=(3.4445, -4.775, 2.0315), ns_steps: int = 5,
                               eps: float = 1e-7) -> np.ndarray:
    """The Newton-Schulz approximation of the orthogonal factor of the 2-D array ``g`` (as float32 arrays
    holding bfloat16 values; see the module's note)."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (float(v) for v in ns_coefficients)
    x = _bf16(g)
    wide = g.shape[0] > g.shape[1]
    if wide:
        x = x.T
    norm = _bf16(np.sqrt(np.sum(np.square(x, dtype=np.float64))))
    norm = _bf16(np.maximum(norm, np.float32(eps)))
    x = _bf16(x / norm)
    for _ in range(ns_steps):
        x64 = x.astype(np.float64)
        gram = _bf16(x64 @ x64.T).astype(np.float64)  # products of bfloat16 values are exact in float64
        poly = _bf16(b * gram + c * (gram @ gram)).astype(np.float64)
        x = _bf16(a * x64 + poly @ x64)
    return np.ascontiguousarray(x.T) if wide else x


def _bf16(a) -> np.ndarray:
    """``a`` rounded to bfloat16 (through float32, as a cast from double does), held in a float32 array:
    the 16 low bits of the float32 rounded away, ties to even; NaN stays NaN."""
    f = np.array(a, dtype=np.float32, ndmin=1)
    u = f.view(np.uint32)
    rounded = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000))
    out = rounded.view(np.float32)
    nan = np.isnan(f)
    if nan.any():
        out = np.where(nan, f, out)
    return out.reshape(np.shape(a))
