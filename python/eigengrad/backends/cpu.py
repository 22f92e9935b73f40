"""The CPU backend: which instruction-set level eigengrad's kernels run at (``torch.backends.cpu``'s name)."""
from __future__ import annotations

from eigengrad import _kernels


def get_cpu_capability() -> str:
    """The level of the kernels in use: ``"baseline"`` (x86-64-v2), ``"avx2"`` (x86-64-v3) or ``"avx512"``
    (x86-64-v4); ``"native"`` for a host-only build, ``"generic"`` off x86-64.

    The level is chosen once, at import: the highest one that both the CPU and the OS support, unless the
    environment variable ``EIGENGRAD_ISA`` names one. ``eigengrad.show_config()`` says why.
    """
    return _kernels.cpu_capability()
