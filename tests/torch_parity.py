"""Shared by the PyTorch parity tests: relative agreement of eigengrad's and torch's arrays."""
import numpy as np

import eigengrad as eg


def as_float64(x) -> np.ndarray:
    """An eigengrad Tensor, a torch tensor (detached) or an array, as a float64 NumPy array."""
    if isinstance(x, eg.Tensor):
        x = x.detach().numpy()
    elif hasattr(x, "detach"):
        x = x.detach().numpy()
    return np.asarray(x, dtype=np.float64)


def make_assert_rel(tol: dict):
    """``assert_rel(actual, expected, dtype, what="", scale=None)``: max |actual - expected| over ``scale``
    (default max |expected|) at most ``tol[dtype]``, shapes equal."""
    def assert_rel(actual, expected, dtype, what="", scale=None):
        actual, expected = as_float64(actual), as_float64(expected)
        assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
        if expected.size == 0:
            return
        ref = scale if scale is not None else max(float(np.max(np.abs(expected))), 1e-30)
        err = float(np.max(np.abs(actual - expected))) / ref
        assert err <= tol[dtype], f"{what}: relative error {err:.3e} > {tol[dtype]:.0e}"
    return assert_rel
