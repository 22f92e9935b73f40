"""PyTorch's lazy layers: ``LazyConv1d/2d/3d``, ``LazyConvTranspose1d/2d/3d``, ``LazyBatchNorm1d/2d/3d`` and
``LazyInstanceNorm1d/2d/3d`` (PyTorch's lazy defaults: affine and tracked statistics, for the instance norms
too) infer their input channels from the first input, then become the layer itself
(PyTorch's ``cls_to_become``), initialised as that layer. Until then their parameters (and a norm's running
statistics) are empty: create the optimizer after the first call, as PyTorch warns too. ``LazyLinear`` is in
``linear.py``."""
from __future__ import annotations

from eigengrad.nn.modules import batchnorm, conv, instancenorm
from eigengrad.nn.modules.module import Module
from eigengrad.nn.parameter import UninitializedBuffer, UninitializedParameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


class _Lazy:
    """The mechanism: ``_lazy_kwargs`` are the real layer's arguments but its input channels; the first forward
    builds the real layer (``cls_to_become``) and takes over its parameters, buffers and attributes, keeping
    this module's hooks, training flag and place in its parent."""

    cls_to_become: type = Module
    _channel_attr = "in_channels"
    _spatial_dims = 2

    def _empty_state(self) -> None:
        for name, p in list(self._parameters.items()):
            if p is not None:
                self._parameters[name] = UninitializedParameter(dtype=p._data.dtype)
        for name, b in list(self._buffers.items()):
            if b is not None and name != "num_batches_tracked":
                self._buffers[name] = UninitializedBuffer(dtype=b._data.dtype)
        setattr(self, self._channel_attr, 0)

    def has_uninitialized_params(self) -> bool:
        return True

    def _channels_of(self, input: Tensor) -> int:
        n = self._spatial_dims
        if input.ndim not in (n + 1, n + 2):
            raise ArgumentError(f"input: expected a {n + 1}-D (unbatched) or {n + 2}-D input for "
                                f"{type(self).__name__}, "
                             f"got shape {input.shape}")
        return int(input.shape[1] if input.ndim == n + 2 else input.shape[0])

    def initialize_parameters(self, input: Tensor) -> None:
        """Builds the real layer for ``input``'s channels and becomes it."""
        real = self.cls_to_become(self._channels_of(input), **self._lazy_kwargs)
        real.train(self.training)
        self._parameters.update(real._parameters)
        self._buffers.update(real._buffers)
        setattr(self, self._channel_attr, getattr(real, self._channel_attr))
        del self._lazy_kwargs
        self.__class__ = self.cls_to_become

    def forward(self, input: Tensor, *args, **kwargs):
        self.initialize_parameters(input)
        return self.forward(input, *args, **kwargs)  # the real layer's forward from now on


def _lazy_conv(real: type, dims: int, transposed: bool):
    class LazyConv(_Lazy, real):
        cls_to_become = real
        _spatial_dims = dims

        def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, *args, **kwargs) -> None:
            names = (("output_padding", "groups", "bias", "dilation", "padding_mode", "device", "dtype") if transposed
                     else ("dilation", "groups", "bias", "padding_mode", "device", "dtype"))
            kwargs.update(zip(names, args))
            lazy = dict(out_channels=out_channels, kernel_size=kernel_size, stride=stride, padding=padding, **kwargs)
            real.__init__(self, kwargs.get("groups", 1), **lazy)  # (any valid channel count: emptied below)
            self._lazy_kwargs = lazy
            self._empty_state()

    LazyConv.__name__ = LazyConv.__qualname__ = "Lazy" + real.__name__
    LazyConv.__doc__ = f"``{real.__name__}`` with ``in_channels`` inferred from the first input."
    return LazyConv


def _init_norm(self, real: type, eps, momentum, affine, track_running_stats, device, dtype) -> None:
    lazy = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track_running_stats, device=device,
                dtype=dtype)
    real.__init__(self, 1, **lazy)  # (one feature: emptied below)
    self._lazy_kwargs = lazy
    self._empty_state()


def _lazy_norm(real: type, dims: int):
    class LazyNorm(_Lazy, real):
        cls_to_become = real
        _channel_attr = "num_features"
        _spatial_dims = dims

        def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                     track_running_stats: bool = True, device=None, dtype=None) -> None:
            _init_norm(self, real, eps, momentum, affine, track_running_stats, device, dtype)

    def _channels_of(self, input: Tensor) -> int:
        if issubclass(real, instancenorm._InstanceNorm):  # the dim before the spatial ones (batched or not)
            real._check_input_dim(self, input)
            return int(input.shape[input.ndim - real._no_batch_dim])
        if input.ndim < 2:
            raise ArgumentError(f"input: expected at least a 2-D input for {type(self).__name__}, got shape "
                                f"{input.shape}")
        return int(input.shape[1])

    LazyNorm._channels_of = _channels_of
    LazyNorm.__name__ = LazyNorm.__qualname__ = "Lazy" + real.__name__
    LazyNorm.__doc__ = f"``{real.__name__}`` with ``num_features`` inferred from the first input."
    return LazyNorm


LazyConv1d = _lazy_conv(conv.Conv1d, 1, False)
LazyConv2d = _lazy_conv(conv.Conv2d, 2, False)
LazyConv3d = _lazy_conv(conv.Conv3d, 3, False)
LazyConvTranspose1d = _lazy_conv(conv.ConvTranspose1d, 1, True)
LazyConvTranspose2d = _lazy_conv(conv.ConvTranspose2d, 2, True)
LazyConvTranspose3d = _lazy_conv(conv.ConvTranspose3d, 3, True)
LazyBatchNorm1d = _lazy_norm(batchnorm.BatchNorm1d, 1)
LazyBatchNorm2d = _lazy_norm(batchnorm.BatchNorm2d, 2)
LazyBatchNorm3d = _lazy_norm(batchnorm.BatchNorm3d, 3)


LazyInstanceNorm1d = _lazy_norm(instancenorm.InstanceNorm1d, 1)
LazyInstanceNorm2d = _lazy_norm(instancenorm.InstanceNorm2d, 2)
LazyInstanceNorm3d = _lazy_norm(instancenorm.InstanceNorm3d, 3)

__all__ = ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]
