"""Dropout in functional form (re-exported by ``eigengrad.nn.functional``)."""
from __future__ import annotations

import math
import numbers
import warnings

from eigengrad import _kernels as K
from eigengrad._errors import ArgumentError
from eigengrad import random as _random
from eigengrad.autograd import inplace as _inplace
from eigengrad.autograd.ops_dropout import AlphaDropout, Dropout, FeatureDropout
from eigengrad.tensor import Tensor

# Klambauer et al. (2017): SELU's alpha * scale; alpha' = -SELU_ALPHA_PRIME in PyTorch's notation.
SELU_ALPHA_PRIME = 1.7580993408473766


def _check(input, p) -> float:
    if not isinstance(input, Tensor):
        raise TypeError(f"input: expected an eigengrad Tensor, got {type(input).__name__}")
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"p: dropout probability has to be between 0 and 1, but got {p!r}")
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
    ``inplace=True`` writes the result into ``input`` and returns it, as PyTorch's (see :func:`_write_into`).
    """
    p = _check(input, p)
    if inplace and training and p > 0.0:
        return _write_into(input, "dropout", dropout, p, generator)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    g = _random.default_generator if generator is None else _random._generator(generator)
    n = input._data.size
    return Dropout.apply(input, seed=g._seed, offset=g._advance(n), threshold=K.keep_threshold(p),
                         scale=(1.0 / (1.0 - p)) if p < 1.0 else 0.0)


def _feature_rows(input: Tensor, name: str) -> int:
    """The channels of a channel dropout, as PyTorch's dropout2d counts them: dims 0 and 1 are (N, C) and
    every later dim is a feature of the channel, so rows of (rows, inner) = (N * C, rest). PyTorch warns
    and runs for a number of dims other than 4 (3-D input is taken as (N, C, L), not as an unbatched
    (C, H, W); 2-D input drops single elements); fewer than 2 dims is its error."""
    shape = input.shape
    if len(shape) not in (3, 4):
        warnings.warn(f"{name}: Received a {len(shape)}-D input to {name}, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use dropout "
                      f"instead. Note that {name} exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
                      UserWarning, stacklevel=3)
    if len(shape) == 3:
        warnings.warn(f"{name}: Received a 3D input to {name} and assuming that channel-wise 1D dropout behavior is "
                      "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", UserWarning, stacklevel=3)
    if len(shape) < 2:
        raise ArgumentError("Feature dropout requires at least 2 dimensions in the input")
    return shape[0] * shape[1]


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: _random.Generator | None = None) -> Tensor:
    """Channel dropout (Tompson et al., "Efficient object localization using convolutional networks",
    CVPR 2015): each channel of (N, C, H, W) is zeroed as a whole with probability p and the
    kept channels are scaled by 1 / (1 - p). One draw per channel from eigengrad's generator.
    Other numbers of dims warn and run as in PyTorch 2.x: a 3-D input is (N, C, L) (with PyTorch's
    warning), a 2-D input (N, C) drops single elements, more dims are features of (N, C).
    """
    p = _check(input, p)
    if inplace and training and p > 0.0:
        return _write_into(input, "dropout2d", dropout2d, p, generator)
    return _channel_dropout(input, _feature_rows(input, "dropout2d"), p, training, generator)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: _random.Generator | None = None) -> Tensor:
    """Channel dropout of 3-D feature maps (PyTorch's dropout3d): each channel of (N, C, D, H, W) or
    (C, D, H, W) is zeroed as a whole with probability p and the kept channels are scaled by 1 / (1 - p)."""
    if inplace and training and _check(input, p) > 0.0:
        return _write_into(input, "dropout3d", dropout3d, p, generator)
    return _spatial_dropout(input, p, training, generator, "dropout3d", 3, "(C, D, H, W)", "(N, C, D, H, W)")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: _random.Generator | None = None) -> Tensor:
    """Channel dropout of 1-D feature maps (PyTorch's dropout1d): each channel of (N, C, L) or (C, L) is
    zeroed as a whole with probability p and the kept channels are scaled by 1 / (1 - p); one draw per
    channel from eigengrad's generator (as dropout2d)."""
    if inplace and training and _check(input, p) > 0.0:
        return _write_into(input, "dropout1d", dropout1d, p, generator)
    return _spatial_dropout(input, p, training, generator, "dropout1d", 1, "(C, L)", "(N, C, L)")


def _write_into(input: Tensor, name: str, fn, p: float, generator) -> Tensor:
    """PyTorch's ``inplace=True`` in training: ``fn``'s result written into ``input``, which is returned, by
    autograd.inplace's rules (a leaf that requires grad refuses; the version counter moves; the graph goes
    through the in-place node), so code that ignores the return value still sees the dropout."""
    return _inplace.functional(input, name + "_", fn, p, True, False, generator)


def _spatial_dropout(input: Tensor, p, training: bool, generator, name: str, spatial: int, unbatched: str,
                     batched: str) -> Tensor:
    """Channel dropout of an input with exactly ``spatial`` spatial dims, batched or not."""
    p = _check(input, p)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ArgumentError(f"input: {name} expects a {spatial + 1}-D {unbatched} or {spatial + 2}-D {batched} tensor "
                         f"(channel-wise dropout of inputs with {spatial} spatial dimension{'s' * (spatial > 1)}), "
                         f"got shape {input.shape}")
    rows = input.shape[0] * input.shape[1] if input.ndim == spatial + 2 else input.shape[0]
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
    if inplace and training and p > 0.0:
        return _write_into(input, "alpha_dropout", alpha_dropout, p, generator)
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


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                          generator: _random.Generator | None = None) -> Tensor:
    """Alpha dropout of whole channels (``torch.nn.functional.feature_alpha_dropout``): each channel of
    (N, C, *) is kept or set to SELU's saturation as a whole (one draw per channel, as dropout2d), then the
    affine map of :func:`alpha_dropout` restores zero mean and unit variance. p = 1 gives zeros, as PyTorch."""
    p = _check(input, p)
    if input.ndim < 2:
        raise ArgumentError(f"input: feature dropout requires at least 2 dimensions in the input, got shape "
                         f"{input.shape}")
    if inplace and training and p > 0.0:
        return _write_into(input, "feature_alpha_dropout", feature_alpha_dropout, p, generator)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    if p == 1.0:
        return input * 0.0
    rows = input.shape[0] * input.shape[1]
    g = _random.default_generator if generator is None else _random._generator(generator)
    ones = Tensor._wrap(K.ones_like(K.zeros((rows, 1), input._data.dtype)))
    keep = FeatureDropout.apply(ones, rows=rows, seed=g._seed, offset=g._advance(rows),
                                threshold=K.keep_threshold(p), scale=1.0)  # 1 kept, 0 dropped
    alpha = SELU_ALPHA_PRIME
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    b_keep, b_drop = alpha * a * p, -(alpha * a) + alpha * a * p
    out = input.reshape(rows, -1) * (keep * a) + (keep * (b_keep - b_drop) + b_drop)
    return out.reshape(*input.shape)
