"""``torch.backends.mkldnn`` (oneDNN): not used by eigengrad, whose CPU kernels are its own; the flags can be
read back and set, as in PyTorch, and change nothing."""
from __future__ import annotations

enabled = True
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


__all__ = ["enabled", "deterministic", "allow_tf32", "is_available"]
