"""The reduction kernels (sum/mean, var/std, p-norms along dims) against eigengrad.reference in float32 and
float64: odd sizes (1, primes, past the chunk length), every grouping of dims, strided and zero-size input,
large offsets (the two-pass variance), and the bindings' checks."""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels as K
from eigengrad import reference as ref
from eigengrad._kernels import _C

SHAPES_AXES = [((7,), (0,)), ((1,), (0,)), ((3, 5), (1,)), ((3, 5), (0,)), ((3, 5), (0, 1)), ((2, 3, 5), (0, 2)),
               ((2, 3, 5), (1, 2)), ((4, 1, 13), (1,)), ((5, 7, 11, 3), (1, 2)), ((5, 7, 11, 3), (0, 3)),
               ((70_001,), (0,)), ((3, 40_000), (1,)), ((40_000, 3), (0,)), ((9, 4099, 5), (1,)), ((0, 4), (1,)),
               ((4, 0), (1,)), ((4, 0), (0,)), ((2, 3), ())]


def _input(rng, shape, dtype, strided=False):
    x = rng.standard_normal(shape).astype(dtype)
    if strided and x.ndim >= 1 and x.size:
        wide = np.zeros(shape[:-1] + (2 * shape[-1],), dtype=dtype)
        wide[..., ::2] = x
        return wide[..., ::2]
    return x


@pytest.mark.parametrize("shape,axes", SHAPES_AXES)
@pytest.mark.parametrize("strided", [False, True])
def test_sum_mean_match_reference(rng, dtype, shape, axes, strided):
    x = _input(rng, shape, dtype, strided)
    assert_close(K.reduce_sum(x, axes), ref.reduce_sum(x, axes), dtype, scale=max(np.abs(x).sum(), 1.0))
    n = int(np.prod([shape[a] for a in axes])) if axes else 1
    if n:
        assert_close(K.reduce_sum(x, axes, 1.0 / n), ref.reduce_sum(x, axes, 1.0 / n), dtype)


@pytest.mark.parametrize("shape,axes", SHAPES_AXES)
@pytest.mark.parametrize("correction", [0, 1, 2.5])
def test_var_std_match_reference(rng, dtype, shape, axes, correction):
    x = _input(rng, shape, dtype, strided=correction == 1)
    for take_sqrt in (False, True):
        out, mean = K.reduce_var(x, axes, correction, take_sqrt, with_mean=True)
        r_out, r_mean = ref.reduce_var(x, axes, correction, take_sqrt)
        finite = np.isfinite(r_out)
        np.testing.assert_array_equal(np.isfinite(out), finite)
        assert_close(out[finite], r_out[finite], dtype)
        if mean.size and np.isfinite(r_mean).all():
            assert_close(mean, r_mean, dtype)


def test_var_keeps_its_digits_with_a_large_mean():
    """Two-pass (centred) variance: values 1e6 + N(0, 1) in float32 keep the variance; E[x^2] - E[x]^2 would not."""
    rng = np.random.default_rng(0)
    x = (1e6 + rng.standard_normal((4, 50_000))).astype(np.float32)
    out, _ = K.reduce_var(x, (1,), 1, False)
    np.testing.assert_allclose(out, x.astype(np.float64).var(axis=1, ddof=1), rtol=1e-4)


@pytest.mark.parametrize("shape,axes", [s for s in SHAPES_AXES if 0 not in s[0]])
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, 0.0, np.inf, -np.inf])
def test_norms_match_reference(rng, dtype, shape, axes, p):
    x = _input(rng, shape, dtype)
    if p == 0:
        x[..., ::3] = 0
    assert_close(K.reduce_norm(x, axes, p), ref.reduce_norm(x, axes, p), dtype)


def test_norm_of_empty_axis_and_nan():
    assert K.reduce_norm(np.zeros((3, 0)), (1,), 2.0).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="empty axis"):
        K.reduce_norm(np.zeros((3, 0)), (1,), np.inf)
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 2.0]])
    for p in (2.0, 1.0, np.inf, -np.inf, 3.0):
        out = K.reduce_norm(x, (1,), p)
        assert np.isnan(out[0]) and np.isfinite(out[1]), p
    assert K.reduce_norm(x, (1,), 0.0).tolist() == [3.0, 3.0]  # NaN counts as nonzero


def test_empty_reductions():
    assert K.reduce_sum(np.zeros((0, 3)), (0,)).tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(K.reduce_sum(np.zeros((0, 3)), (0,), float("nan"))).all()
    assert K.reduce_sum(np.zeros((3, 0)), (0,)).shape == (0,)
    assert np.isnan(K.reduce_var(np.zeros((0, 2)), (0,), 1, False)[0]).all()


def test_binding_checks():
    x = np.ones((2, 3, 4))
    with pytest.raises(TypeError, match="x: expected a float32 or float64"):
        _C.reduce_sum(x.astype(np.int64), np.empty((2, 4), np.int64), 1.0)
    with pytest.raises(ValueError, match="x: expected a 3-D array"):
        _C.reduce_sum(np.ones((2, 3)), np.empty((2, 3)), 1.0)
    with pytest.raises(ValueError, match="out: expected shape \\(2, 4\\)"):
        _C.reduce_sum(x, np.empty((2, 3)), 1.0)
    with pytest.raises(TypeError, match="out: expected dtype float64"):
        _C.reduce_sum(x, np.empty((2, 4), np.float32), 1.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.reduce_sum(x[:, :, ::2], np.empty((2, 2)), 1.0)
    ro = np.empty((2, 4))
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        _C.reduce_norm(x, ro, 2.0)
    with pytest.raises(ValueError, match="p: expected a number"):
        _C.reduce_norm(x, np.empty((2, 4)), float("nan"))
    with pytest.raises(ValueError, match="overlap|share"):
        buf = np.ones(32)
        _C.reduce_sum(buf[:24].reshape(2, 3, 4), buf[:8].reshape(2, 4), 1.0)
