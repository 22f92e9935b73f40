"""dtype rules and grad-mode forms that follow PyTorch rather than NumPy."""
import numpy as np

import eigengrad as eg


def test_integer_tensor_with_python_float_gives_float32():
    assert (eg.tensor([1, 2]) * 2.5).dtype == np.float32
    assert (2.5 + eg.tensor([1, 2])).dtype == np.float32
    assert (eg.tensor([True, False]) * 0.5).dtype == np.float32
    np.testing.assert_allclose((eg.tensor([1, 2]) / 2.0).numpy(), [0.5, 1.0])
    assert (eg.tensor([1, 2]) * 3).dtype == np.int64


def test_numpy_scalars_are_weak_like_python_scalars():
    x = eg.tensor([1.0, 2.0])
    assert (x + np.float64(1.5)).dtype == np.float32
    assert (np.float64(2.0) * x).dtype == np.float32
    assert eg.tensor(np.float64(3)).dtype == np.float64  # a NumPy scalar keeps its dtype in eg.tensor
    assert eg.tensor(3.0).dtype == np.float32


def test_full_infers_dtype_from_fill_value():
    assert eg.full((2,), 3).dtype == np.int64
    assert eg.full((2,), 3.0).dtype == np.float32
    assert eg.full((2,), True).dtype == np.bool_
    assert eg.full(3, 1.0, dtype=eg.float64).dtype == np.float64


def test_set_grad_enabled_as_function_and_context_manager():
    x = eg.ones(2, requires_grad=True)
    with eg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert eg.is_grad_enabled() and (x * 2).requires_grad
    eg.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        eg.set_grad_enabled(True)
    with eg.no_grad():
        with eg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
