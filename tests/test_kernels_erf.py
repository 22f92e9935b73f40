"""The error-function kernels (cpp/src/erf.cpp) against their reference (Python's math.erf/erfc per
element; erfinv by bisection): float32 and float64, odd and zero sizes, non-contiguous input, the special
values, in-place output, bad arguments, and the same bits on 1 and 2 threads."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels as K, reference as ref
from eigengrad._kernels import _C

KINDS = ("erf", "erfc", "erfinv")
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 0.4999999, 1 - 1e-16, -1 + 1e-16, 1e-300, 5e-324, 2.0, -3.0,
                    6.0, 27.0, -27.0, np.inf, -np.inf, np.nan])


def _inputs(kind, rng, shape, dtype):
    x = rng.uniform(-1, 1, shape) if kind == "erfinv" else rng.standard_normal(shape) * 3
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (13, 17), (3, 0, 2), (100_003,)])
def test_matches_reference(kind, shape, dtype):
    x = _inputs(kind, np.random.default_rng(sum(shape) + len(kind)), shape, dtype)
    got, want = K.erf_forward(kind, x), ref.erf_forward(kind, x)
    assert got.dtype == dtype and got.shape == x.shape
    if kind == "erfinv":  # bisection vs Newton: the same value to a few ulps of double, then one rounding
        np.testing.assert_allclose(got, want, rtol=4e-15 if dtype == np.float64 else 1e-7, atol=0)
    else:  # the same C library function, rounded once
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_special_values(kind):
    got, want = K.erf_forward(kind, SPECIAL), ref.erf_forward(kind, SPECIAL)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=4e-15, atol=0)
    np.testing.assert_array_equal(np.signbit(got[:2]), np.signbit(want[:2]))  # erf(-0) = -0


@pytest.mark.parametrize("kind", KINDS)
def test_non_contiguous_and_in_place(kind):
    x = _inputs(kind, np.random.default_rng(1), (9, 14), np.float64)
    view = x.T[::2]
    np.testing.assert_array_equal(K.erf_forward(kind, view), K.erf_forward(kind, np.ascontiguousarray(view)))
    np.testing.assert_allclose(K.erf_forward(kind, view), ref.erf_forward(kind, view), rtol=4e-15, atol=0)
    y = x.copy()
    getattr(_C, kind)(y, y)  # out may be x
    np.testing.assert_array_equal(y, K.erf_forward(kind, x))


def test_other_dtypes_go_through_float64():
    x = np.array([0.25, -0.5], np.float16)
    np.testing.assert_array_equal(K.erf_forward("erf", x), ref.erf_forward("erf", x))


@pytest.mark.parametrize("kind", KINDS)
def test_bad_arguments_are_refused(kind):
    x = np.zeros(4)
    with pytest.raises((TypeError, ValueError), match="out"):
        getattr(_C, kind)(x, np.zeros(5))
    with pytest.raises((TypeError, ValueError), match="out"):
        getattr(_C, kind)(x, np.zeros(4, np.float32))
    with pytest.raises((TypeError, ValueError)):
        getattr(_C, kind)(np.zeros(4, np.int64), np.zeros(4, np.int64))


@pytest.mark.parametrize("kind", KINDS)
def test_same_bits_on_one_and_two_threads(kind):
    x = _inputs(kind, np.random.default_rng(2), (300_001,), np.float64)
    before = eg.get_num_threads()
    try:
        eg.set_num_threads(1)
        one = K.erf_forward(kind, x)
        eg.set_num_threads(2)
        two = K.erf_forward(kind, x)
    finally:
        eg.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
