"""``torch.cpu.amp`` (deprecated in PyTorch for ``torch.amp``): ``autocast(dtype=bfloat16, enabled=True,
cache_enabled=True)`` is ``torch.amp.autocast("cpu", ...)`` and ``GradScaler(...)`` is ``torch.amp.GradScaler("cpu",
...)`` (see :mod:`eigengrad.amp`), each with PyTorch's FutureWarning."""
from __future__ import annotations

import warnings

from eigengrad import amp as _amp
from eigengrad._errors import user_stacklevel


class autocast(_amp.autocast):  # noqa: N801
    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True) -> None:
        warnings.warn("`torch.cpu.amp.autocast(args...)` is deprecated. Please use `torch.amp.autocast('cpu', "
                      "args...)` instead.", FutureWarning, stacklevel=user_stacklevel())
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        warnings.warn("`torch.cpu.amp.GradScaler(args...)` is deprecated. Please use `torch.amp.GradScaler('cpu', "
                      "args...)` instead.", FutureWarning, stacklevel=user_stacklevel())
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
