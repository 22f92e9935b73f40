"""Errors that are PyTorch's and eigengrad's at once. PyTorch raises RuntimeError for a bad shape, size or
dtype; eigengrad's convention (and Python's) is ValueError for a bad value and TypeError for a bad type.
These classes are both, so ``except RuntimeError`` in code written for PyTorch and ``except ValueError`` /
``except TypeError`` in code written for eigengrad catch them alike."""
from __future__ import annotations


class ArgumentError(RuntimeError, ValueError):
    """A bad value, shape or size of an argument (PyTorch's RuntimeError, and a ValueError)."""


class ArgumentTypeError(RuntimeError, TypeError):
    """A bad dtype or type of an argument (PyTorch's RuntimeError, and a TypeError)."""


# Where PyTorch raises another class than RuntimeError, the error is that class too:

class ArgumentIndexError(ArgumentError, IndexError):
    """An index out of range: PyTorch's IndexError (a class index, a dim), or its RuntimeError where a kernel
    checks it (embedding_bag); and a ValueError."""


class ArgumentAssertionError(ArgumentError, AssertionError):
    """A bad shape or size where PyTorch's Python code asserts (multi-head attention)."""


class ArgumentTypeAssertionError(ArgumentTypeError, AssertionError):
    """A bad dtype where PyTorch's Python code asserts (an attention mask neither bool nor float)."""


class ArgumentNotSupportedError(ArgumentError, NotImplementedError):
    """A mode, or a rank for a mode, that the operation does not have (PyTorch's NotImplementedError)."""


class DtypeNotSupportedError(ArgumentTypeError, NotImplementedError):
    """A dtype an operation has no kernel for (PyTorch's NotImplementedError "... not implemented for 'Bool'")."""


class TypeValueError(TypeError, ValueError):
    """A bad type where PyTorch's Python code raises ValueError (a float ``T_0`` or ``total_steps``, a str
    ``eta_min`` or ``pct_start`` of a scheduler): PyTorch's ValueError, and a TypeError."""


class DtypeMismatchError(ArgumentTypeError, ValueError):
    """An input whose dtype is not the parameters' (PyTorch's recurrent layers raise ValueError, its cells
    RuntimeError)."""


def as_argument_error(e: Exception) -> Exception:
    """A plain ValueError or TypeError (an argument check) as the ArgumentError or ArgumentTypeError with its
    message: PyTorch raises RuntimeError there, and these are both."""
    return (ArgumentError if isinstance(e, ValueError) else ArgumentTypeError)(*e.args)


def argument_errors(fn):
    """``fn`` with a plain ValueError (a binding's bound check, NumPy's broadcast) raised as ArgumentError."""
    import functools

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as e:
            if isinstance(e, RuntimeError):
                raise
            raise as_argument_error(e) from e
    return wrapped


def _numpy_linalg_error() -> type:
    import numpy as np

    return np.linalg.LinAlgError


class LinAlgError(RuntimeError, _numpy_linalg_error()):
    """``torch.linalg.LinAlgError``: a singular or not positive-definite matrix (PyTorch's RuntimeError, and
    NumPy's LinAlgError, a ValueError)."""


def user_stacklevel() -> int:
    """The ``warnings.warn`` stacklevel of the first caller outside eigengrad (for the function that calls
    this one), so that a warning raised deep in a backward pass or a scheduler points at the script's line."""
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    level, frame = 2, sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level
