"""Marks tests that need the real Fashion-MNIST files (CI installs Debian's dataset-fashion-mnist)."""
import pytest

import eigengrad as eg


def fashion_mnist_missing() -> str | None:
    """Why the Fashion-MNIST test set cannot be loaded (the loader's message: the places it tried and how
    to get the files), or None when it loads. Loading it also catches truncated or corrupt files."""
    try:
        eg.datasets.fashion_mnist(train=False)
    except FileNotFoundError as e:
        return str(e)
    return None


_MISSING = fashion_mnist_missing()
needs_fashion_mnist = pytest.mark.skipif(_MISSING is not None, reason=f"Fashion-MNIST is not installed: {_MISSING}")
