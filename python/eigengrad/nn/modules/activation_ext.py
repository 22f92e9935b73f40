"""LeakyReLU, PReLU, ELU, SELU, GELU, Softplus and Maxout (PyTorch's names and defaults; Maxout has no
PyTorch counterpart). Re-exported by ``eigengrad.nn.modules.activation``."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.nn import functional as F
from eigengrad.nn import init
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, alpha (exp(x) - 1) otherwise (Clevert et al. 2016)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(Module):
    """scale * ELU(x, alpha) with the self-normalising constants (Klambauer et al. 2017)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class GELU(Module):
    """x Phi(x) (Hendrycks & Gimpel 2016); approximate='tanh' for the tanh form."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ArgumentError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    """x for x > 0, a_c x otherwise, with the slope learned: one weight shared (num_parameters=1) or one per
    channel (dim 1 of the input), initialised to ``init`` (He et al. 2015)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None) -> None:
        super().__init__()
        check_device(device)
        if not isinstance(num_parameters, (int, np.integer)) or isinstance(num_parameters, bool) or num_parameters < 1:
            raise ArgumentError(f"num_parameters: expected a positive int, got {num_parameters!r}")
        self.num_parameters, self.init = int(num_parameters), float(init)
        dtype = factory_dtype(dtype)
        self.weight = Parameter(np.full(self.num_parameters, self.init, dtype=dtype))

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Maxout(Module):
    """Maxout (Goodfellow et al., "Maxout networks", ICML 2013): h_j(x) = max_k (x W^T + b)[j pieces + k],
    a Linear(in_features, out_features * pieces) followed by the max over each unit's ``pieces``.

    ``weight`` is (out_features * pieces, in_features) and ``bias`` (out_features * pieces,), unit j's
    pieces in rows j*pieces .. j*pieces + pieces - 1; both initialised as PyTorch's Linear
    (U[-1/sqrt(in), 1/sqrt(in)]). The max is one C++ kernel that saves the argmax for the backward.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        check_device(device)
        for name, v, low in (("in_features", in_features, 0), ("out_features", out_features, 0), ("pieces", pieces, 1)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
                raise ArgumentError(f"{name}: expected an int >= {low}, got {v!r}")
        self.in_features, self.out_features, self.pieces = int(in_features), int(out_features), int(pieces)
        dtype = factory_dtype(dtype)
        rows = self.out_features * self.pieces
        self.weight = Parameter(np.empty((rows, self.in_features), dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(rows, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.maxout(F.linear(input, self.weight, self.bias), self.pieces)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}, "
                f"bias={self.bias is not None}")


__all__ = ["LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "Softplus", "Maxout"]
