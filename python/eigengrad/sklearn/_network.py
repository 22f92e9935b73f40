"""The network behind the estimators: an ``nn.Sequential`` MLP and scikit-learn's L2 penalty."""
from __future__ import annotations

import math
from typing import Sequence

from eigengrad import _kernels, nn
from eigengrad.random import Generator
from eigengrad.tensor import Tensor
from eigengrad.train import Callback, presets


def build_mlp(n_in: int, hidden: Sequence[int], n_out: int, *, activation: str, dropout: float, batch_norm: bool,
              dtype, generator: Generator) -> nn.Sequential:
    """``[Linear, (BatchNorm1d), activation, (Dropout)] * len(hidden), Linear`` with scikit-learn's
    initialisation (see :func:`glorot_init_`)."""
    model = presets.mlp([n_in, *hidden, n_out], activation, batch_norm=batch_norm, dropout=dropout, dtype=dtype)
    for layer in linear_layers(model):
        glorot_init_(layer, activation, generator)
    return model


def glorot_init_(layer: nn.Linear, activation: str, generator: Generator) -> None:
    """scikit-learn's MLP initialisation (Glorot & Bengio 2010): weights *and* biases drawn from
    U[-b, b] with b = sqrt(f / (fan_in + fan_out)), f = 2 for the logistic activation and 6 otherwise.
    SELU networks get LeCun's N(0, 1 / fan_in) weights and zero biases instead (what SELU's
    self-normalisation assumes)."""
    if activation == "selu":
        nn.init.lecun_normal_(layer.weight, generator=generator)
        nn.init.zeros_(layer.bias)
        return
    factor = 2.0 if activation == "logistic" else 6.0
    bound = math.sqrt(factor / (layer.in_features + layer.out_features))
    nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


class PenalizedLoss(Callback):
    """``scale * loss_fn(output, target) + alpha / 2 * sum_l ||W_l||_F^2 / batch_size``.

    This is scikit-learn's MLP objective per mini-batch: the L2 term covers the Linear weights (not
    biases or BatchNorm parameters) and is divided by the batch's number of samples, so its gradient
    is ``alpha * W / batch_size`` (scikit-learn's ``coef_grads += alpha * W; coef_grads /= n``).
    ``scale`` turns a per-element mean into scikit-learn's sum over outputs (multi-label log loss, half
    squared error).

    The term never enters the autograd graph (its elementwise ops cost about a sixth of a
    Fashion-MNIST epoch): its value is added to the loss's value in place (``_kernels.add_l2_penalty_``),
    and as a callback this object adds its gradient to the weights' gradients after ``backward``
    (``on_after_backward``, ``_kernels.add_l2_penalty_grad_``). Both are kernel calls that ``eg.compile``
    records, so the step stays compilable (``compiles_after_backward``: ``fit(compile=True)`` runs this
    callback's ``on_after_backward`` inside the compiled step).
    """

    compiles_after_backward = True

    def __init__(self, loss_fn, weights: list, alpha: float, scale: float = 1.0) -> None:
        self.loss_fn, self.weights, self.alpha, self.scale = loss_fn, weights, float(alpha), float(scale)
        self.batch_size = 0

    def __call__(self, output: Tensor, target: Tensor) -> Tensor:
        loss = self.loss_fn(output, target)
        if self.scale != 1.0:
            loss = loss * self.scale
        self.batch_size = len(target)
        if self.alpha > 0:  # loss + constant: the gradient is unchanged, the value is written in place
            _kernels.add_l2_penalty_([w._data for w in self.weights], self.alpha, self.batch_size, loss._data)
        return loss

    def on_after_backward(self, trainer) -> None:
        if self.alpha > 0:
            _kernels.add_l2_penalty_grad_([w.grad._data for w in self.weights], [w._data for w in self.weights],
                                          self.alpha, self.batch_size)
