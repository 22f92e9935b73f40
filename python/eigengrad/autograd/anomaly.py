"""Anomaly detection (``torch.autograd.detect_anomaly`` / ``set_detect_anomaly``): find where NaN starts.

In anomaly mode every recorded primitive keeps the stack of its forward call, and with ``check_nan``
(the default) every gradient a backward returns and every forward output is tested for NaN (one
vectorised C++ scan for finiteness, ``_kernels.all_finite``, then a NaN test of what is not finite). The
first NaN raises a RuntimeError that names the primitive, which of its inputs or gradients held it, and
the user's line that called it (eigengrad's own frames are left out). Infinities pass, as in PyTorch: a
-inf attention mask, log(0) in a masked log-probability, a gradient of sqrt at 0. PyTorch checks only
the gradients; eigengrad also checks the forward outputs for NaN, so the error points at the op where
NaN starts (an op whose *input* already held NaN, e.g. a batch with a NaN pixel, says so).

The mode is process-wide, as in PyTorch. Outside it the cost is one attribute test per primitive.
"""
from __future__ import annotations

import math
import os
import traceback
import warnings

import numpy as np

from eigengrad import _kernels as K


class _State:
    enabled = False
    check_nan = True


_state = _State()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_SHOWN_FRAMES = 8  # the innermost user frames a message shows


def is_anomaly_enabled() -> bool:
    return _state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _state.check_nan


def _set(mode: bool, check_nan: bool) -> None:
    _state.enabled = bool(mode)
    _state.check_nan = bool(check_nan)


def _warn_enabled() -> None:
    warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                  "enabled for debugging.", UserWarning, stacklevel=3)


class detect_anomaly:
    """Context manager that turns anomaly detection on for its block and restores the previous mode.

    ``check_nan``: test every forward output and every gradient for NaN and raise at the first one
    (naming the op, the input or gradient, and the line of the forward call); False only records the
    forward stacks (shown by the in-place version error).
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = bool(check_nan)
        self._prev = (_state.enabled, _state.check_nan)
        _warn_enabled()

    def __enter__(self) -> "detect_anomaly":
        self._prev = (_state.enabled, _state.check_nan)
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc) -> bool:
        _set(*self._prev)
        return False


class set_detect_anomaly:
    """``set_detect_anomaly(mode, check_nan=True)`` switches anomaly detection now; used as a context
    manager it restores the previous mode on exit (as ``torch.autograd.set_detect_anomaly``)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = (_state.enabled, _state.check_nan)
        _set(mode, check_nan)

    def __enter__(self) -> "set_detect_anomaly":
        return self

    def __exit__(self, *exc) -> bool:
        _set(*self._prev)
        return False


# --- stacks -----------------------------------------------------------------------------------------

def capture_stack() -> traceback.StackSummary:
    """The current call stack, outermost frame first."""
    return traceback.extract_stack()


def _internal(frame) -> bool:
    return os.path.abspath(frame.filename).startswith(_PACKAGE_DIR)


def format_stack(stack) -> str:
    """The user's frames of ``stack`` (innermost last), and the eigengrad function the innermost one called."""
    user = [i for i, f in enumerate(stack) if not _internal(f)]
    if not user:
        return "  (no frame outside eigengrad)\n"
    last = user[-1]
    entry = stack[last + 1].name if last + 1 < len(stack) else None
    shown = [stack[i] for i in user[-_SHOWN_FRAMES:]]
    text = "".join(traceback.format_list(shown))
    return text + (f"  (which called eigengrad's {entry})\n" if entry else "")


# --- the checks -------------------------------------------------------------------------------------

def _finite(a) -> bool:
    if isinstance(a, np.ndarray):
        return K.all_finite(a)
    if isinstance(a, (float, np.floating)):
        return math.isfinite(a)
    return True


def _nan_free(a) -> bool:
    """No NaN in ``a`` (infinities allowed, as PyTorch's anomaly mode allows them)."""
    if _finite(a):
        return True
    return not bool(np.isnan(np.asarray(a)).any())


def describe(a) -> str:
    """What is not finite in ``a``: counts of nan, +inf and -inf among its elements."""
    a = np.asarray(a)
    counts = [(int(np.count_nonzero(np.isnan(a))), "nan"), (int(np.count_nonzero(a == np.inf)), "+inf"),
              (int(np.count_nonzero(a == -np.inf)), "-inf")]
    parts = [f"{n} {kind}" for n, kind in counts if n]
    return f"{' and '.join(parts)} among {a.size} element{'s' if a.size != 1 else ''} of shape {a.shape}"


def check_forward(name: str, out, inputs: list) -> None:
    """Raise when the output of primitive ``name`` holds NaN, saying whether an input already did."""
    if not isinstance(out, np.ndarray) or out.dtype.kind != "f" or _nan_free(out):
        return
    bad = [i for i, a in enumerate(inputs) if not _nan_free(a)]
    if bad:
        cause = "; ".join(f"its input {i} already held NaN ({describe(inputs[i])})" for i in bad)
        cause = cause[0].upper() + cause[1:] + ", so it comes from before this op (the data, or a tensor made " \
            "outside anomaly mode)."
    else:
        cause = f"Its inputs held no NaN: the NaN starts at {name}."
    raise RuntimeError(f"Function '{name}' returned NaN values in its forward output ({describe(out)}). "
                       f"{cause}\nThe forward call was:\n{format_stack(capture_stack())}")


def check_backward(ctx, grads: tuple) -> None:
    """Raise when a gradient returned by ``ctx``'s backward holds NaN (PyTorch's message, plus the forward
    call that recorded ``ctx``); infinities pass, as in PyTorch."""
    for i, g in enumerate(grads):
        if g is None or _nan_free(g):
            continue
        kind = "nan"
        where = (f"The forward call that created {ctx.name} was:\n{format_stack(ctx.stack)}" if ctx.stack is not None
                 else f"({ctx.name} was recorded before anomaly detection was turned on: no forward stack.)\n")
        # PyTorch's engine warns with the forward stack of the node whose backward failed, then raises
        warnings.warn(f"Error detected in {ctx.name()}. Traceback of forward call that caused the error:\n"
                      f"{format_stack(ctx.stack) if ctx.stack is not None else '  (recorded before anomaly mode)'}",
                      UserWarning, stacklevel=2)
        raise RuntimeError(f"Function '{ctx.name()}' returned {kind} values in its {i}th output (the gradient "
                           f"for its input {i}: {describe(g)}).\n{where}")
