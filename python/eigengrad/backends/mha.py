"""``torch.backends.mha``: the switch of PyTorch's fused MultiheadAttention inference path. eigengrad's
MultiheadAttention always runs its own kernels; the flag is kept so scripts can set and read it."""
from __future__ import annotations

_FASTPATH = [True]


def get_fastpath_enabled() -> bool:
    return _FASTPATH[0]


def set_fastpath_enabled(value: bool) -> None:
    _FASTPATH[0] = bool(value)


__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]
