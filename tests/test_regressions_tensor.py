"""Tensor and autograd behaviour that randomized comparisons with PyTorch found wrong, each checked against
PyTorch's result written out (these run without torch)."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg


@pytest.mark.parametrize("dtype", [eg.float32, eg.float64, eg.int64])
def test_sign_of_a_zero_d_tensor(dtype):
    """A 0-d input made NumPy's sign return a scalar, which the NaN fix-up could not write (a TypeError)."""
    for v, want in ((-2, -1), (0, 0), (3, 1)):
        s = eg.tensor(v, dtype=dtype).sign()
        assert s.shape == () and s.dtype == dtype and s.item() == want
    assert eg.tensor(float("nan")).sign().item() == 0.0
    x = eg.tensor(-1.5, dtype=eg.float64, requires_grad=True)
    x.abs().backward()
    assert x.grad.item() == -1.0
