"""Errors that are PyTorch's and eigengrad's at once. PyTorch raises RuntimeError for a bad shape, size or
dtype; eigengrad's convention (and Python's) is ValueError for a bad value and TypeError for a bad type.
These classes are both, so ``except RuntimeError`` in code written for PyTorch and ``except ValueError`` /
``except TypeError`` in code written for eigengrad catch them alike."""
from __future__ import annotations


class ArgumentError(RuntimeError, ValueError):
    """A bad value, shape or size of an argument (PyTorch's RuntimeError, and a ValueError)."""


class ArgumentTypeError(RuntimeError, TypeError):
    """A bad dtype or type of an argument (PyTorch's RuntimeError, and a TypeError)."""


class DtypeNotSupportedError(ArgumentTypeError, NotImplementedError):
    """A dtype an operation has no kernel for (PyTorch's NotImplementedError "... not implemented for 'Bool'",
    and a TypeError)."""


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
