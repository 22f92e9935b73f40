"""torch.linalg.LinAlgError and the *_ex forms (cholesky_ex, inv_ex, solve_ex), PyTorch's values written out."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg


def test_linalg_errors_are_pytorchs_linalg_error():
    """A script's ``except torch.linalg.LinAlgError`` (a RuntimeError) catches them; NumPy's LinAlgError and
    ValueError still do."""
    not_pd = eg.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=eg.float64)
    singular = eg.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=eg.float64)
    cases = [(lambda: eg.linalg.cholesky(not_pd), "leading minor of order 2"),
             (lambda: eg.linalg.inv(singular), "diagonal element 2 is zero"),
             (lambda: eg.linalg.solve(singular, eg.ones(2, dtype=eg.float64)), "input matrix is singular")]
    for call, message in cases:
        with pytest.raises(eg.linalg.LinAlgError, match=message) as info:
            call()
        assert isinstance(info.value, (RuntimeError, np.linalg.LinAlgError, ValueError))


def test_ex_forms_give_lapacks_info_per_matrix():
    f64 = dict(dtype=eg.float64)
    a = eg.tensor([[[4.0, 2.0], [2.0, 3.0]], [[1.0, 2.0], [2.0, 1.0]]], **f64)
    low, info = eg.linalg.cholesky_ex(a)
    assert info.tolist() == [0, 2] and info.dtype == eg.int32  # PyTorch's
    assert low[0].tolist() == [[2.0, 0.0], [1.0, 2.0 ** 0.5]]
    s = eg.tensor([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 0.0], [0.0, 3.0]]], **f64)
    inverse, info = eg.linalg.inv_ex(s)
    assert info.tolist() == [2, 0] and inverse[1].tolist() == [[0.5, 0.0], [0.0, 1 / 3]]
    result, info = eg.linalg.solve_ex(s, eg.tensor([[1.0, 2.0], [3.0, 4.0]], **f64))
    assert info.tolist() == [2, 0] and result[1].tolist() == [1.5, 4 / 3] and tuple(result.shape) == (2, 2)
    with pytest.raises(eg.linalg.LinAlgError):
        eg.linalg.cholesky_ex(a, check_errors=True)
    x = eg.tensor([[4.0, 2.0], [2.0, 3.0]], dtype=eg.float64, requires_grad=True)
    low, info = eg.linalg.cholesky_ex(x)  # all factor: the plain (differentiable) result
    low.sum().backward()
    assert info.item() == 0 and x.grad is not None
