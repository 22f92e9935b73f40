"""``torch.mps`` (Apple's Metal) as scripts call it (``torch.mps.manual_seed(s)`` after
``torch.backends.mps.is_available()``): no MPS device exists (eigengrad runs on the CPU), so seeding is a no-op
and what needs the device raises the CPU-only error."""
from __future__ import annotations

from eigengrad._absent_device import device_count, is_available, manual_seed, seed  # noqa: F401
from eigengrad._device import cpu_only_error

__all__ = ["is_available", "device_count", "manual_seed", "seed", "synchronize", "empty_cache",
           "current_allocated_memory", "driver_allocated_memory"]


def synchronize() -> None:
    raise cpu_only_error("mps")


def empty_cache() -> None:
    raise cpu_only_error("mps")


def current_allocated_memory() -> int:
    raise cpu_only_error("mps")


def driver_allocated_memory() -> int:
    raise cpu_only_error("mps")
