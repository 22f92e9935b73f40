"""Threads and build configuration."""
from __future__ import annotations

import operator
import sys

from eigengrad import _kernels


def set_num_threads(n: int) -> None:
    """Set the number of threads eigengrad's kernels use (like ``torch.set_num_threads``).

    Only eigengrad's kernels are affected; OpenMP's global setting and other libraries are left alone.
    """
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"n: expected an int, got {type(n).__name__}") from None
    if n < 1:
        raise ValueError(f"n: expected a thread count >= 1, got {n}")
    _kernels.set_num_threads(n)


def get_num_threads() -> int:
    """Threads the next kernel will use: the value of :func:`set_num_threads`, else OpenMP's default
    (``OMP_NUM_THREADS`` or the core count), read when the kernel runs; 1 in a build without OpenMP."""
    return _kernels.get_num_threads()


def get_config() -> dict:
    """The build's configuration as a dict: version, Eigen, OpenMP, compiler, dtypes, threads, and the
    instruction-set levels (``isa_levels`` built, ``isa`` in use, ``isa_reason`` why, ``isa_supported`` by
    this CPU, ``cpu`` its model)."""
    from eigengrad import _isa

    choice = _kernels.isa_choice
    info = dict(_kernels.build_info)
    info.update(threads=get_num_threads(), threads_backing_off=_kernels.threads_backing_off(),
                threads_backoffs=_kernels.threads_backoffs(), isa=choice.level, isa_reason=choice.reason,
                isa_levels=list(choice.built), isa_supported=list(choice.supported), cpu=_isa.cpu_model())
    return info


def show_config(file=None) -> None:
    """Print how this eigengrad was built and runs here: version, Eigen, OpenMP, the instruction-set levels
    built, the one in use and why, SIMD, threads."""
    import numpy as np

    c = get_config()
    lines = [
        f"eigengrad {c['version']}",
        f"  Eigen:     {c['eigen_version']} ({c['eigen_source']})",
        f"  OpenMP:    {'yes' if c['openmp'] else 'no (kernels run on one thread)'}",
        f"  CPU:       {c['cpu']}",
        f"  levels:    built {', '.join(c['isa_levels'])}; this CPU supports {', '.join(c['isa_supported']) or '-'}",
        f"  in use:    {c['isa']} ({c['isa_reason']})",
        f"  SIMD:      {c['simd']} (Eigen: {c['eigen_simd']})",
        f"  threads:   {c['threads']}" + (f" (went to one thread {c['threads_backoffs']} times on stalls)"
                                          if c['threads_backoffs'] else ""),
        f"  compiler:  {c['compiler']}",
        f"  dtypes:    {', '.join(c['dtypes'])}",
        f"  NumPy:     {np.__version__}",
        f"  Python:    {sys.version.split()[0]}",
    ]
    print("\n".join(lines), file=file or sys.stdout)
