"""``torch.autograd.profiler``, the older spelling of ``torch.profiler`` that tutorials time training with
(``with torch.autograd.profiler.profile() as prof:``, ``record_function``): eigengrad.profiler's regions.
``emit_nvtx`` and ``emit_itt`` (markers for NVIDIA's and Intel's tools) do nothing here."""
from __future__ import annotations

import contextlib

from eigengrad.profiler import profile, record_function

__all__ = ["profile", "record_function", "emit_nvtx", "emit_itt"]


@contextlib.contextmanager
def emit_nvtx(enabled: bool = True, record_shapes: bool = False):
    """No-op: there is no NVTX (CUDA) range to emit on the CPU."""
    yield


@contextlib.contextmanager
def emit_itt(enabled: bool = True, record_shapes: bool = False):
    """No-op: eigengrad emits no ITT (VTune) ranges."""
    yield
