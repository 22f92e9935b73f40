"""``torch.cuda``'s probes as scripts call them: eigengrad runs on the CPU, so no CUDA device exists.

``is_available()`` is False and ``device_count()`` 0 (so ``device = 'cuda' if eg.cuda.is_available() else
'cpu'`` picks the CPU); seeding, synchronising and emptying the cache are harmless no-ops; asking for a
CUDA device (``current_device``, ``get_device_name``, ``set_device``) raises the CPU-only RuntimeError.
"""
from __future__ import annotations

from eigengrad._absent_device import (  # noqa: F401  (torch.cuda's probes)
    device_count, is_available, is_initialized, manual_seed, manual_seed_all, seed, seed_all,
)
from eigengrad._device import cpu_only_error


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def synchronize(device=None) -> None:
    """No-op: CPU work is done when a call returns."""


def empty_cache() -> None:
    """No-op: there is no device memory."""


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def reset_peak_memory_stats(device=None) -> None:
    """No-op: there is no device memory."""


def memory_reserved(device=None) -> int:
    return 0


def max_memory_reserved(device=None) -> int:
    return 0


def memory_stats(device=None) -> dict:
    return {}


def reset_max_memory_allocated(device=None) -> None:
    """No-op: there is no device memory."""


def get_rng_state_all() -> list:
    """The CUDA generators' states: none (PyTorch's answer without CUDA, saved in checkpoints)."""
    return []


def set_rng_state_all(new_states) -> None:
    """No-op: there is no CUDA generator (a checkpoint's saved list is ignored)."""


def set_rng_state(new_state, device="cuda") -> None:
    """No-op: there is no CUDA generator."""


def get_rng_state(device="cuda"):
    raise cpu_only_error("cuda")


def initial_seed() -> int:
    raise cpu_only_error("cuda")


def ipc_collect() -> None:
    """PyTorch's collection of CUDA IPC memory: its error without CUDA."""
    raise cpu_only_error("cuda")


def get_device_properties(device=None):
    raise cpu_only_error("cuda" if device is None else device)


def get_device_capability(device=None):
    raise cpu_only_error("cuda" if device is None else device)


def mem_get_info(device=None):
    raise cpu_only_error("cuda" if device is None else device)


def current_device() -> int:
    raise cpu_only_error("cuda")


def set_device(device) -> None:
    raise cpu_only_error(device)


def get_device_name(device=None) -> str:
    raise cpu_only_error("cuda" if device is None else device)


__all__ = ["is_available", "device_count", "is_initialized", "is_bf16_supported", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "synchronize", "empty_cache", "memory_allocated",
           "max_memory_allocated", "reset_peak_memory_stats", "current_device", "set_device", "get_device_name",
           "memory_reserved", "max_memory_reserved", "memory_stats", "reset_max_memory_allocated",
           "get_rng_state_all", "set_rng_state_all", "set_rng_state", "get_rng_state", "initial_seed",
           "get_device_properties", "get_device_capability", "mem_get_info", "ipc_collect"]


from eigengrad.cuda import amp  # noqa: E402,F401  (a submodule: `from torch.cuda.amp import ...` works)

