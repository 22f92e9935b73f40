"""The CPU backend (``torch.backends.cpu``'s name): which instruction-set level eigengrad's kernels run at, and
the cache of large buffers that the kernels' outputs recycle."""
from __future__ import annotations

import operator

from eigengrad import _kernels, _memory


def get_cpu_capability() -> str:
    """The level of the kernels in use: ``"baseline"`` (x86-64-v2), ``"avx2"`` (x86-64-v3) or ``"avx512"``
    (x86-64-v4); ``"native"`` for a host-only build, ``"generic"`` off x86-64.

    The level is chosen once, at import: the highest one that both the CPU and the OS support, unless the
    environment variable ``EIGENGRAD_ISA`` names one. ``eigengrad.show_config()`` says why.
    """
    return _kernels.cpu_capability()


# --- the recycling of large array buffers (eigengrad._memory) -------------------------------------------------
#
# The kernels' outputs of 256 KiB or more take their buffer from a cache of the buffers that earlier outputs
# freed (rounded to 4 KiB). A training step allocates the same activations and gradients every step; fresh
# pages would each cost a page fault and a zeroing on first write (at batch 1024 the MLP step took ~2,300 faults
# and ~3 ms of 16 ms for them). The arrays are ordinary ones that own their memory; the user's own NumPy arrays
# never use the cache. The kernels' own scratch of that size (a Winograd convolution's transformed tiles, ...)
# comes from the same cache during a call and goes back to it (cpp/include/eigengrad/scratch.hpp).


def empty_cache() -> None:
    """Return every cached free buffer to the operating system (``torch.cuda.empty_cache``'s name). Arrays
    in use keep their memory."""
    _memory.empty_cache()


def set_cache_limit(nbytes: int) -> None:
    """Keep at most ``nbytes`` bytes of free buffers (default 512 MiB); beyond it the least recently freed go
    back to the operating system. ``0`` turns the recycling off."""
    if isinstance(nbytes, bool) or not hasattr(nbytes, "__index__"):
        raise TypeError(f"nbytes: expected an int, got {type(nbytes).__name__}")
    nbytes = operator.index(nbytes)
    if nbytes < 0:
        raise ValueError(f"nbytes: expected a size >= 0, got {nbytes}")
    _memory.set_limit(min(nbytes, 2 ** 63 - 1))


def memory_stats() -> dict:
    """The cache's counters: ``cached_bytes`` and ``cached_buffers`` (free, kept), ``live_buffers`` (held by
    arrays, or by a kernel's scratch while it runs), ``limit_bytes``, and ``hits``/``misses`` of the allocations
    it served."""
    return _memory.stats()
