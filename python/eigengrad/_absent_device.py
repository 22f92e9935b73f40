"""The answers ``torch.cuda``, ``torch.xpu`` and ``torch.mps`` give about a device that is not there, shared by
eigengrad's three modules of those names (it runs on the CPU): not available, no device, nothing initialised,
and seeding is a no-op (``eg.manual_seed`` seeds eigengrad's own generator)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No-op: the device has no generator."""


def manual_seed_all(seed: int) -> None:
    """No-op: the device has no generator."""


def seed() -> None:
    """No-op: the device has no generator."""


def seed_all() -> None:
    """No-op: the device has no generator."""
