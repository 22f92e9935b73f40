"""The gradient-clipping kernels (eigengrad._kernels.grad_norm / clip_grad_norm / scale_grads /
clip_grad_value over lists of arrays) against eigengrad.reference, bitwise determinism across thread
counts and splits, and the argument checks of the bindings."""
import math

import numpy as np
import pytest

import eigengrad
from conftest import RTOL, assert_close
from eigengrad import _kernels
from eigengrad._kernels import _C
from eigengrad import reference as ref

NORM_TYPES = [1.0, 2.0, 3.5, math.inf]
# 0, 1, primes, and > 1e6 elements (about 31 chunks of 2^15: several per thread)
SIZES = [0, 1, 7, 31, 8191, 100003, 1_000_003]


def grads_of(rng, sizes, dtype, scale=1.0):
    return [(scale * rng.standard_normal(n)).astype(dtype) for n in sizes]


def norm_close(actual: float, expected: float, dtype) -> None:
    assert math.isclose(actual, expected, rel_tol=RTOL[dtype], abs_tol=1e-300), (actual, expected)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_norm_of_one_array_matches_reference(rng, dtype, n, norm_type):
    g = grads_of(rng, [n], dtype)
    before = g[0].copy()
    norm_close(_kernels.grad_norm(g, norm_type), ref.grad_norm(g, norm_type), dtype)
    np.testing.assert_array_equal(g[0], before)  # measuring reads only


@pytest.mark.parametrize("norm_type", NORM_TYPES + [0.0, -math.inf, -1.5, 0.5])
def test_norm_of_many_odd_arrays_matches_reference(rng, dtype, norm_type):
    sizes = [3, 0, 1, 17, 8, 65537, 2, 0, 101, 32768, 32769, 5]
    g = grads_of(rng, sizes, dtype)
    g[3][4] = 0  # a zero matters for p = 0, -inf and negative p
    norm_close(_kernels.grad_norm(g, norm_type), ref.grad_norm(g, norm_type), dtype)


@pytest.mark.parametrize("sizes", [[1_000_003], [5, 65541, 2], [0, 0], [1], [13, 7, 31]])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm, scale", [(1.0, 1.0), (1e6, 1.0), (0.5, 1e-6)], ids=["clipped", "not", "tiny"])
def test_clip_grad_norm_matches_reference(rng, dtype, sizes, norm_type, max_norm, scale):
    g = grads_of(rng, sizes, dtype, scale)
    expected = [a.copy() for a in g]
    expected_norm = ref.clip_grad_norm(expected, max_norm, norm_type)
    norm = _kernels.clip_grad_norm(g, max_norm, norm_type)
    norm_close(norm, expected_norm, dtype)
    for a, e in zip(g, expected):
        assert a.dtype == np.dtype(dtype)
        assert_close(a, e, dtype)
    if sum(sizes) and max_norm < expected_norm:
        norm_close(ref.grad_norm(g, norm_type), max_norm, np.float32)  # clipped to max_norm (1e-6 aside)


def test_not_clipped_means_unchanged_bits(rng, dtype):
    g = grads_of(rng, [100, 7], dtype)
    before = [a.copy() for a in g]
    _kernels.clip_grad_norm(g, 1e9, 2.0)  # coefficient clamped to exactly 1
    for a, b in zip(g, before):
        np.testing.assert_array_equal(a, b)


def test_clip_exact_values(dtype):
    a, b = np.array([3.0, 0.0], dtype), np.array([4.0], dtype)
    assert _kernels.clip_grad_norm([a, b], 1.0, 2.0) == 5.0
    coef = dtype(1.0) / (dtype(5.0) + dtype(1e-6))
    np.testing.assert_array_equal(a, np.array([3.0, 0.0], dtype) * coef)
    np.testing.assert_array_equal(b, np.array([4.0], dtype) * coef)
    assert _kernels.grad_norm([np.array([-7.0, 2.0], dtype)], math.inf) == 7.0
    assert _kernels.grad_norm([np.array([-7.0, 2.0], dtype)], 1.0) == 9.0
    assert _kernels.grad_norm([np.array([-7.0, 0.0], dtype), np.array([1.0], dtype)], 0.0) == 2.0
    assert _kernels.grad_norm([np.array([-7.0, 2.0], dtype)], -math.inf) == 2.0
    assert _kernels.grad_norm([], 2.0) == 0.0
    assert _kernels.grad_norm([np.zeros(0, dtype)], math.inf) == 0.0


