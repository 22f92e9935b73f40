"""``torch.backends.mps``: Apple's Metal backend does not exist in eigengrad (it runs on the CPU)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False


__all__ = ["is_available", "is_built"]
