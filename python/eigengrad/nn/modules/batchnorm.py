"""``BatchNorm1d`` and ``BatchNorm2d`` (Ioffe & Szegedy, 2015) with PyTorch's arguments, buffers and semantics."""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K, _trace
from eigengrad.nn import functional as F
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


def _check_features(num_features) -> int:
    if not isinstance(num_features, (int, np.integer)) or isinstance(num_features, bool) or num_features < 1:
        raise ArgumentError(f"num_features: expected a positive int, got {num_features!r}")
    return int(num_features)


class _BatchNorm(Module):
    """Batch norm over channel dim 1: learnable ``weight`` (ones) and ``bias`` (zeros) when ``affine``;
    buffers ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (int64 0-d)
    when ``track_running_stats``: the state_dict keys of PyTorch.

    Training mode normalises with the batch's mean and biased variance and updates the running
    statistics: r = (1 - momentum) r + momentum * stat with the unbiased variance; ``momentum=None``
    makes it the cumulative average (momentum = 1 / num_batches_tracked). Eval mode normalises with the
    running statistics (or the batch's when they are not tracked).
    """

    # the accepted numbers of dimensions and their layouts ({c}: num_features), set by each subclass
    _ndims: tuple = ()
    _layouts: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        check_device(device)
        self.num_features = _check_features(num_features)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ArgumentError(f"momentum: expected a float in [0, 1] or None, got {momentum!r}")
        if not eps > 0:
            raise ArgumentError(f"eps: expected a positive float, got {eps!r}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = factory_dtype(dtype)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype=dtype))
            self.register_parameter("bias", Parameter(np.zeros(c, dtype=dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(np.zeros(c, dtype=dtype)))
            self.register_buffer("running_var", Tensor._wrap(np.ones(c, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    _version = 2  # PyTorch's: version 2 added num_batches_tracked

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """As PyTorch: a checkpoint from before num_batches_tracked (version < 2, or no version) keeps the
        module's count (0 for a new module) instead of reporting the key missing."""
        version = local_metadata.get("version", None)
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                               else Tensor._wrap(np.array(0, dtype=np.int64)))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight._data[...] = 1
            if self.bias is not None:
                self.bias._data[...] = 0

    def _check_input_dim(self, input: Tensor) -> None:
        shape, c = input.shape, self.num_features
        if len(shape) not in self._ndims or shape[1] != c:
            dims = " or ".join(f"{d}D" for d in self._ndims)
            raise ArgumentError(f"{type(self).__name__}: expected {dims} input of shape {self._layouts.format(c=c)}, "
                             f"got {len(shape)}D input of shape {shape}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        p = self._parameters
        running_mean, running_var, momentum = self._statistics(input)
        use_batch_stats = self.training or (running_mean is None and running_var is None)
        return F.batch_norm(input, running_mean, running_var, p["weight"], p["bias"], use_batch_stats, momentum,
                            self.eps)

    def _statistics(self, input: Tensor, check_values: bool = True) -> tuple:
        """(running_mean, running_var, momentum) for this forward; in training mode the batch is counted
        (``num_batches_tracked``; ``momentum=None`` then gives the cumulative average's 1 / count).
        ``check_values``: refuse a single value per channel (SyncBatchNorm checks the global count)."""
        b = self._buffers
        running_mean, running_var = b["running_mean"], b["running_var"]
        momentum = self.momentum
        if self.training:
            if check_values and F._values_per_channel(input.shape) == 1:  # before the batch is counted
                raise ArgumentError("Expected more than 1 value per channel when training, got input size "
                                    f"{input.shape}")
            if not self.track_running_stats:
                running_mean = running_var = None  # batch statistics, never stored
            else:
                count = b["num_batches_tracked"]
                if count is not None and momentum is not None:
                    K.increment_(count._data)  # a kernel call, so that eg.compile replays it
                elif count is not None:  # cumulative moving average: the momentum is read in Python
                    _trace.reject("BatchNorm with momentum=None reads num_batches_tracked in Python")
                    count._data[()] = tracked = int(count._data) + 1
                    momentum = 1.0 / tracked
        return running_mean, running_var, 0.0 if momentum is None else momentum

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


_NormBase = _BatchNorm  # PyTorch's base of the batch and instance norms (for subclasses that name it)


class BatchNorm1d(_BatchNorm):
    """Batch norm of input (N, C) or (N, C, L), statistics per channel C over N (and L)."""

    _ndims, _layouts = (2, 3), "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm of input (N, C, H, W), statistics per channel C over N, H and W."""

    _ndims, _layouts = (4,), "(N, {c}, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch norm of input (N, C, D, H, W), statistics per channel C over N, D, H and W."""

    _ndims, _layouts = (5,), "(N, {c}, D, H, W)"


def __getattr__(name: str):
    """``SyncBatchNorm`` and the lazy forms (``LazyBatchNorm1d/2d/3d``) at PyTorch's path
    (``torch.nn.modules.batchnorm``), imported on first use (sync_batchnorm.py and lazy.py build on this
    module)."""
    if name == "SyncBatchNorm":
        from eigengrad.nn.modules.sync_batchnorm import SyncBatchNorm
        return SyncBatchNorm
    if name.startswith("Lazy"):
        from eigengrad.nn.modules import lazy

        if name in lazy.__all__:
            return getattr(lazy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
