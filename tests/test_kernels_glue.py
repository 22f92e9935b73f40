"""The C++ bodies of the arithmetic between kernels: sum_rows (the bias gradient) and a cross-entropy's
reduction and upstream gradient (loss_reduce, loss_upstream, mean_upstream), against the NumPy reference
and against the NumPy glue they replaced, in float32 and float64."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels as K, reference as R

DTYPES = (np.float32, np.float64)
SHAPES = [(1, 2), (2, 3), (7, 13), (128, 512), (1024, 10), (3, 5, 7), (0, 4), (257, 1031), (4099, 67)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_sum_rows_is_numpys_row_order(dtype, shape):
    x = (np.random.default_rng(sum(shape)).standard_normal(shape) * 100).astype(dtype)
    got = K.sum_rows(x)
    assert got.dtype == dtype and got.shape == shape[1:]
    # row after row from the first row: NumPy's own order for a leading-axis sum over >= 2 columns
    assert np.array_equal(got, np.sum(x, axis=0) if shape[0] else np.zeros(shape[1:], dtype))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, R.sum_rows(x), rtol=tol, atol=tol * np.abs(x).sum(axis=0).max(initial=1.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sum_rows_into_a_given_array_and_other_layouts(dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((33, 40)).astype(dtype)
    out = np.full(40, np.nan, dtype)
    assert K.sum_rows(x, out=out) is out and np.array_equal(out, np.sum(x, axis=0))
    strided = x[:, ::2]  # not contiguous: the NumPy glue, same order
    assert np.array_equal(K.sum_rows(strided), np.sum(strided, axis=0))
    column = rng.standard_normal((1001, 1)).astype(dtype)  # one column: NumPy sums pairwise, and so does this
    assert np.array_equal(K.sum_rows(column), np.sum(column, axis=0))
    neg = -np.zeros((3, 4), dtype)  # -0.0 + -0.0 stays -0.0 (the first row is the start, not +0.0)
    assert np.signbit(K.sum_rows(neg)).all()


def test_sum_rows_bits_do_not_depend_on_threads(restore_threads):
    x = np.random.default_rng(5).standard_normal((4096, 3001)).astype(np.float32)
    runs = []
    for t in (1, 2):
        eg.set_num_threads(t)
        runs.append(K.sum_rows(x).tobytes())
    assert runs[0] == runs[1]


def _targets(rng, n, classes, ignored=0.2):
    t = rng.integers(0, classes, n).astype(np.int64)
    t[rng.random(n) < ignored] = -100
    return t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 13, 128, 4099])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_reduction_and_upstream_against_the_reference(dtype, n, weighted):
    rng = np.random.default_rng(n)
    classes = 11
    rows = rng.standard_normal(n).astype(dtype)
    t = _targets(rng, n, classes)
    w = rng.uniform(0.1, 3.0, classes).astype(dtype) if weighted else None
    g = np.asarray(rng.standard_normal(), dtype)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    for mean in (False, True):
        got = K.loss_reduce(rows, t, w, -100, mean)
        want = R.loss_reduce(rows, t, w, -100, mean)
        assert got.dtype == dtype and got.shape == ()
        # (the reference is the NumPy glue this replaced: within an ulp of float64, another summation order)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
        up = K.loss_upstream(g, t, w, -100, mean, n, dtype)
        np.testing.assert_allclose(up, R.loss_upstream(g, t, w, -100, mean, dtype), rtol=rtol)
        assert up.dtype == dtype and up.shape == (n,)
    mu = K.mean_upstream(g, t, -100, n, dtype)
    assert np.array_equal(mu, R.mean_upstream(g, t, -100, dtype), equal_nan=True)  # one division in g's dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_row_ignored_gives_nan_as_pytorch(dtype):
    t = np.full(5, -100, np.int64)
    rows = np.zeros(5, dtype)
    w = np.ones(3, dtype)
    assert np.isnan(K.loss_reduce(rows, t, None, -100, True)) and np.isnan(K.loss_reduce(rows, t, w, -100, True))
    assert K.loss_reduce(rows, t, None, -100, False) == 0
    assert np.isnan(K.loss_upstream(np.asarray(1.0, dtype), t, w, -100, True, 5, dtype)).all()
    assert np.isnan(K.mean_upstream(np.asarray(1.0, dtype), t, -100, 5, dtype)).all()


def test_bad_arguments_raise_clear_errors():
    rows = np.zeros(4, np.float32)
    w = np.ones(3, np.float32)
    out = np.empty((), np.float32)
    with pytest.raises(ValueError, match=r"target: class index 3 at position 1 is out of range"):
        K._C.loss_reduce(rows, np.array([0, 3, 1, 2], np.int64), w, -100, True, out)
    with pytest.raises(TypeError, match="target: expected an int64 array"):
        K._C.loss_reduce(rows, np.zeros(4, np.int32), None, -100, True, out)
    with pytest.raises(ValueError, match=r"target: expected shape \(4,\)"):
        K._C.loss_reduce(rows, np.zeros(5, np.int64), None, -100, True, out)
    with pytest.raises(TypeError, match="weight"):
        K._C.loss_reduce(rows, np.zeros(4, np.int64), w.astype(np.float64), -100, True, out)
    with pytest.raises(ValueError, match=r"g: expected shape \(\)"):
        K._C.mean_upstream(np.zeros(2, np.float32), np.zeros(4, np.int64), -100, np.empty(4, np.float32))
    with pytest.raises(ValueError, match="out: expected shape"):
        K._C.sum_rows(np.zeros((3, 4), np.float32), np.empty(3, np.float32))
    with pytest.raises(ValueError, match="x: expected an array of at least 1 dimension"):
        K._C.sum_rows(np.zeros((), np.float32), np.empty((), np.float32))


def test_strided_targets_and_other_dtypes_take_the_numpy_glue():
    rng = np.random.default_rng(2)
    rows = rng.standard_normal(20).astype(np.float32)
    t2 = np.stack([_targets(rng, 20, 4)] * 2, axis=1)
    t = t2[:, 0]  # strided
    assert not t.flags.c_contiguous
    np.testing.assert_allclose(K.loss_reduce(rows, t, None, -100, True), R.loss_reduce(rows, t, None, -100, True),
                               rtol=1e-6)
    w64 = np.ones(4)  # a float64 weight with float32 rows
    np.testing.assert_allclose(K.loss_upstream(np.asarray(2.0, np.float32), t, w64, -100, True, 20, np.float32),
                               R.loss_upstream(2.0, t, w64, -100, True, np.float32), rtol=1e-6)
