"""``InstanceNorm1d``, ``InstanceNorm2d`` and ``InstanceNorm3d`` (Ulyanov et al., 2016) with PyTorch's arguments, defaults
(affine=False, track_running_stats=False), buffers and state_dict keys, over ``F.instance_norm``."""
from __future__ import annotations

import warnings

from eigengrad.nn import functional as F
from eigengrad.nn.modules.batchnorm import _BatchNorm
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


class _InstanceNorm(_BatchNorm):
    """Statistics per (sample, channel) over the spatial dims; with ``track_running_stats`` the training
    batches update ``running_mean``/``running_var`` and eval mode normalises with them (PyTorch)."""

    _no_batch_dim = 0  # the number of dims of an unbatched input

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _check_input_dim(self, input: Tensor) -> None:
        n = self._no_batch_dim
        if input.ndim not in (n, n + 1):
            raise ArgumentError(f"expected {n}D or {n + 1}D input (got {input.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        feature_dim = input.ndim - self._no_batch_dim
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ArgumentError(f"expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        batched = input.ndim == self._no_batch_dim + 1
        x = input if batched else input.unsqueeze(0)
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            self.momentum if self.momentum is not None else 0.0, self.eps)
        return y if batched else y.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of input (N, C, L) or (C, L)."""

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of input (N, C, H, W) or (C, H, W)."""

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance norm of input (N, C, D, H, W) or (C, D, H, W)."""

    _no_batch_dim = 4


def __getattr__(name: str):
    """The lazy forms at PyTorch's module path (``LazyInstanceNorm1d/2d/3d``), defined in ``lazy.py`` (which
    imports this one)."""
    if name.startswith("Lazy"):
        from eigengrad.nn.modules import lazy

        if name in lazy.__all__:
            return getattr(lazy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
