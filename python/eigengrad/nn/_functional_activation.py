"""LeakyReLU, ELU, SELU, GELU, Softplus, PReLU and Maxout in functional form (re-exported by
``eigengrad.nn.functional``). ``inplace=True`` writes the result into the input, as PyTorch does
(``autograd.inplace``: PyTorch's rules and version counter)."""
from __future__ import annotations

import numbers

from eigengrad.autograd import inplace as _inplace
from eigengrad.autograd.ops_activation import MaxPieces, PReLU, Unary
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError, ArgumentTypeError

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _tensor(x, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected an eigengrad Tensor, got {type(x).__name__}")
    return x


def _apply(input: Tensor, inplace: bool, name: str, fn, *args) -> Tensor:
    """``fn(input, *args)``, written into ``input`` when ``inplace`` (the in-place form ``name``_)."""
    _tensor(input)
    if inplace:
        return _inplace.functional(input, name + "_", fn, *args)
    return fn(input, *args)


def _real(v, name: str) -> float:
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        raise TypeError(f"{name}: expected a real number, got {type(v).__name__}")
    return float(v)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Leaky ReLU (Maas et al. 2013): x for x > 0, negative_slope * x otherwise."""
    slope = _real(negative_slope, "negative_slope")
    return _apply(input, inplace, "leaky_relu", lambda x: Unary.apply(x, kind="leaky_relu", params=(slope,)))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """ELU (Clevert et al., ICLR 2016): x for x > 0, alpha (exp(x) - 1) otherwise."""
    alpha = _real(alpha, "alpha")
    return _apply(input, inplace, "elu", lambda x: Unary.apply(x, kind="elu", params=(alpha, 1.0, 1.0)))


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """SELU (Klambauer et al., NeurIPS 2017): scale * elu(x, alpha) with alpha = 1.6732632423543772848,
    scale = 1.0507009873554804934 (the self-normalising fixed point)."""
    return _apply(input, inplace, "selu", lambda x: Unary.apply(x, kind="elu", params=(SELU_ALPHA, SELU_SCALE, 1.0)))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU (Hendrycks & Gimpel 2016): x Phi(x) = x/2 (1 + erf(x / sqrt 2)); with approximate='tanh',
    x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
    return Unary.apply(_tensor(input), kind="gelu", params=(approximate == "tanh",))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus: log(1 + exp(beta x)) / beta, and x where beta x > threshold (numerical stability)."""
    return Unary.apply(_tensor(input), kind="softplus", params=(_real(beta, "beta"), _real(threshold, "threshold")))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """PReLU (He et al., ICCV 2015): x for x > 0, w_c x otherwise, w learned per channel (dim 1 of the
    input) or shared (one element)."""
    _tensor(input)
    _tensor(weight, "weight")
    if weight.dtype != input.dtype:
        raise ArgumentTypeError(f"weight: expected dtype {input.dtype} (the dtype of input), got {weight.dtype}")
    n = weight._data.size
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.ndim != 1 or n != channels:
            raise ArgumentError(f"weight: expected 1 element or one per channel ({channels}, dim 1 of input of shape "
                             f"{input.shape}), got shape {weight.shape}")
    return PReLU.apply(input, weight)


def maxout(input: Tensor, pieces: int) -> Tensor:
    """Max over consecutive groups of ``pieces`` features of the last dim (the max of Goodfellow et al.'s
    Maxout): (..., units * pieces) -> (..., units). The gradient goes to the first maximum of each group."""
    _tensor(input)
    if not isinstance(pieces, numbers.Integral) or isinstance(pieces, bool) or pieces < 1:
        raise ArgumentError(f"pieces: expected a positive int, got {pieces!r}")
    if input.ndim == 0 or input.shape[-1] % pieces:
        raise ArgumentError(f"input: the last dim must be a multiple of pieces={pieces}, got shape {input.shape}")
    return MaxPieces.apply(input, pieces=int(pieces))
