"""Dropout in functional form (re-exported by ``eigengrad.nn.functional``)."""
from __future__ import annotations

import math
import numbers

from eigengrad import _kernels as K
from eigengrad import random as _random
from eigengrad.autograd.ops_dropout import AlphaDropout, Dropout, FeatureDropout
from eigengrad.tensor import Tensor

# Klambauer et al. (2017): SELU's alpha * scale; alpha' = -SELU_ALPHA_PRIME in PyTorch's notation.
SELU_ALPHA_PRIME = 1.7580993408473766


def _check(input, p) -> float:
    if not isinstance(input, Tensor):
        raise TypeError(f"input: expected an eigengrad Tensor, got {type(input).__name__}")
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: _random.Generator | None = None) -> Tensor:
    """Inverted dropout (Srivastava et al., "Dropout: a simple way to prevent neural networks from
    overfitting", JMLR 2014): in training each element is kept with probability 1 - p and scaled,

        y = x * m / (1 - p),   m_i ~ Bernoulli(1 - p),

    so E[y] = x and evaluation is the identity (``input`` itself is returned, as PyTorch does). p = 1
    gives zeros. The mask is drawn in C++ from eigengrad's counter-based generator (``generator`` or
    the default one): a seed gives the same mask on any number of threads; the draw of n elements
    advances the generator's offset by n. The backward uses the same mask (kept as uint8).
    ``inplace`` is accepted for PyTorch compatibility; the result is always a new tensor.
    """
    p = _check(input, p)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    g = _random.default_generator if generator is None else _random._generator(generator)
    n = input._data.size
    return Dropout.apply(input, seed=g._seed, offset=g._advance(n), threshold=K.keep_threshold(p),
                         scale=(1.0 / (1.0 - p)) if p < 1.0 else 0.0)


def _feature_rows(input: Tensor, name: str) -> int:
    """Rows of (rows, inner) = (N * C, H * W) for (N, C, H, W), (C, H * W) for (C, H, W)."""
    shape = input.shape
    if len(shape) == 4:
        return shape[0] * shape[1]
    if len(shape) == 3:
        return shape[0]
    raise ValueError(f"input: {name} expects a 4-D (N, C, H, W) or 3-D (C, H, W) tensor, got shape {shape}")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: _random.Generator | None = None) -> Tensor:
    """Channel dropout (Tompson et al., "Efficient object localization using convolutional networks",
    CVPR 2015): each channel of (N, C, H, W) or (C, H, W) is zeroed as a whole with probability p and the
    kept channels are scaled by 1 / (1 - p). One draw per channel from eigengrad's generator.
    A 3-D input is (C, H, W) as the PyTorch documentation says (PyTorch 2.x itself treats it as
    (N, C, L) with a warning, for backward compatibility).
    """
    p = _check(input, p)
    return _channel_dropout(input, _feature_rows(input, "dropout2d"), p, training, generator)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: _random.Generator | None = None) -> Tensor:
    """Channel dropout of 1-D feature maps (PyTorch's dropout1d): each channel of (N, C, L) or (C, L) is
    zeroed as a whole with probability p and the kept channels are scaled by 1 / (1 - p); one draw per
    channel from eigengrad's generator (as dropout2d)."""
    p = _check(input, p)
    if input.ndim not in (2, 3):
        raise ValueError(f"input: dropout1d expects a 2-D (C, L) or 3-D (N, C, L) tensor (channel-wise dropout of "
                         f"inputs with one spatial dimension), got shape {input.shape}")
    rows = input.shape[0] * input.shape[1] if input.ndim == 3 else input.shape[0]
    return _channel_dropout(input, rows, p, training, generator)


def _channel_dropout(input: Tensor, rows: int, p: float, training: bool, generator) -> Tensor:
    """Drops whole rows of input viewed as (rows, -1) (the channels of dropout1d / dropout2d)."""
    if not training or p == 0.0 or input._data.size == 0:
        return input
    g = _random.default_generator if generator is None else _random._generator(generator)
    return FeatureDropout.apply(input, rows=rows, seed=g._seed, offset=g._advance(rows),
                                threshold=K.keep_threshold(p), scale=(1.0 / (1.0 - p)) if p < 1.0 else 0.0)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                  generator: _random.Generator | None = None) -> Tensor:
    """Alpha dropout (Klambauer et al., "Self-normalizing neural networks", NeurIPS 2017), for SELU
    networks: a dropped element is set to SELU's negative saturation alpha' = -1.7580993408473766 and
    an affine map restores zero mean and unit variance,

        y = a (x m + alpha' (1 - m)) + b,   a = ((1 - p)(1 + p alpha'^2))^(-1/2),   b = -a alpha' p,

    with PyTorch's arithmetic (y = x (m a) + b_m). Identity when not training or p = 0 (PyTorch's
    default is training=False here); p = 1 gives zeros, as PyTorch.
    """
    p = _check(input, p)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    g = _random.default_generator if generator is None else _random._generator(generator)
    n = input._data.size
    if p == 1.0:
        return Dropout.apply(input, seed=g._seed, offset=g._advance(n), threshold=0, scale=0.0)
    alpha = SELU_ALPHA_PRIME
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    b_keep = alpha * a * p
    b_drop = -(alpha * a) + alpha * a * p
    return AlphaDropout.apply(input, seed=g._seed, offset=g._advance(n), threshold=K.keep_threshold(p),
                              a=a, b_keep=b_keep, b_drop=b_drop)
