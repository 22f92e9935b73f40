"""``torch.cpu.amp``: ``autocast(dtype=bfloat16, enabled=True, cache_enabled=True)`` is ``torch.amp.autocast("cpu",
...)`` (see :mod:`eigengrad.amp`), and ``GradScaler`` is torch.amp's."""
from __future__ import annotations

from eigengrad import amp as _amp
from eigengrad.amp import GradScaler  # noqa: F401


class autocast(_amp.autocast):  # noqa: N801
    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True) -> None:
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
