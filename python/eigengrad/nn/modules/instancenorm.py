"""PyTorch's ``torch.nn.modules.instancenorm``: InstanceNorm1d/2d/3d (``F.instance_norm``), the
normalisation of style-transfer networks (pytorch/examples fast_neural_style). PyTorch's defaults:
``affine=False`` and ``track_running_stats=False``; unbatched input (C, *) is accepted."""
from __future__ import annotations

from eigengrad.nn import functional as F
from eigengrad.nn.modules.batchnorm import _BatchNorm
from eigengrad.tensor import Tensor


class _InstanceNorm(_BatchNorm):
    _spatial = 1

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        batched = input.ndim == self._spatial + 2
        if input.ndim not in (self._spatial + 1, self._spatial + 2):
            raise ValueError(f"{type(self).__name__}: expected {self._spatial + 1}D (unbatched) or "
                             f"{self._spatial + 2}D (batched) input, got {input.ndim}D input of shape {input.shape}")
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(f"{type(self).__name__}: expected input's size at dim=1 to match num_features "
                             f"({self.num_features}), but got: {x.shape[1]}.")
        use_input_stats = self.training or not self.track_running_stats
        b, p = self._buffers, self._parameters
        y = F.instance_norm(x, b["running_mean"], b["running_var"], p["weight"], p["bias"], use_input_stats,
                            self.momentum if self.momentum is not None else 0.1, self.eps)
        return y if batched else y.squeeze(0)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of (N, C, L) or (C, L)."""
    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of (N, C, H, W) or (C, H, W)."""
    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance norm of (N, C, D, H, W) or (C, D, H, W)."""
    _spatial = 3
