"""Datasets shipped with eigengrad or read from standard locations."""
from eigengrad.datasets.digits import Digits, load_digits

__all__ = ["Digits", "load_digits"]
