"""Activations composed of differentiable tensor ops (so twice differentiable wherever the ops are), in
functional form, re-exported by ``eigengrad.nn.functional`` with PyTorch's names and defaults: SiLU/swish
(Elfwing et al. 2018), Mish (Misra 2019), ReLU6, hardtanh, hardsigmoid and hardswish (Howard et al.,
MobileNetV3 2019), softsign, logsigmoid, softmin, tanhshrink, threshold, GLU (Dauphin et al. 2017), CELU
(Barron 2017), softshrink and hardshrink. ``inplace`` is accepted; the result is always a new tensor."""
from __future__ import annotations

from eigengrad.nn._functional_activation import _real, _tensor, softplus
from eigengrad.tensor import Tensor


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x)."""
    return _tensor(input) * input.sigmoid()


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return _tensor(input) * softplus(input).tanh()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]."""
    lo, hi = _real(min_val, "min_val"), _real(max_val, "max_val")
    if lo > hi:
        raise ValueError("min_val cannot be greater than max_val")
    return _tensor(input).clamp(lo, hi)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return relu6(_tensor(input) + 3.0) / 6.0


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6."""
    return _tensor(input) * hardsigmoid(input)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return _tensor(input) / (input.abs() + 1.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log sigmoid(x) = -softplus(-x), stable for large |x|."""
    return -softplus(-_tensor(input))


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``."""
    return (-_tensor(input)).softmax(dim if dim is not None else (0 if input.ndim in (0, 1, 3) else 1), dtype=dtype)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return _tensor(input) - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return _tensor(input).masked_fill(input.detach() <= _real(threshold, "threshold"), _real(value, "value"))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a sigmoid(b), with (a, b) the two halves of ``input`` along ``dim``."""
    if _tensor(input).ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""
    alpha = _real(alpha, "alpha")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _tensor(input).clamp(min=0) + ((input / alpha).exp() - 1).mul(alpha).clamp(max=0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd for x > lambd, x + lambd for x < -lambd, else 0."""
    lambd = _real(lambd, "lambd")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    x = _tensor(input)
    return (x - lambd).clamp(min=0) + (x + lambd).clamp(max=0)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return _tensor(input).masked_fill(input.detach().abs() <= _real(lambd, "lambd"), 0.0)
