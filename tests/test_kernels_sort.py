"""sort/argsort and topk kernels against eigengrad.reference: stable order, NaN largest, descending, ties in
index order, every sortable dtype, rows along any dim (strided gathers of a column), zero-size, and checks."""
import numpy as np
import pytest

from eigengrad import _kernels as K
from eigengrad import reference as ref
from eigengrad._kernels import _C

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_]


def _values(rng, shape, dtype):
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 9, shape).astype(dtype)  # many ties
    x = np.round(rng.standard_normal(shape), 1).astype(dtype)  # ties too
    if x.size > 3:
        x.reshape(-1)[[0, x.size // 2]] = np.nan
        x.reshape(-1)[1] = np.inf
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", [((1,), 0), ((13,), 0), ((4, 9), 1), ((4, 9), 0), ((2, 5, 3), 1),
                                       ((3, 1000), 1), ((1000, 3), 0), ((0, 5), 1), ((3, 0), 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_reference(rng, dtype, shape, dim, descending):
    x = _values(rng, shape, dtype)
    values, idx = K.sort(x, dim, descending)
    r_values, r_idx = ref.sort(x, dim, descending)
    np.testing.assert_array_equal(idx, r_idx)
    np.testing.assert_array_equal(values, r_values)
    assert K.sort(x, dim, descending, values=False)[0] is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_reference(rng, dtype, largest):
    x = _values(rng, (6, 11, 3), dtype)
    for dim in (0, 1, 2):
        for k in (0, 1, x.shape[dim]):
            values, idx = K.topk(x, dim, k, largest)
            r_values, r_idx = ref.topk(x, dim, k, largest)
            np.testing.assert_array_equal(idx, r_idx)
            np.testing.assert_array_equal(values, r_values)


def test_checks():
    with pytest.raises(ValueError, match="k: expected 0 <= k <= 3"):
        K.topk(np.ones(3), 0, 4)
    with pytest.raises(TypeError, match="x: expected a float32"):
        K.sort(np.ones(3, np.complex64), 0)
    x = np.ones((1, 3, 1))
    with pytest.raises(ValueError, match="indices: expected shape"):
        _C.sort(x, None, np.empty((1, 2, 1), np.int64), False)
    with pytest.raises(ValueError, match="overlap|share"):
        buf = np.ones(3)
        _C.sort(buf.reshape(1, 3, 1), buf.reshape(1, 3, 1), np.empty((1, 3, 1), np.int64), False)
