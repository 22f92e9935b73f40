"""``Module.to``/``type``/``float``/``double``/``cuda``: a module's parameters and buffers change dtype in
place (the same Parameter objects, as in PyTorch, so optimizers built later and references held before
keep working); devices other than the CPU raise the CPU-only error."""
from __future__ import annotations

import numpy as np

from eigengrad import _dtype
from eigengrad._device import as_device, check_device, cpu_only_error, is_device_like
from eigengrad.tensor import Tensor

__all__ = ["to", "cuda", "cast_all", "cast_floating", "check_device"]


def _parse(args: tuple, kwargs: dict):
    """(device, dtype) from PyTorch's forms of Module.to."""
    kwargs = dict(kwargs)
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        dtype = rest.pop(0)._data.dtype
    elif rest and is_device_like(rest[0]):
        device = rest.pop(0)
        if rest and not isinstance(rest[0], bool):
            dtype = rest.pop(0)
    elif rest and rest[0] is not None:
        dtype = rest.pop(0)
    if len(rest) > 1:  # a trailing non_blocking is accepted
        raise TypeError(f"to() received an invalid combination of arguments: {args!r}")
    return device, dtype


def to(module, *args, **kwargs):
    device, dtype = _parse(args, kwargs)
    as_device(device)
    if dtype is not None:
        dt = _dtype.to_numpy(dtype)
        if dt.kind not in "fc":
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired dtype="
                            f"{_dtype.of(dt)!r}")
        cast_floating(module, dt)
    return module


def cuda(module, device=None):
    raise cpu_only_error("cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device))


def _tensors(module) -> list:
    return list(module.parameters()) + [b for b in module.buffers() if b is not None]


def _cast(t: Tensor, dt: np.dtype) -> None:
    if t._data.dtype == dt:
        return
    if dt == np.float16:
        raise TypeError("half: eigengrad computes in float32 and float64; float16 parameters are not supported")
    grad = t._grad
    t._data = t._data.astype(dt)
    if grad is not None:
        t.grad = Tensor._wrap(grad._data.astype(dt))


def cast_floating(module, dt) -> "object":
    """Float parameters and buffers to ``dt`` (PyTorch's Module.to(dtype), float(), double())."""
    dt = np.dtype(dt)
    for t in _tensors(module):
        if t._data.dtype.kind == "f":
            _cast(t, dt)
    return module


def cast_all(module, dst_type):
    """Every parameter and buffer to ``dst_type`` (PyTorch's Module.type)."""
    from eigengrad.tensor_ops.conversion import _legacy_dtype

    if isinstance(dst_type, str):
        dt = _legacy_dtype(dst_type)
    elif hasattr(dst_type, "_legacy_dtype"):
        dt = dst_type._legacy_dtype
    else:
        dt = _dtype.to_numpy(dst_type)
    for t in _tensors(module):
        if t.requires_grad and dt.kind != "f":
            raise TypeError(f"type: a parameter that requires grad cannot become {dt.name}")
        _cast(t, dt)
    return module