def test_multidimensional_arrays(rng, dtype):
    g = [rng.standard_normal((13, 31)).astype(dtype), rng.standard_normal((2, 3, 5)).astype(dtype)]
    e = [a.copy() for a in g]
    norm_close(_kernels.clip_grad_norm(g, 0.1, 2.0), ref.clip_grad_norm(e, 0.1, 2.0), dtype)
    for a, b in zip(g, e):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("sizes", [[1_000_003], [4, 0, 77, 123457]])
def test_clip_grad_value_matches_reference(rng, dtype, sizes):
    g = grads_of(rng, sizes, dtype)
    e = [a.copy() for a in g]
    _kernels.clip_grad_value(g, 0.5)
    ref.clip_grad_value(e, 0.5)
    for a, b in zip(g, e):
        np.testing.assert_array_equal(a, b)  # a clamp is exact
        if a.size:
            assert a.max() == dtype(0.5) and a.min() == dtype(-0.5)


def test_clip_value_keeps_nan_and_zero_value_zeroes(dtype):
    g = np.array([np.nan, 2.0, -3.0, 0.25], dtype)
    _kernels.clip_grad_value([g], 1.0)
    np.testing.assert_array_equal(g, np.array([np.nan, 1.0, -1.0, 0.25], dtype))
    _kernels.clip_grad_value([g], 0.0)
    np.testing.assert_array_equal(g, np.array([np.nan, 0.0, 0.0, 0.0], dtype))


def test_scale_grads(rng, dtype):
    g = grads_of(rng, [5, 0, 40000], dtype)
    e = [a * dtype(0.25) for a in g]
    _kernels.scale_grads(g, 0.25)
    for a, b in zip(g, e):
        np.testing.assert_array_equal(a, b)


# --- non-finite gradients ------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_nonfinite_norm(dtype, bad, norm_type):
    g = np.array([1.0, bad, 2.0], dtype)
    norm = _kernels.clip_grad_norm([g.copy()], 1.0, norm_type, scale_if_nonfinite=False)
    assert math.isnan(norm) if (bad != bad) else math.isinf(norm)
    kept = g.copy()
    _kernels.clip_grad_norm([kept], 1.0, norm_type, scale_if_nonfinite=False)
    np.testing.assert_array_equal(kept, g)  # left alone
    _kernels.clip_grad_norm([kept], 1.0, norm_type)  # scaled by 0 or NaN, as PyTorch
    assert math.isnan(kept[1])
    if bad == np.inf:
        np.testing.assert_array_equal(kept[[0, 2]], 0)
    else:
        assert np.all(np.isnan(kept))


def test_float32_overflow_of_norm_is_nonfinite_in_float32():
    g = np.full(4, 3e38, np.float32)  # the double norm is finite, its float32 rounding is not
    before = g.copy()
    assert math.isfinite(_kernels.clip_grad_norm([g], 1.0, 2.0, scale_if_nonfinite=False))
    np.testing.assert_array_equal(g, before)


# --- determinism ---------------------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", NORM_TYPES + [0.0, -math.inf])
def test_norm_bitwise_identical_on_1_and_2_threads(rng, dtype, norm_type, restore_threads):
    g = grads_of(rng, [1_000_003, 7, 65536], dtype)
    norms, clipped = [], []
    for t in (1, 2):
        eigengrad.set_num_threads(t)
        norms.append(_kernels.grad_norm(g, norm_type))
        c = [a.copy() for a in g]
        norms.append(_kernels.clip_grad_norm(c, 0.5, norm_type))
        clipped.append(c)
    assert len({float(n).hex() for n in norms}) == 1, norms
    for a, b in zip(*clipped):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5])
