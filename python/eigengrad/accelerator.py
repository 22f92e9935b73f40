"""``torch.accelerator``'s probes: eigengrad has no accelerator (it runs on the CPU)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    """None: no accelerator (``torch.accelerator.current_accelerator()`` on a CPU-only machine)."""
    return None


def device_count() -> int:
    return 0


def synchronize(device=None) -> None:
    """No-op: CPU work is done when a call returns."""


__all__ = ["is_available", "current_accelerator", "device_count", "synchronize"]
