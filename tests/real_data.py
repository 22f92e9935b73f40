"""Marks tests that need the real Fashion-MNIST files (CI installs Debian's dataset-fashion-mnist)."""
import pytest

import eigengrad as eg


def fashion_mnist_installed() -> bool:
    try:
        eg.datasets.fashion_mnist(train=False)
        return True
    except FileNotFoundError:
        return False


needs_fashion_mnist = pytest.mark.skipif(
    not fashion_mnist_installed(),
    reason="Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or set EIGENGRAD_DATA)")
