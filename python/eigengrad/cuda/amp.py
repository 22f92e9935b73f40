"""``torch.cuda.amp`` (deprecated in PyTorch for ``torch.amp``): without CUDA, PyTorch warns and disables
both the scaler and autocast, and so does eigengrad, with PyTorch's warnings. A module, so that a script's
``from torch.cuda.amp import autocast, GradScaler`` imports under ``eigengrad.compat``."""
from __future__ import annotations

import warnings


def GradScaler(init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,  # noqa: N802
               growth_interval: int = 2000, enabled: bool = True):
    """A disabled ``eigengrad.amp.GradScaler`` (PyTorch's on a machine without CUDA)."""
    from eigengrad.amp import GradScaler as _Scaler

    warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use `torch.amp.GradScaler('cuda', "
                  "args...)` instead.", FutureWarning, stacklevel=2)
    if enabled:
        warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.", UserWarning,
                      stacklevel=2)
    return _Scaler("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled=False)


def autocast(enabled: bool = True, dtype=None, cache_enabled: bool = True):
    """A disabled ``eigengrad.amp.autocast`` (PyTorch's on a machine without CUDA)."""
    from eigengrad.amp import autocast as _autocast

    warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use `torch.amp.autocast('cuda', "
                  "args...)` instead.", FutureWarning, stacklevel=2)
    if enabled:
        warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", UserWarning,
                      stacklevel=2)
    return _autocast("cpu", enabled=False)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """``torch.amp.custom_fwd(..., device_type='cuda')``: the forward itself (autocast changes no dtype here)."""
    from eigengrad.amp import custom_fwd as _custom_fwd

    warnings.warn("`torch.cuda.amp.custom_fwd(args...)` is deprecated. Please use `torch.amp.custom_fwd(args..., "
                  "device_type='cuda')` instead.", FutureWarning, stacklevel=2)
    return _custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd):
    """``torch.amp.custom_bwd(..., device_type='cuda')``: the backward itself."""
    from eigengrad.amp import custom_bwd as _custom_bwd

    warnings.warn("`torch.cuda.amp.custom_bwd(args...)` is deprecated. Please use `torch.amp.custom_bwd(args..., "
                  "device_type='cuda')` instead.", FutureWarning, stacklevel=2)
    return _custom_bwd(bwd, device_type="cuda")