def test_norm_bitwise_independent_of_how_the_vector_is_split(rng, dtype, norm_type):
    flat = rng.standard_normal(300_007).astype(dtype)
    cuts = [0, 3, 3, 40000, 65536, 65541, 200001, flat.size]
    views = [flat[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    copies = [v.copy() for v in views]  # other addresses, other alignments
    n = _kernels.grad_norm([flat], norm_type)
    assert _kernels.grad_norm(views, norm_type).hex() == n.hex()
    assert _kernels.grad_norm(copies, norm_type).hex() == n.hex()


# --- binding checks: in-place buffers are never silently copied ------------------------------------

def test_read_only_grad_rejected(dtype):
    a, b = np.ones(5, dtype), np.ones(3, dtype)
    b.flags.writeable = False
    with pytest.raises(ValueError, match=r"^grads\[1\]: expected a writeable"):
        _kernels.clip_grad_norm([a, b], 0.1, 2.0)
    with pytest.raises(ValueError, match=r"^grads\[1\]: expected a writeable"):
        _kernels.clip_grad_value([a, b], 0.1)
    with pytest.raises(ValueError, match=r"^grads\[1\]: expected a writeable"):
        _kernels.scale_grads([a, b], 0.1)
    np.testing.assert_array_equal(a, 1)  # nothing scaled before the check failed
    assert _kernels.grad_norm([a, b], 2.0) == math.sqrt(8)  # reading a read-only array is fine


def test_non_contiguous_grad_rejected(dtype):
    base = np.ones((6, 8), dtype)
    for bad in (base[:, ::2], np.asfortranarray(base), base[::-1]):
        with pytest.raises(ValueError, match=r"^grads\[0\]: expected a C-contiguous"):
            _kernels.clip_grad_norm([bad], 0.1, 2.0)
        with pytest.raises(ValueError, match=r"^grads\[0\]: expected a C-contiguous"):
            _kernels.clip_grad_value([bad], 0.1)
    np.testing.assert_array_equal(base, 1)


def test_overlapping_grads_rejected(dtype):
    flat = np.ones(20, dtype)
    with pytest.raises(ValueError, match=r"^grads\[2\]: must not share memory with grads\[0\]"):
        _kernels.clip_grad_norm([flat[:10], flat[10:], flat[5:8]], 0.1, 2.0)
    with pytest.raises(ValueError, match=r"^grads\[1\]: must not share memory with grads\[0\]"):
        _kernels.clip_grad_value([flat, flat], 0.1)
    np.testing.assert_array_equal(flat, 1)
    _kernels.clip_grad_norm([flat[:10], flat[10:], flat[10:10]], 1e9, 2.0)  # adjacent and empty views are fine


def test_bad_lists_and_dtypes_rejected():
    f32, f64 = np.ones(3, np.float32), np.ones(3, np.float64)
    with pytest.raises(TypeError, match=r"^grads\[1\]: expected dtype float32 \(the dtype of grads\[0\]\), got float64"):
        _kernels.clip_grad_norm([f32, f64], 1.0, 2.0)
    with pytest.raises(TypeError, match=r"^grads\[0\]: expected a float32 or float64"):
        _kernels.grad_norm([np.ones(3, np.int64)], 2.0)
    with pytest.raises(TypeError, match=r"^grads\[0\]: expected a numpy array, got list"):
        _kernels.grad_norm([[1.0, 2.0]], 2.0)
    with pytest.raises(TypeError, match=r"^grads: expected a list of arrays, got ndarray"):
        _C.clip_grad_norm(f32, max_norm=1.0)


def test_bad_numbers_rejected(dtype):
    g = np.ones(3, dtype)
    with pytest.raises(ValueError, match=r"^max_norm: expected a value >= 0"):
        _kernels.clip_grad_norm([g], -1.0, 2.0)
    with pytest.raises(ValueError, match=r"^max_norm: expected a value >= 0"):
        _kernels.clip_grad_norm([g], math.nan, 2.0)
    with pytest.raises(ValueError, match=r"^norm_type: expected a number or inf, got nan"):
        _kernels.grad_norm([g], math.nan)
    with pytest.raises(ValueError, match=r"^norm_type: the -inf norm"):
        _kernels.grad_norm([np.zeros(0, dtype)], -math.inf)
    np.testing.assert_array_equal(g, 1)
    _kernels.clip_grad_value([g], -0.5)  # PyTorch's clamp(min=0.5, max=-0.5): every element -0.5
    np.testing.assert_array_equal(g, -0.5)
