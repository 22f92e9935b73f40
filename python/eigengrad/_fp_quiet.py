"""NumPy's floating-point exception warnings, off while eigengrad's own operations compute.

PyTorch's elementwise math follows IEEE 754 silently: log(0) is -inf, sqrt(-1) and 0/0 are NaN, 1/0 is inf,
inf - inf is NaN, with no warning. NumPy's ufuncs return the same values but also warn ("divide by zero
encountered in log"), which floods a training log and fails a test suite that turns warnings into errors.
So every primitive's forward (autograd/function.py) and each backward pass (autograd/engine.py: the nodes'
formulas, the gradients' sums and accumulation, and the hooks that run among them) run with NumPy's errors
ignored, and the caller's state is restored right after: a user's own NumPy code, before or after an
eigengrad call, warns as configured (``np.errstate`` and the warning filters are untouched outside
eigengrad's computation).

The switch costs ~0.25 us an op: NumPy 2 keeps the error state in a context variable, which is set to a
prepared state and reset (NumPy 1 keeps it in a thread-local object: ``geterrobj``/``seterrobj``);
``np.errstate`` itself cost ~2 us a call. Both are thread-safe (the state is per thread and per context).
"""
from __future__ import annotations

import numpy as np

try:  # NumPy >= 2
    from numpy._core._ufunc_config import _extobj_contextvar as _STATE

    with np.errstate(all="ignore"):
        _QUIET = _STATE.get()

    def enter():
        """Ignore NumPy's floating-point errors; returns what :func:`leave` needs to restore them."""
        return _STATE.set(_QUIET)

    def leave(token) -> None:
        _STATE.reset(token)

except ImportError:
    if hasattr(np, "geterrobj"):  # NumPy 1.x
        with np.errstate(all="ignore"):
            _QUIET = np.geterrobj()

        def enter():
            previous = np.geterrobj()
            np.seterrobj(_QUIET)
            return previous

        def leave(token) -> None:
            np.seterrobj(token)

    else:  # a NumPy whose internals moved: the public context manager (~2 us)

        def enter():
            state = np.errstate(all="ignore")
            state.__enter__()
            return state

        def leave(token) -> None:
            token.__exit__(None, None, None)
