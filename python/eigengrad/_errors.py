"""Errors that are PyTorch's and eigengrad's at once. PyTorch raises RuntimeError for a bad shape, size or
dtype; eigengrad's convention (and Python's) is ValueError for a bad value and TypeError for a bad type.
These classes are both, so ``except RuntimeError`` in code written for PyTorch and ``except ValueError`` /
``except TypeError`` in code written for eigengrad catch them alike."""
from __future__ import annotations


class ArgumentError(RuntimeError, ValueError):
    """A bad value, shape or size of an argument (PyTorch's RuntimeError, and a ValueError)."""


class ArgumentTypeError(RuntimeError, TypeError):
    """A bad dtype or type of an argument (PyTorch's RuntimeError, and a TypeError)."""
