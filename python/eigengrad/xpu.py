"""``torch.xpu`` (Intel GPUs) as device-selection code probes it: no XPU device exists (eigengrad runs on the
CPU), so ``is_available()`` is False, seeding is a no-op, and what needs a device raises the CPU-only error."""
from __future__ import annotations

from eigengrad._absent_device import (  # noqa: F401  (torch.xpu's probes)
    device_count, is_available, is_initialized, manual_seed, manual_seed_all,
)
from eigengrad._device import cpu_only_error

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all", "empty_cache",
           "synchronize", "current_device"]


def empty_cache() -> None:
    """No-op: there is no device memory."""


def synchronize(device=None) -> None:
    raise cpu_only_error("xpu")


def current_device() -> int:
    raise cpu_only_error("xpu")
